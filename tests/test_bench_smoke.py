"""``scripts/bench --smoke`` still runs and still prints every row of the table with its ratio.

The bench is run exactly as a user runs it (the executable ``scripts/bench``, in a subprocess), at tiny
sizes and one round, so that the benchmark code cannot rot between two real bench runs. Nothing here
looks at a time: on two shared cores a timing threshold would only make the suite flaky, and the numbers
are the bench's business (docs/performance.md). What is checked is the *shape* of the result — every
workload produced its rows, every comparison has its ratio, the Markdown file was written with the
machine description — and that the variants did their job (the bench itself refuses a variant whose
output is wrong: wrong file count, downloads during an incremental run, a failed run).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "scripts" / "bench"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: (workload, words of the measure) of every row the smoke table must have.
EXPECTED_ROWS = [
    ("1", "vs (b) hand-written fast Playwright"),
    ("1", "vs (c) naive Playwright"),
    ("1", "vs (a) the floor"),
    ("1", "CPU time (user+sys) of the process tree"),
    ("2", "incremental run"),
    ("3", "save_bills of 20 bills"),
    ("3", "stack requests per bill"),
    ("3", "default concurrency"),
    ("4", "hydrate_and_filter of 100 incoming bills"),
    ("4", "peak memory of the call"),
    ("5", "html_to_pdf() per bill"),
    ("5", "PdfPrinter.from_html"),
    ("6", "peak PSS"),
    ("6", "the same, as a ratio to raw_fast"),
    ("7", "--trace retain-on-failure"),
    ("8", "growth: framework time(24) / time(8)"),
    ("8", "the same for raw_fast"),
    ("8", "framework / raw_fast at 24 bills"),
    ("8", "peak PSS of the framework at 24 bills"),
    ("9", "bank connector vs raw Playwright"),
    ("9", "the default trace) vs --trace off"),
    ("9", "traced with screenshots + snapshots"),
    ("9", "traced with screenshots only"),
    ("9", "traced with snapshots only"),
    ("9", "traced with neither"),
    ("10", "kept session restored vs a cold login"),
    ("10", "cold start to logged in"),
    ("11", "second run on the kept profile vs first run"),
    ("11", "the same with --full-sync"),
]
#: Rows whose baseline only exists with --with-js (never run in CI: it needs npm).
JS_ONLY = {("3", "save_bills of 20 bills"), ("3", "stack requests per bill"), ("3", "default concurrency")}
VERDICTS = {"PASS", "MISS", "info"}


def _table_rows(markdown: str) -> list[list[str]]:
    rows = []
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("| #") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], str]:
    out = tmp_path_factory.mktemp("bench") / "performance.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COZY_")}
    done = subprocess.run(
        [str(BENCH), "--smoke", "--out", str(out)], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"scripts/bench --smoke failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    return done, out.read_text(encoding="utf-8")


def test_every_row_is_in_the_table_with_its_ratio(smoke: tuple[subprocess.CompletedProcess[str], str]) -> None:
    _, markdown = smoke
    rows = _table_rows(markdown)
    for workload, words in EXPECTED_ROWS:
        found = [r for r in rows if r[0] == workload and words in r[1]]
        assert len(found) == 1, f"row {workload} '{words}' missing or repeated in:\n{markdown}"
        _number, _what, ratio, _target, verdict, value, baseline = found[0]
        assert value != "n/a", f"row {workload} '{words}' has no value"
        assert not value.endswith(": n/a"), f"row {workload} '{words}' has no value"
        if (workload, words) in JS_ONLY:
            assert "--with-js" in found[0][1], "a JS-less row must say how to get its baseline"
            continue
        assert verdict in VERDICTS, f"row {workload} '{words}': verdict {verdict!r}"
        if ratio != "—":  # absolute targets (workload 4's time) have no ratio, only a value
            assert re.match(r"^\*\*\d+\.\d\d\*\* \(.+ / .+\)$", ratio), f"row {workload} '{words}': ratio {ratio!r}"
            assert baseline != "—", f"row {workload} '{words}': no baseline"
            assert "n/a" not in baseline, f"row {workload} '{words}': no baseline value"


def test_the_document_says_how_and_where_it_was_measured(smoke: tuple[subprocess.CompletedProcess[str], str]) -> None:
    done, markdown = smoke
    for key in ("cores:", "load average at start:", "chromium:", "playwright:", "python:"):
        assert f"- {key}" in markdown, f"machine line {key!r} missing"
    assert "smoke sizes (not a measurement)" in markdown
    assert "headless-shell" in markdown or "chromium" in markdown.lower()
    # the terminal gets the same table, ratio first
    assert "[MISS]" in done.stdout or "[PASS]" in done.stdout
    assert "table written to" in done.stdout


def test_bench_refuses_an_unknown_workload() -> None:
    done = subprocess.run([str(BENCH), "--only", "19"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--only: unknown workload(s) 19" in done.stderr


def test_the_bench_entry_is_an_executable_with_its_code_importable() -> None:
    assert os.access(BENCH, os.X_OK)
    done = subprocess.run([str(BENCH), "--help"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    for option in ("--smoke", "--runs", "--only", "--with-js", "--out", "--lean"):
        assert option in done.stdout


def test_lean_runs_workload_1_against_raw_fast_only() -> None:
    """``--lean`` (for 5,000 bills in docs/performance.md): the framework and raw_fast, with their wall, CPU
    and PSS ratios; the floor and the traced run are left out, and say so."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COZY_")}
    done = subprocess.run(
        [str(BENCH), "--smoke", "--only", "1,6", "--no-naive", "--lean"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"scripts/bench --lean failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    lines = done.stdout.splitlines()
    for words in ("vs (b) hand-written fast Playwright", "CPU time (user+sys)", "peak PSS"):
        found = [line for line in lines if words in line]
        assert len(found) == 1, f"'{words}' missing or repeated:\n{done.stdout}"
        assert re.search(r"ratio +\d+\.\d\d framework / raw_fast", found[0]), found[0]
    assert "skipped (--lean)" in done.stdout
    assert "framework_traced" not in done.stderr
    assert "floor_httpx" not in done.stderr


def test_bench_phases_prints_the_python_cpu_of_each_phase() -> None:
    """``scripts/bench-phases`` (docs/performance.md): both sides run, every phase has its median, and the
    framework's own phases were really charged (a renamed private function fails the run instead)."""
    done = subprocess.run(
        [str(REPO / "scripts" / "bench-phases"), "--bills", "8", "--rounds", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"scripts/bench-phases failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    summary = json.loads(done.stdout.strip().splitlines()[-1])["summary"]
    assert set(summary) == {"framework", "raw_fast"}
    for side, phases in summary.items():
        assert set(phases) == {
            "fetch",
            "store",
            "print",
            "check",
            "loop, other",
            "main, outside steps",
            "worker threads",
            "process",
        }, side
        for charged in ("fetch", "print", "store"):
            assert phases[charged] > 0, (side, charged, phases)
        assert phases["process"] >= phases["fetch"] + phases["store"], (side, phases)
    assert "| phase | framework | raw_fast |" in done.stdout
