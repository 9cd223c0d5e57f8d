"""``scripts/bench``: run every workload, print the table of ratios, write it into docs/performance.md.

::

    scripts/bench                      # everything, 3 rounds (about 30 min on 2 busy cores)
    scripts/bench --only 1,3 --runs 5  # some workloads
    scripts/bench --with-js            # workload 3 against cozy-konnector-libs too (npm, cached)
    scripts/bench --smoke              # every workload at a tiny size, 1 round (the test suite runs it)
    scripts/bench --only 9             # the heavy local-first SPA: framework vs raw Playwright, trace costs
    scripts/bench --only 10            # a run restoring its kept session vs a cold login (second factor)
    scripts/bench --only 11            # the heavy SPA: second run on the kept profile vs first run
    scripts/bench --only 1 --no-naive --lean --bills 5000  # workload 1 at 5,000 bills: framework vs raw_fast

Every figure is a median over rounds; every ratio compares two medians measured in the same bench run,
variants interleaved, so the noise of a shared machine hits both sides. Nothing here asserts a time:
the exit status is 0 when every workload produced its numbers (even a missed target), 1 when one failed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from benchlib import machine
from benchlib.common import REPO, BenchError
from benchlib.docs import write_doc
from benchlib.report import Row, render, render_text
from benchlib.w_dedup import dedup
from benchlib.w_print import printing
from benchlib.w_profile import kept_profile
from benchlib.w_runs import Sizes, full_runs, growth_runs
from benchlib.w_save import save_vs_js
from benchlib.w_session import session_restore
from benchlib.w_spa import SpaSizes, heavy_spa

WORKLOADS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11")
DEFAULT_OUT = REPO / "docs" / "performance.md"


def _log(message: str) -> None:
    if message:
        print(message, file=sys.stderr, flush=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 1 round (what the test suite runs)")
    parser.add_argument("--runs", type=int, default=None, help="rounds per workload (default 3; smoke 1)")
    parser.add_argument("--growth-runs", type=int, default=None, help="rounds of workload 8 (default 2)")
    parser.add_argument("--only", default=",".join(WORKLOADS), help="workloads to run, e.g. 1,3 (default all)")
    parser.add_argument(
        "--with-js",
        action="store_true",
        help="workload 3 against cozy-konnector-libs 5.13.0 (npm install into .bench-cache/)",
    )
    parser.add_argument(
        "--js-c1",
        action="store_true",
        help="with --with-js, also run konnector-libs at its default concurrency 1 (slow)",
    )
    parser.add_argument("--js-runs", type=int, default=1, help="rounds of the JS side of workload 3 (default 1)")
    parser.add_argument(
        "--vendor-latency-ms",
        type=float,
        default=None,
        help="workload 3: the PDF server's delay per answer (default 30; 0 exposes a "
        "konnector-libs race, see benchlib/w_save.py)",
    )
    parser.add_argument("--no-naive", action="store_true", help="skip baseline (c), the slowest")
    parser.add_argument(
        "--lean",
        action="store_true",
        help="workload 1 with the framework and raw_fast only (no floor, no traced run), e.g. with --bills 5000",
    )
    parser.add_argument("--bills", type=int, default=None, help="bills of workloads 1, 2, 6, 7 (default 200)")
    parser.add_argument("--save-bills", type=int, default=None, help="bills of workload 3 (default 1000)")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"Markdown file to update (default {DEFAULT_OUT.relative_to(REPO)} for a complete "
        "run; none for --smoke or --only unless given)",
    )
    args = parser.parse_args(argv)
    args.only_set = {w.strip() for w in args.only.split(",") if w.strip()}
    unknown = args.only_set - set(WORKLOADS)
    if unknown:
        parser.error(f"--only: unknown workload(s) {', '.join(sorted(unknown))}; known: {', '.join(WORKLOADS)}")
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be >= 1")
    if args.out is None and not args.smoke and args.only_set == set(WORKLOADS):
        args.out = DEFAULT_OUT  # only a complete run replaces the table of record
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = time.monotonic()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    info = machine.describe()
    runs = args.runs or (1 if args.smoke else 3)
    if args.smoke:
        sizes = Sizes(
            bills=args.bills or 8,
            growth=(8, 24),
            runs=runs,
            growth_runs=args.growth_runs or 1,
            naive=not args.no_naive,
            lean=args.lean,
        )
        save_bills_n, dedup_sizes, dedup_incoming, dedup_repeat, print_bills = 20, (500, 2_000), 100, 2, 4
        spa = SpaSizes(bundle_kb=64, boot_requests=20, operations=30, runs=runs)
    else:
        sizes = Sizes(
            bills=args.bills or 200,
            runs=runs,
            growth_runs=args.growth_runs or 2,
            naive=not args.no_naive,
            lean=args.lean,
        )
        save_bills_n, dedup_sizes, dedup_incoming, dedup_repeat, print_bills = 1_000, (10_000, 100_000), 1_000, 5, 50
        spa = SpaSizes(runs=runs)
    _log(
        f"scripts/bench{' --smoke' if args.smoke else ''}: workloads {','.join(sorted(args.only_set))}, "
        f"{runs} round(s), {when}"
    )
    for key, value in info.items():
        _log(f"  {key}: {value}")
    save_bills_n = args.save_bills or save_bills_n
    which = args.only_set
    jobs: list[tuple[set[str], str, Callable[[], list[Row]]]] = [
        ({"1", "2", "6", "7"}, "1, 2, 6, 7", lambda: full_runs(sizes, _log, which)),
        (
            {"3"},
            "3",
            lambda: save_vs_js(
                save_bills_n,
                min(runs, 2),
                args.with_js,
                _log,
                args.js_c1,
                args.js_runs,
                *([] if args.vendor_latency_ms is None else [args.vendor_latency_ms]),
            ),
        ),
        ({"4"}, "4", lambda: dedup(dedup_sizes, dedup_incoming, dedup_repeat, _log)),
        ({"5"}, "5", lambda: printing(print_bills, runs, _log)),
        ({"8"}, "8", lambda: growth_runs(sizes, _log)),
        ({"9"}, "9", lambda: heavy_spa(spa, _log)),
        ({"10"}, "10", lambda: session_restore(sizes.bills, runs, _log)),
        ({"11"}, "11", lambda: kept_profile(spa, _log)),
    ]
    rows: list[Row] = []
    failed = False
    for numbers, label, job in jobs:
        if not numbers & which:
            continue
        try:
            rows.extend(row for row in job() if row.workload in which)
        except BenchError as exc:
            failed = True
            _log(f"workload {label} FAILED: {exc}")
            rows.append(Row(label, "failed", "s", missing=str(exc).splitlines()[0][:300]))
    rows.sort(key=lambda row: int(row.workload.split(",")[0]))
    elapsed = time.monotonic() - started
    print(render_text(rows), flush=True)
    print(f"({elapsed / 60:.1f} min; load average now {machine.load_now()})", flush=True)
    if args.out is not None:
        write_doc(
            args.out,
            render(rows),
            info,
            when=when,
            runs=runs,
            smoke=args.smoke,
            elapsed_s=elapsed,
            command=" ".join(["scripts/bench", *(argv if argv is not None else sys.argv[1:])]),
        )
        print(f"table written to {args.out}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
