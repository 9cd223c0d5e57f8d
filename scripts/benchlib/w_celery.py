"""Scale 2: M demo accounts on Celery workers vs the same runs one after another.

::

    scripts/bench-scale celery [--accounts 50] [--workers 2] [--rounds 1]

Variants (fresh stores each time, the demo site in a process of its own, a private ``redis-server`` on a
free loopback port):

- ``sequential_cli``: ``browserkonnector run`` once per account, one after another (each its own driver
  and Chromium) — what a cron job without a queue does;
- ``celery_1x1``: one worker process (each task reuses its kept browser);
- ``celery_Nx1``: N workers of one process each (``--workers``), all sharing the queue.

Every run must save the demo site's bills; the figure is the wall time from the first submission to the
last result (medians over ``--rounds``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import machine
from benchlib.common import DEMO_CONNECTOR, LOGIN, PASSWORD, child_env, framework_command, summary_of
from benchlib.common import demo_site as start_site
from benchlib.procs import Outcome

__all__ = ["main"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accounts(folder: Path, url: str, count: int) -> list[str]:
    folder.mkdir(mode=0o700, parents=True)
    names = [f"acct-{i:03d}" for i in range(count)]
    for name in names:
        path = folder / f"{name}.json"
        path.write_text(json.dumps({"base_url": url, "login": LOGIN, "password": PASSWORD}))
        path.chmod(0o600)
    return names


def sequential(url: str, scratch: Path, names: list[str]) -> float:
    started = time.perf_counter()
    for name in names:
        folder = scratch / name
        folder.mkdir(parents=True)
        done = subprocess.run(
            framework_command(url, folder / "store"),
            cwd=folder,
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        summary_of(Outcome(done.args, 0.0, done.returncode, done.stdout, done.stderr))
    return time.perf_counter() - started


def on_celery(redis_url: str, scratch: Path, names: list[str], url: str, workers: int) -> float:
    from browserkonnector.scaling.celery import TASK_NAME, make_app

    env = {k: v for k, v in child_env().items() if not k.startswith(("BROWSERKONNECTOR_", "COZY_"))}
    env.update(
        {
            "BROWSERKONNECTOR_BROKER": redis_url,
            "BROWSERKONNECTOR_ACCOUNTS_DIR": str(scratch / "accounts"),
            "BROWSERKONNECTOR_STORES_DIR": str(scratch / "stores"),
            "BROWSERKONNECTOR_OFFLINE_DNS": "1",
            "BROWSERKONNECTOR_ARTIFACTS_DIR": str(scratch / "artifacts"),
        }
    )
    procs = []
    for number in range(workers):
        log = open(scratch / f"worker-{number}.log", "wb")  # noqa: SIM115 - lives as long as the worker
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "browserkonnector.scaling.celery",
                    "worker",
                    "--concurrency",
                    "1",
                    "--pool",
                    "prefork",
                    "-n",
                    f"bench{number}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--loglevel",
                    "WARNING",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    client = make_app(broker=redis_url)
    try:
        time.sleep(3)  # the workers connect (not measured: a real pool of workers is up before the runs)
        started = time.perf_counter()
        pending = [client.send_task(TASK_NAME, args=[str(DEMO_CONNECTOR), name]) for name in names]
        results = [p.get(timeout=1800) for p in pending]
        wall = time.perf_counter() - started
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    failed = [r for r in results if not r["ok"] or r["saved"]["bills_created"] == 0]
    if failed:
        raise RuntimeError(f"{len(failed)} run(s) failed on Celery, e.g. {failed[0]}")
    return wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench-scale celery", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--bills", type=int, default=24)
    args = parser.parse_args(argv)
    binary = shutil.which("redis-server")
    if binary is None:
        print("scripts/bench-scale celery: redis-server is missing (scripts/setup installs it)", file=sys.stderr)
        return 2
    print(json.dumps(machine.describe()), file=sys.stderr, flush=True)
    variants = ["sequential_cli", "celery_1x1", f"celery_{args.workers}x1"]
    walls: dict[str, list[float]] = {v: [] for v in variants}
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="bk-bench-celery-") as tmp, start_site(args.bills) as site:
        server = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmp],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.5)
            for number in range(args.rounds):
                order = variants if number % 2 == 0 else list(reversed(variants))
                for name in order:
                    scratch = Path(tmp) / f"{name}-{number}"
                    scratch.mkdir()
                    names = _accounts(scratch / "accounts", site.url, args.accounts)
                    if name == "sequential_cli":
                        wall = sequential(site.url, scratch / "runs", names)
                    else:
                        workers = 1 if name == "celery_1x1" else args.workers
                        wall = on_celery(
                            f"redis://127.0.0.1:{port}/{number % 15 + 1}", scratch, names, site.url, workers
                        )
                    walls[name].append(wall)
                    print(
                        f"round {number + 1}/{args.rounds} {name:<16} {args.accounts} accounts in {wall:7.1f} s "
                        f"({wall / args.accounts:.2f} s/account; load {machine.load_now()})",
                        file=sys.stderr,
                        flush=True,
                    )
                    shutil.rmtree(scratch, ignore_errors=True)
        finally:
            server.terminate()
            server.wait(10)
    base = statistics.median(walls["sequential_cli"])
    summary = {name: statistics.median(values) for name, values in walls.items()}
    for name, value in summary.items():
        print(f"{name:<16} median {value:7.1f} s for {args.accounts} accounts ({value / base:.2f}× sequential)")
    print(
        json.dumps(
            {
                "accounts": args.accounts,
                "workers": args.workers,
                "rounds": args.rounds,
                "summary": summary,
                "samples": walls,
                "load_end": machine.load_now(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
