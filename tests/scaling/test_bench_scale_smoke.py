"""``scripts/bench-scale host|celery`` still run, at tiny sizes, and print their medians.

Run as a user runs them (the executable, in a subprocess). Nothing here looks at a time or a size: the
numbers are the bench's business (docs/scaling.md, docs/performance.md); the bench itself refuses a
variant whose runs did not save their bills.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "scripts" / "bench-scale"

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


def _last_json(stdout: str) -> dict[str, object]:
    line = next(line for line in reversed(stdout.splitlines()) if line.startswith("{"))
    result: dict[str, object] = json.loads(line)
    return result


def test_host_bench_runs() -> None:
    done = subprocess.run(
        [str(BENCH), "host", "--concurrency", "2", "--rounds", "1", "--bills", "4"],
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = _last_json(done.stdout)["summary"]
    assert isinstance(summary, dict)
    assert set(summary) == {"own_chromium", "shared_host"}
    assert all(v["peak_pss_mib"] > 0 and v["wall_s"] > 0 for v in summary.values())


def test_celery_bench_runs() -> None:
    done = subprocess.run(
        [str(BENCH), "celery", "--accounts", "2", "--workers", "2", "--rounds", "1", "--bills", "4"],
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = _last_json(done.stdout)["summary"]
    assert isinstance(summary, dict)
    assert set(summary) == {"sequential_cli", "celery_1x1", "celery_2x1"}
