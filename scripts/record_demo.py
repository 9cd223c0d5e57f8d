"""Record the demo connector against a fresh demo site, once per volatile seed (see scripts/record-demo).

Two recordings, made the way the offline tests need them to differ: ``seed-0`` and ``seed-1`` have other
CSRF tokens, session ids and API tokens (``SiteConfig.volatile_seed``) and another cache-buster timing
(``seed-1`` is recorded with server latency), for the very same bills. The site's config is kept in the
recording's notes, so a test recomputes the expected bills from ``demo_vendor_site`` without a server.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from demo_vendor_site import DemoSite, SiteConfig

from browserkonnector.browser import DIFF_NAME, Recording
from browserkonnector.testing import run_connector

ROOT = Path(__file__).resolve().parent.parent
CONNECTOR = ROOT / "connectors" / "demo_vendor"
DEFAULT_OUT = CONNECTOR / "tests" / "recordings"
#: volatile seed -> extra site settings (latency changes the cache busters' timing).
VARIANTS = {0: {"latency_ms": 0}, 1: {"latency_ms": 15}}


def record(out: Path, volatile_seed: int, bills: int) -> bool:
    config = SiteConfig(bills=bills, volatile_seed=volatile_seed, **VARIANTS[volatile_seed])  # type: ignore[arg-type]
    target = out / f"seed-{volatile_seed}"
    existed = Recording.exists(target)
    with DemoSite(config) as site, tempfile.TemporaryDirectory(prefix="bk-record-") as tmp:
        user = site.users[0]
        started = time.monotonic()
        run = run_connector(
            CONNECTOR,
            store_dir=Path(tmp) / "store",
            record=target,
            fields={"base_url": site.url, "login": user.email, "password": user.password},
        )
        seconds = time.monotonic() - started
        saved = len(run.bills()) if run.ok else 0
    if not run.ok:
        print(f"seed {volatile_seed}: the run failed, recording kept but marked failed: {run.explain()}")
        return False
    recording = Recording.load(target)
    recording.meta["notes"] = {
        "site": {
            "seed": config.seed,
            "volatile_seed": volatile_seed,
            "bills": bills,
            "per_page": config.per_page,
            "latency_ms": config.latency_ms,
        },
        "user": user.email,
        "bills_saved": saved,
    }
    recording.save(target)
    print(f"seed {volatile_seed}: {len(recording.exchanges)} exchanges in {target} ({seconds:.1f} s)")
    diff = target / DIFF_NAME
    print(diff.read_text(encoding="utf-8") if existed and diff.is_file() else "  (new recording)\n")
    return True


def measure(rounds: int, bills: int) -> None:
    """Median seconds of a plain live run, a recording live run and a replay, interleaved (no output kept)."""
    times: dict[str, list[float]] = {"live": [], "live + record": [], "replay": []}
    with DemoSite(SiteConfig(bills=bills)) as site, tempfile.TemporaryDirectory(prefix="bk-measure-") as tmp:
        user = site.users[0]
        fields = {"base_url": site.url, "login": user.email, "password": user.password}
        for n in range(rounds):
            for label in times:
                folder = Path(tmp) / f"rec-{n}"
                options: dict[str, Path] = (
                    {"record": folder}
                    if label == "live + record"
                    else ({"replay": folder} if label == "replay" else {})
                )
                run = run_connector(
                    CONNECTOR, store_dir=Path(tmp) / f"store-{label}-{n}", trace="off", fields=fields, **options
                )  # type: ignore[arg-type]
                if not run.ok:
                    raise SystemExit(f"{label} run failed: {run.explain()}")
                times[label].append(run.result.seconds)
    for label, values in times.items():
        print(f"{label:>14}: median {statistics.median(values):.2f} s  (runs: {', '.join(f'{v:.2f}' for v in values)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bills", type=int, default=12, help="bills on the site (default 12: small files)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where (default {DEFAULT_OUT})")
    parser.add_argument(
        "--measure",
        type=int,
        metavar="ROUNDS",
        default=0,
        help="record nothing: time ROUNDS plain / recording / replay runs and print medians",
    )
    args = parser.parse_args(argv)
    if args.measure:
        measure(args.measure, args.bills)
        return 0
    ok = all([record(args.out, seed, args.bills) for seed in VARIANTS])
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"total size of {args.out}: {size / 1024:.0f} KiB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
