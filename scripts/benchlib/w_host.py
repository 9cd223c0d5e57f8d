"""Scale 1: N concurrent demo runs sharing one ``browserkonnector browser-server`` vs N runs that each
launch their own Chromium.

::

    scripts/bench-scale host [--concurrency 10] [--rounds 3] [--renderer-limit N]

Each round starts N ``browserkonnector run`` processes of the demo connector at once (fresh stores, the
demo site in a process of its own) and measures the wall time from the first spawn to the last exit and
the **total peak PSS**: the sum, sampled every ~50 ms, of the PSS of every run's process tree *and* the
host's tree (its supervisor, Playwright's driver, Chromium and its renderers) — the host is started
before the round and kept, as a real one is, so its memory counts but its start does not. Variants
alternate round after round (the order flips each round) so load from the machine's other users hits
both; the figures are medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from benchlib import machine
from benchlib.common import child_env, framework_command, summary_of
from benchlib.common import demo_site as start_site
from benchlib.procs import MIB, SAMPLE_EVERY_S, Outcome, pss_bytes, tree

__all__ = ["main", "measure_round"]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of one process so far; None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class GroupSampler:
    """Peak of the summed PSS of several process trees (roots given by a callable, read at each sample), and
    the CPU time they used while sampled (each process's last reading minus its first: a process that
    lives less than a sample interval is missed, in both variants alike)."""

    def __init__(self, roots: Callable[[], list[int]]) -> None:
        self.roots, self.peak_bytes = roots, 0
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @property
    def cpu_s(self) -> float:
        return sum(last - self._first[pid] for pid, last in self._last.items())

    def _loop(self) -> None:
        while not self._stop.is_set():
            pids: set[int] = set()
            for root in self.roots():
                pids.update(tree(root))
            self.peak_bytes = max(self.peak_bytes, sum(pss_bytes(p) for p in pids))
            for pid in pids:
                used = cpu_seconds(pid)
                if used is not None:
                    self._first.setdefault(pid, used)
                    self._last[pid] = used
            self._stop.wait(SAMPLE_EVERY_S)

    def __enter__(self) -> GroupSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


def measure_round(url: str, scratch: Path, n: int, connect: str | None, host_pid: int | None) -> dict[str, float]:
    """N runs at once; returns wall seconds, total peak PSS in MiB and the CPU seconds used (runs + host).
    Every run must save its bills."""
    folders = [scratch / f"run-{i}" for i in range(n)]
    procs: list[subprocess.Popen[str]] = []
    extra = ["--connect", connect] if connect else []
    started = time.perf_counter()

    def roots() -> list[int]:
        return [p.pid for p in procs] + ([host_pid] if host_pid else [])

    with GroupSampler(roots) as sampler:
        for folder in folders:
            folder.mkdir(parents=True)
            procs.append(
                subprocess.Popen(
                    [*framework_command(url, folder / "store"), *extra],
                    cwd=folder,
                    env=child_env(),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        outputs = [p.communicate(timeout=900) for p in procs]
    wall = time.perf_counter() - started
    for proc, (out, err) in zip(procs, outputs, strict=True):
        summary_of(Outcome(proc.args, 0.0, proc.returncode, out, err))  # raises unless the run saved its bills
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    return {"wall_s": wall, "peak_pss_mib": sampler.peak_bytes / MIB, "cpu_s": sampler.cpu_s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench-scale host", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bills", type=int, default=24)
    parser.add_argument(
        "--renderer-limit",
        type=int,
        default=0,
        help="also measure a host with --chromium-arg=--renderer-process-limit=N",
    )
    args = parser.parse_args(argv)
    from browserkonnector.server import HostProcess

    info = machine.describe()
    print(json.dumps(info), file=sys.stderr, flush=True)
    variants: dict[str, list[str] | None] = {"own_chromium": None, "shared_host": []}
    if args.renderer_limit:
        variants[f"shared_host_rpl{args.renderer_limit}"] = [
            f"--chromium-arg=--renderer-process-limit={args.renderer_limit}"
        ]
    results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory(prefix="bk-bench-host-") as tmp, start_site(args.bills) as site:
        for number in range(args.rounds):
            names = list(variants)
            if number % 2:
                names.reverse()
            for name in names:
                host_args = variants[name]
                scratch = Path(tmp) / f"{name}-{number}"
                if host_args is None:
                    result = measure_round(site.url, scratch, args.concurrency, None, None)
                else:
                    with HostProcess(max_clients=args.concurrency, extra=host_args, env=child_env()) as host:
                        time.sleep(1.0)  # the host idles as a kept one does before runs arrive
                        result = measure_round(site.url, scratch, args.concurrency, host.endpoint, host.pid)
                results[name].append(result)
                print(
                    f"round {number + 1}/{args.rounds} {name:<22} wall {result['wall_s']:6.2f} s  total peak "
                    f"PSS {result['peak_pss_mib']:7.0f} MiB  CPU {result['cpu_s']:6.1f} s  "
                    f"(load {machine.load_now()})",
                    file=sys.stderr,
                    flush=True,
                )
    summary = {
        name: {key: statistics.median(r[key] for r in rows) for key in ("wall_s", "peak_pss_mib", "cpu_s")}
        for name, rows in results.items()
    }
    base = summary["own_chromium"]
    for name, med in summary.items():
        print(
            f"{name:<22} median wall {med['wall_s']:6.2f} s ({med['wall_s'] / base['wall_s']:.2f}×)  median total "
            f"peak PSS {med['peak_pss_mib']:7.0f} MiB ({med['peak_pss_mib'] / base['peak_pss_mib']:.2f}×)  "
            f"median CPU {med['cpu_s']:6.1f} s ({med['cpu_s'] / base['cpu_s']:.2f}×)"
        )
    print(
        json.dumps(
            {
                "concurrency": args.concurrency,
                "rounds": args.rounds,
                "summary": summary,
                "samples": results,
                "load_end": machine.load_now(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
