"""Record the shop connector against a fresh shop site, once per volatile seed (see scripts/record-shop).

``seed-0`` and ``seed-1`` have other CSRF tokens and session ids (``ShopConfig.volatile_seed``) for the
very same orders, and few of them (the recordings are committed: 3 orders, one list page). The site's
config is kept in each recording's notes, so the offline test recomputes the expected orders from
``shop_site`` without starting a server.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from shop_site import ShopConfig, ShopSite

from browserkonnector.browser import DIFF_NAME, Recording
from browserkonnector.testing import run_connector

ROOT = Path(__file__).resolve().parent.parent
CONNECTOR = ROOT / "connectors" / "shop_vendor"
DEFAULT_OUT = CONNECTOR / "tests" / "recordings"


def record(out: Path, volatile_seed: int, orders: int) -> bool:
    config = ShopConfig(orders=orders, other_orders=2, volatile_seed=volatile_seed)
    target = out / f"seed-{volatile_seed}"
    existed = Recording.exists(target)
    with ShopSite(config) as site, tempfile.TemporaryDirectory(prefix="bk-record-") as tmp:
        customer = site.customers[0]
        run = run_connector(
            CONNECTOR,
            store_dir=Path(tmp) / "store",
            record=target,
            trace="off",
            fields={"base_url": site.url, "login": customer.email, "password": customer.password},
        )
    if not run.ok:
        print(f"seed {volatile_seed}: the run failed, recording kept but marked failed: {run.explain()}")
        return False
    recording = Recording.load(target)
    recording.meta["notes"] = {"site": config.as_dict(), "user": customer.email, "bills_saved": len(run.bills())}
    recording.save(target)
    print(f"seed {volatile_seed}: {len(recording.exchanges)} exchanges in {target}")
    diff = target / DIFF_NAME
    print(diff.read_text(encoding="utf-8") if existed and diff.is_file() else "  (new recording)\n")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=3, help="orders of the customer (default 3: small)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    ok = all([record(args.out, seed, args.orders) for seed in (0, 1)])
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"total size of {args.out}: {size / 1024:.0f} KiB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
