"""Record the bank connector against a small bank site (see scripts/record-bank).

The site is shrunk for the recording (a 16 KiB bundle, 8 boot modules, 40 operations per account): what
the offline test checks — a worker's requests, IndexedDB, the virtualised table, the stale rows — does not
depend on size, and the committed files stay small. The site's config is kept in the recording's notes,
so the test recomputes the expected data from ``bank_spa_site`` without a server.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

from bank_spa_site import BankConfig, BankSite

from browserkonnector.browser import DIFF_NAME, Recording
from browserkonnector.testing import run_connector

ROOT = Path(__file__).resolve().parent.parent
CONNECTOR = ROOT / "connectors" / "bank_spa"
DEFAULT_OUT = CONNECTOR / "tests" / "recordings" / "small"
SMALL = BankConfig(bundle_kb=16, boot_requests=8, operations=40, toast_ms=1500)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    existed = Recording.exists(args.out)
    with BankSite(SMALL) as site, tempfile.TemporaryDirectory(prefix="bk-record-") as tmp:
        run = run_connector(
            CONNECTOR,
            store_dir=Path(tmp) / "store",
            record=args.out,
            fields={"base_url": site.url, "password": SMALL.password},
        )
    if not run.ok:
        print(f"the run failed, recording kept but marked failed: {run.explain()}")
        return 1
    recording = Recording.load(args.out)
    recording.meta["notes"] = {"site": dataclasses.asdict(SMALL) | {"password": None}}
    recording.save(args.out)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"{len(recording.exchanges)} exchanges in {args.out} ({size / 1024:.0f} KiB)")
    diff = args.out / DIFF_NAME
    print(diff.read_text(encoding="utf-8") if existed and diff.is_file() else "  (new recording)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
