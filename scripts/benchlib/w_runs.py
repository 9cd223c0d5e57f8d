"""Workloads 1, 2, 6, 7 and 8: whole connector runs, each variant a process of its own.

Every variant runs as a separate process against the demo site (itself a separate process), timed from
spawn to exit, its process tree's PSS sampled every ~50 ms. Variants are interleaved round after round,
the order rotated each round, so that a burst of load from the other engineers' test runs hits each of
them about equally; the table then compares medians taken in the same bench run.

- 1: the framework (``--trace off``) against (a) ``floor_httpx``, (b) ``raw_fast``, (c) ``raw_naive``; and
  its CPU time (user+sys of the whole process tree) against ``raw_fast``'s;
- 7: the same rounds also run the framework with ``--trace retain-on-failure``;
- 6: the peak PSS of the framework's process tree in workload 1;
- 2: an incremental run (everything already saved) against the framework logging in to a site that
  has no bill at all (the same connector, the same command: "the login alone");
- 8: the framework at two sizes (and ``raw_fast`` at both, for reference).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchlib.common import (
    BenchError,
    file_requests,
    run_baseline,
    run_framework,
)
from benchlib.common import demo_site as start_site
from benchlib.procs import Outcome
from benchlib.report import Row

Variant = Callable[[], Outcome]


@dataclass
class Sizes:
    bills: int = 200
    growth: tuple[int, int] = (500, 5_000)
    runs: int = 3
    growth_runs: int = 2
    naive: bool = True
    #: workload 1 with the framework and raw_fast only (no floor, no traced run): for 5,000 bills
    lean: bool = False


@dataclass
class Samples:
    """Per variant: wall times, peak PSS, and the baselines' own timing lines."""

    wall: dict[str, list[float]] = field(default_factory=dict)
    pss: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    extra: dict[str, list[dict[str, object]]] = field(default_factory=dict)

    def add(self, name: str, outcome: Outcome) -> None:
        self.wall.setdefault(name, []).append(outcome.wall_s)
        self.pss.setdefault(name, []).append(outcome.peak_pss_mib)
        self.cpu.setdefault(name, []).append(outcome.cpu_s)
        info = {k: v for k, v in outcome.extra.items() if k not in ("summary", "pss_by_process")}
        self.extra.setdefault(name, []).append(info)


def interleave(variants: dict[str, Variant], rounds: int, samples: Samples, log: Callable[[str], None]) -> None:
    names = list(variants)
    for number in range(rounds):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            outcome = variants[name]()
            samples.add(name, outcome)
            breakdown = outcome.extra.get("pss_by_process") or {}
            top = ", ".join(f"{k} {v:.0f}" for k, v in sorted(breakdown.items(), key=lambda kv: -kv[1])[:4])
            log(
                f"  round {number + 1}/{rounds} {name:<22} {outcome.wall_s:7.2f} s  CPU {outcome.cpu_s:6.2f} s  "
                f"peak PSS {outcome.peak_pss_mib:5.0f} MiB ({outcome.peak_procs} procs: {top})"
            )


class Scratch:
    """Fresh folders for stores and outputs, removed as soon as a run is measured (5,000 PDFs add up)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.count = 0

    def fresh(self, name: str) -> Path:
        self.count += 1
        path = self.root / f"{name}-{self.count}"
        path.mkdir(parents=True)
        return path


def _framework_full(scratch: Scratch, url: str, bills: int, trace: str = "off") -> Variant:
    def run() -> Outcome:
        folder = scratch.fresh(f"fw-{trace}")
        try:
            return run_framework(url, folder / "store", trace=trace, artifacts=folder / "artifacts", expect_new=bills)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return run


def _baseline(scratch: Scratch, name: str, url: str, bills: int) -> Variant:
    def run() -> Outcome:
        folder = scratch.fresh(name)
        try:
            return run_baseline(name, url, folder / "out", bills)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return run


def full_runs(sizes: Sizes, log: Callable[[str], None], which: set[str]) -> list[Row]:
    """Workloads 1, 6, 7 (one set of interleaved rounds, when any of them is asked), then 2."""
    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory(prefix="bk-bench-") as tmp,
        start_site(sizes.bills) as site,
        start_site(0) as empty_site,
    ):
        scratch = Scratch(Path(tmp))
        if which & {"1", "6", "7"}:
            rows.extend(_full(scratch, site.url, sizes, log))
        if "2" in which:
            rows.extend(_incremental(scratch, site.url, empty_site.url, sizes, log))
    return rows


def _full(scratch: Scratch, url: str, sizes: Sizes, log: Callable[[str], None]) -> list[Row]:
    rows: list[Row] = []
    n = sizes.bills
    log(f"workloads 1, 6, 7: {n} bills, {sizes.runs} rounds (site {url})")
    variants: dict[str, Variant] = {
        "framework": _framework_full(scratch, url, n),
        "raw_fast": _baseline(scratch, "raw_fast", url, n),
    }
    if not sizes.lean:
        variants["floor_httpx"] = _baseline(scratch, "floor_httpx", url, n)
        variants["framework_traced"] = _framework_full(scratch, url, n, trace="retain-on-failure")
    if sizes.naive:
        variants["raw_naive"] = _baseline(scratch, "raw_naive", url, n)
    samples = Samples()
    interleave(variants, sizes.runs, samples, log)
    fw = samples.wall["framework"]
    what = f"full run, {n} bills ({n - n // 4} PDFs, {n // 4} printed) into the embedded store"
    rows.append(
        Row(
            "1",
            what + ", vs (b) hand-written fast Playwright",
            "s",
            fw,
            baseline=samples.wall["raw_fast"],
            baseline_label="raw_fast",
            target_op="<=",
            target=1.0,  # not slower than the best hand-written script (docs/performance.md)
            target_text="≤ 1.0",
        )
    )
    rows.append(
        Row(
            "1",
            "… CPU time (user+sys) of the process tree, vs (b) raw_fast",
            "s",
            samples.cpu["framework"],
            baseline=samples.cpu["raw_fast"],
            baseline_label="raw_fast",
            target_op="<=",
            target=1.2,
            target_text="≤ 1.2",
        )
    )
    naive = samples.wall.get("raw_naive", [])
    rows.append(
        Row(
            "1",
            "… vs (c) naive Playwright (click every link)",
            "s",
            fw,
            baseline=naive,
            baseline_label="raw_naive",
            invert=True,
            target_op=">=",
            target=3.0,
            target_text="≥ 3",
            missing="" if naive else "skipped (--no-naive)",
        )
    )
    lean = "skipped (--lean)" if sizes.lean else ""
    rows.append(
        Row(
            "1",
            "… vs (a) the floor: httpx only, no browser (HTML bills fetched, not printed)",
            "s",
            fw,
            baseline=samples.wall.get("floor_httpx", []),
            baseline_label="floor_httpx",
            target_text="state it",
            missing=lean,
        )
    )
    rows.append(
        Row(
            "6",
            "peak PSS of the framework's process tree during workload 1 (vs raw_fast's)",
            "MiB",
            samples.pss["framework"],
            baseline=samples.pss["raw_fast"],
            baseline_label="raw_fast",
            target_op="<=",
            target=350,
            target_text="≤ 350 MiB",
            target_on="value",
        )
    )
    rows.append(
        Row(
            "6",
            "… the same, as a ratio to raw_fast's",
            "MiB",
            samples.pss["framework"],
            baseline=samples.pss["raw_fast"],
            baseline_label="raw_fast",
            target_op="<=",
            target=1.0,
            target_text="≤ 1.0",
        )
    )
    rows.append(
        Row(
            "7",
            "workload 1 with --trace retain-on-failure vs --trace off",
            "s",
            samples.wall.get("framework_traced", []),
            value_label="traced",
            baseline=fw,
            baseline_label="framework",
            target_op="<=",
            target=1.15,
            target_text="≤ 1.15",
            missing=lean,
        )
    )
    log(_phases(samples))
    return rows


def _phases(samples: Samples) -> str:
    """Every variant's CPU time and the baselines' own phase timings (login, printing, downloads), medians,
    for the notes."""
    out = []
    for name, cpu in samples.cpu.items():
        rounds = ", ".join(f"{c:.2f}" for c in cpu)
        out.append(f"  {name}: CPU (user+sys, process tree) median {sorted(cpu)[len(cpu) // 2]:.2f} s [{rounds}]")
    for name, lines in samples.extra.items():
        keys = sorted({k for line in lines for k, v in line.items() if k.endswith("_s") and isinstance(v, float)})
        if keys:
            parts = []
            for key in keys:
                values = sorted(float(line[key]) for line in lines if isinstance(line.get(key), float))  # type: ignore[arg-type]
                parts.append(f"{key}={values[len(values) // 2]:.2f}")
            out.append(f"  {name}: " + ", ".join(parts))
    return "phases (medians):\n" + "\n".join(out) if out else ""


def _incremental(scratch: Scratch, url: str, empty_url: str, sizes: Sizes, log: Callable[[str], None]) -> list[Row]:
    n = sizes.bills
    log(f"workload 2: incremental run ({n} bills, all saved) vs the login alone, {sizes.runs} rounds")
    store = scratch.fresh("incremental") / "store"
    run_framework(url, store, expect_new=n)  # untimed: fills the store
    login_store = scratch.fresh("login-only") / "store"

    def incremental() -> Outcome:
        before = file_requests(url)
        outcome = run_framework(url, store, expect_new=0)
        downloads = file_requests(url) - before
        if downloads:
            raise BenchError(f"the incremental run asked the site for {downloads} files (expected 0)")
        outcome.extra["downloads"] = downloads
        return outcome

    def login_alone() -> Outcome:
        return run_framework(empty_url, login_store, expect_new=0)

    samples = Samples()
    interleave({"incremental": incremental, "login_alone": login_alone}, sizes.runs, samples, log)
    return [
        Row(
            "2",
            f"incremental run, nothing new on the site ({n} bills known; 0 downloads, checked on "
            "the site's counters) vs the login alone (same connector, a site with no bill)",
            "s",
            samples.wall["incremental"],
            value_label="incremental",
            baseline=samples.wall["login_alone"],
            baseline_label="login alone",
            target_op="<=",
            target=1.2,
            target_text="≤ 1.2",
        )
    ]


def growth_runs(sizes: Sizes, log: Callable[[str], None]) -> list[Row]:
    small, large = sizes.growth
    log(f"workload 8: growth, {small} and {large} bills, {sizes.growth_runs} rounds")
    with (
        tempfile.TemporaryDirectory(prefix="bk-bench-") as tmp,
        start_site(small) as site_s,
        start_site(large) as site_l,
    ):
        scratch = Scratch(Path(tmp))
        variants: dict[str, Variant] = {
            f"framework@{small}": _framework_full(scratch, site_s.url, small),
            f"framework@{large}": _framework_full(scratch, site_l.url, large),
            f"raw_fast@{small}": _baseline(scratch, "raw_fast", site_s.url, small),
            f"raw_fast@{large}": _baseline(scratch, "raw_fast", site_l.url, large),
        }
        samples = Samples()
        interleave(variants, sizes.growth_runs, samples, log)
    factor = large / small
    return [
        Row(
            "8",
            f"growth: framework time({large}) / time({small}) (×{factor:g} bills)",
            "s",
            samples.wall[f"framework@{large}"],
            value_label=f"framework@{large}",
            baseline=samples.wall[f"framework@{small}"],
            baseline_label=f"framework@{small}",
            target_op="<=",
            target=factor * 1.1,
            target_text=f"≤ {factor * 1.1:g}",
        ),
        Row(
            "8",
            "… the same for raw_fast (reference)",
            "s",
            samples.wall[f"raw_fast@{large}"],
            value_label=f"raw_fast@{large}",
            baseline=samples.wall[f"raw_fast@{small}"],
            baseline_label=f"raw_fast@{small}",
            target_text="info",
        ),
        Row(
            "8",
            f"… framework / raw_fast at {large} bills",
            "s",
            samples.wall[f"framework@{large}"],
            value_label=f"framework@{large}",
            baseline=samples.wall[f"raw_fast@{large}"],
            baseline_label=f"raw_fast@{large}",
            target_text="info",
        ),
        Row(
            "8",
            f"… peak PSS of the framework at {large} bills (vs raw_fast)",
            "MiB",
            samples.pss[f"framework@{large}"],
            value_label=f"framework@{large}",
            baseline=samples.pss[f"raw_fast@{large}"],
            baseline_label=f"raw_fast@{large}",
            target_text="info",
        ),
    ]
