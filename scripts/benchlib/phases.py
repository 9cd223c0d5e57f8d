"""``scripts/bench-phases``: where the Python process's CPU goes, the framework against ``raw_fast``.

A sampling profiler charges a sample to whatever runs when the machine lets it, which on 2 full cores
misled (docs/performance.md, "Issue 16, step 3"). This counts instead: every event-loop step's thread
CPU is charged to the *phase* its task is in — ``fetch``, ``store``, ``print``, ``check`` — which wrappers
around the functions making up each phase set in a context variable (a task's own copy). A synchronous
function (the PDF check) is charged its own CPU, taken out of the step that called it. ``loop, other``
is every other step (login, listing, bookkeeping); ``main, outside steps`` the main thread's CPU outside
any step (start-up imports, the loop itself); ``worker threads`` the rest of the process.

Both sides run in a child process (``--child``), alternately, against the demo site with ``--bills``
bills; the medians go to a Markdown table and one JSON line.

This is a profiler of the framework's internals: it names private functions in strings, on purpose (the
import rules of tests/test_public_surface.py are for code a connector author copies), and fails loudly
when one is renamed (``tests/test_bench_smoke.py`` runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import functools
import importlib
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

PHASE: contextvars.ContextVar[str] = contextvars.ContextVar("bench_phase", default="loop, other")
CPU: Counter[str] = Counter()
_LOCAL = threading.local()

#: (module, attribute path, phase) wrapped in the framework's child, and in raw_fast's.
FRAMEWORK_PHASES = [
    ("browserkonnector.runtime._context", "RunContext.fetch", "fetch"),
    ("browserkonnector.runtime._context", "RunContext.html_to_pdf", "print"),
    ("browserkonnector.save._save_entry", "_store", "store"),
    ("browserkonnector.save._download", "check_content", "check"),
]
RAW_PHASES = [
    ("httpx", "AsyncClient.get", "fetch"),
    ("playwright.async_api", "Page.set_content", "print"),
    ("playwright.async_api", "Page.pdf", "print"),
    ("benchlib.baselines.raw_fast", "save", "store"),
    ("benchlib.baselines.raw_fast", "check_pdf", "check"),
]
ROWS = ["fetch", "store", "print", "check", "loop, other", "main, outside steps", "worker threads", "process"]


def _nested() -> list[float]:
    if not hasattr(_LOCAL, "cpu"):
        _LOCAL.cpu = [0.0]
    value: list[float] = _LOCAL.cpu
    return value


def install() -> None:
    """Charge every event-loop step's thread CPU to its task's phase."""
    run = asyncio.events.Handle._run

    def charged(handle: asyncio.events.Handle) -> None:
        began, nested = time.thread_time(), _nested()
        nested[0] = 0.0
        try:
            run(handle)
        finally:
            context = getattr(handle, "_context", None)
            phase = context.get(PHASE, PHASE.get()) if context is not None else PHASE.get()
            CPU[phase] += time.thread_time() - began - nested[0]

    asyncio.events.Handle._run = charged  # type: ignore[method-assign]


def wrap(module: str, path: str, phase: str) -> None:
    """Make ``module.path`` (a function or ``Class.method``) set ``phase`` while it runs."""
    owner: Any = importlib.import_module(module)
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    original: Callable[..., Any] = getattr(owner, name)  # an AttributeError names what was renamed

    if asyncio.iscoroutinefunction(original):

        @functools.wraps(original)
        async def phased(*args: Any, **kwargs: Any) -> Any:
            token = PHASE.set(phase)
            try:
                return await original(*args, **kwargs)
            finally:
                PHASE.reset(token)

    else:

        @functools.wraps(original)
        def phased(*args: Any, **kwargs: Any) -> Any:
            began = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                spent = time.thread_time() - began
                CPU[phase] += spent
                _nested()[0] += spent

    setattr(owner, name, phased)


def _child(side: str, url: str, folder: Path) -> None:
    """One run of ``side`` in this process, then its phases as one JSON line."""
    install()
    if side == "framework":
        from benchlib.common import framework_command

        for module, path, phase in FRAMEWORK_PHASES:
            wrap(module, path, phase)
        from browserkonnector.cli import main

        status = main(framework_command(url, folder / "store", trace="off")[1:])  # the bench's run, in-process
    else:
        for module, path, phase in RAW_PHASES:
            wrap(module, path, phase)
        from benchlib.baselines import raw_fast

        sys.argv = ["raw_fast", "--url", url, "--out", str(folder / "out")]
        raw_fast.main()
        status = 0
    main_cpu = time.thread_time()  # the main thread's CPU since the process started, imports included
    out = dict(CPU)
    out["main, outside steps"] = main_cpu - sum(CPU.values())
    out["process"] = time.process_time()
    out["worker threads"] = out["process"] - main_cpu
    print(json.dumps({"side": side, "status": status, "phases": out}), flush=True)


def _run_child(side: str, url: str) -> dict[str, float]:
    from benchlib.common import child_env

    with tempfile.TemporaryDirectory(prefix="bench-phases-") as tmp:
        done = subprocess.run(
            [sys.executable, "-m", "benchlib.phases", "--child", side, "--url", url, "--dir", tmp],
            capture_output=True,
            text=True,
            env=child_env(),
            timeout=900,
        )
    line = next((ln for ln in reversed(done.stdout.splitlines()) if ln.startswith('{"side"')), None)
    if done.returncode != 0 or line is None or json.loads(line)["status"] != 0:
        raise SystemExit(f"bench-phases: the {side} run failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    phases: dict[str, float] = json.loads(line)["phases"]
    return phases


def main() -> None:
    cli = argparse.ArgumentParser(prog="scripts/bench-phases", description=__doc__.splitlines()[0])
    cli.add_argument("--bills", type=int, default=200, help="bills on the demo site (default 200)")
    cli.add_argument("--rounds", type=int, default=3, help="runs of each side, alternately (default 3)")
    cli.add_argument("--child", choices=["framework", "raw_fast"], help=argparse.SUPPRESS)
    cli.add_argument("--url", help=argparse.SUPPRESS)
    cli.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = cli.parse_args()
    if args.child:
        _child(args.child, args.url, args.dir)
        return
    if args.bills < 1 or args.rounds < 1:
        cli.error("--bills and --rounds must be >= 1")
    from benchlib.common import demo_site

    runs: dict[str, list[dict[str, float]]] = {"framework": [], "raw_fast": []}
    with demo_site(args.bills) as site:
        for _ in range(args.rounds):
            for side in runs:
                runs[side].append(_run_child(side, site.url))
    summary = {
        side: {row: round(statistics.median(r.get(row, 0.0) for r in rs), 4) for row in ROWS}
        for side, rs in runs.items()
    }
    print(f"Python CPU by phase, {args.bills} bills, medians of {args.rounds} run(s) (seconds)\n")
    print("| phase | framework | raw_fast |\n|---|---|---|")
    for row in ROWS:
        print(f"| {row} | {summary['framework'][row]:.3f} | {summary['raw_fast'][row]:.3f} |")
    print(json.dumps({"bills": args.bills, "rounds": args.rounds, "summary": summary}))


if __name__ == "__main__":
    main()
