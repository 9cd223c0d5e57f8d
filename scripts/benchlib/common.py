"""Paths, commands and the demo site as a separate process: what every workload module needs."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchlib.procs import Outcome, Service, run_timed

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
VENV_BIN = Path(sys.executable).parent
PYTHON = sys.executable
DEMO_CONNECTOR = REPO / "connectors" / "demo_vendor"
LOGIN = "alice@demo-energie.test"
PASSWORD = "Correct-Horse-Battery-42!"  # the demo site's public fixture login, printed by the site itself
SEED = 42
FILE_ROUTES = ("file_download", "file_view", "bill_pdf", "print")


def child_env(**extra: str) -> dict[str, str]:
    """The harness's environment, with ``scripts/`` importable (``python -m benchlib...``)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SCRIPTS), env.get("PYTHONPATH", "")) if p)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


class BenchError(RuntimeError):
    """A variant failed or produced the wrong output: its number would be meaningless."""


def demo_site(bills: int, latency_ms: int = 0) -> Service:
    """The demo vendor site with ``bills`` bills, in its own process (not sharing the GIL with a run)."""
    command = [PYTHON, "-m", "demo_vendor_site", "--port", "0", "--bills", str(bills), "--seed", str(SEED)]
    if latency_ms:
        command += ["--latency-ms", str(latency_ms)]
    return Service(command, env=child_env())


def site_requests(url: str) -> dict[str, int]:
    requests: dict[str, int] = httpx.get(f"{url}/__demo__/stats", timeout=30).json()["requests"]
    return requests


def file_requests(url: str) -> int:
    stats = site_requests(url)
    return sum(stats.get(route, 0) for route in FILE_ROUTES)


# --- the framework -------------------------------------------------------------------------------------

_SUMMARY = re.compile(
    r"saved (\d+) new bill\(s\), updated (\d+), (\d+) unchanged; files: (\d+) new, "
    r"(\d+) replaced, (\d+) kept, (\d+) failed"
)


@dataclass
class Summary:
    bills_new: int
    bills_updated: int
    bills_unchanged: int
    files_new: int
    files_replaced: int
    files_kept: int
    files_failed: int


def framework_command(url: str, store: Path, *, trace: str = "off", artifacts: Path | None = None) -> list[str]:
    """The command of the issue: the demo connector through the CLI, JSON logs, loopback-only DNS."""
    command = [
        str(VENV_BIN / "browserkonnector"),
        "run",
        str(DEMO_CONNECTOR),
        "--store",
        str(store),
        "--field",
        f"base_url={url}",
        "--field",
        f"login={LOGIN}",
        "--field",
        f"password={PASSWORD}",
        "--offline-dns",
        "--trace",
        trace,
        "--log",
        "json",
    ]
    if artifacts is not None:
        command += ["--artifacts", str(artifacts)]
    return command


def summary_of(outcome: Outcome) -> Summary:
    found = _SUMMARY.search(outcome.stdout) or _SUMMARY.search(outcome.stderr)
    if not outcome.ok or found is None:
        raise BenchError("the framework run failed: " + outcome.describe_failure())
    return Summary(*(int(g) for g in found.groups()))


def run_framework(
    url: str, store: Path, *, trace: str = "off", artifacts: Path | None = None, expect_new: int | None = None
) -> Outcome:
    store.parent.mkdir(parents=True, exist_ok=True)
    outcome = run_timed(
        framework_command(url, store, trace=trace, artifacts=artifacts), env=child_env(), cwd=store.parent
    )
    summary = summary_of(outcome)
    if expect_new is not None and (summary.bills_new != expect_new or summary.files_new != expect_new):
        raise BenchError(
            f"the framework saved {summary.bills_new} bills / {summary.files_new} files, "
            f"expected {expect_new}: " + outcome.describe_failure()
        )
    if summary.files_failed:
        raise BenchError(f"the framework run had {summary.files_failed} failed files")
    outcome.extra["summary"] = summary
    return outcome


# --- the baselines -------------------------------------------------------------------------------------


def run_baseline(name: str, url: str, out: Path, expect: int, *extra: str) -> Outcome:
    """``benchlib.baselines.<name>`` into ``out``; checks it wrote ``expect`` files and bills."""
    out.mkdir(parents=True, exist_ok=True)
    outcome = run_timed(
        [PYTHON, "-m", f"benchlib.baselines.{name}", "--url", url, "--out", str(out), *extra],
        env=child_env(),
        cwd=SCRIPTS,
    )
    if not outcome.ok:
        raise BenchError(f"baseline {name} failed: " + outcome.describe_failure())
    line = outcome.last_json()
    files = [p for p in out.iterdir() if p.name != "bills.json"]
    if line.get("bills") != expect or len(files) != expect:
        raise BenchError(f"baseline {name}: {line.get('bills')} bills, {len(files)} files, expected {expect}")
    outcome.extra.update(line)
    return outcome


def worker(module: str, *args: str, timeout: float = 1800, sample: bool = False) -> dict[str, Any]:
    """``python -m benchlib.<module> ARGS``: its last JSON line (a worker prints its results so)."""
    outcome = run_timed(
        [PYTHON, "-m", f"benchlib.{module}", *args], env=child_env(), cwd=SCRIPTS, timeout=timeout, sample=sample
    )
    if not outcome.ok:
        raise BenchError(f"{module} failed: " + outcome.describe_failure())
    result = outcome.last_json()
    if not result:
        raise BenchError(f"{module} printed no result line: " + outcome.describe_failure())
    result.setdefault("_wall_s", outcome.wall_s)
    result.setdefault("_peak_pss_mib", outcome.peak_pss_mib)
    return result
