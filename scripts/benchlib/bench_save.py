"""Benchmarks of the save pipeline (printed, never asserted): ``python scripts/benchlib/bench_save.py``.

- ``bench_hydrate``: ``hydrate_and_filter`` of ``incoming`` bills against ``stored`` bills in a LocalStore
  (half of the incoming ones already stored), through the dedup-key index. Reports the median time and
  the peak Python memory (tracemalloc) of the call; run at two stored sizes it shows whether memory
  grows with the doctype (it should not: only matching documents are kept).
- ``bench_save_bills``: ``save_bills`` of ``n`` bills whose PDFs come from a vendor on loopback
  (a real HTTP server), into a fresh LocalStore, then the same call again (everything already saved).

A later benchmark harness imports :func:`bench_hydrate` and :func:`bench_save_bills`; each returns a dict.
Options: ``--stored``, ``--incoming``, ``--bills``, ``--repeat``, ``--skip-save``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from loguru import logger
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benchlib.pdf_server import pdf
from browserkonnector.save import hydrate_and_filter, save_bills
from browserkonnector.store import AppInfo, LocalStore
from browserkonnector.testing import BackgroundServer

APP = AppInfo("bench-vendor", "1.0.0")
KEYS = ["date", "amount", "vendor"]
VENDORS = ["EDF", "Free Mobile", "Orange", "SFR", "Engie", "Ameli", "Bouygues", "Total"]


def _bill(i: int) -> dict[str, Any]:
    day = dt.datetime(2000, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=7 * i)
    return {
        "vendor": VENDORS[i % len(VENDORS)],
        "date": day.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "amount": round(5 + (i * 37 % 20000) / 100, 2),
        "currency": "EUR",
        "vendorRef": f"R{i:07d}",
    }


async def _fill(store: LocalStore, stored: int) -> None:
    batch = 2000
    for start in range(0, stored, batch):
        await store.bulk_save("io.cozy.bills", [_bill(i) for i in range(start, min(stored, start + batch))])


async def _hydrate(stored: int, incoming: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        async with LocalStore(Path(tmp) / "store", app=APP) as store:
            started = time.perf_counter()
            await _fill(store, stored)
            fill_s = time.perf_counter() - started
            await store.define_index("io.cozy.bills", KEYS)
            # half already stored (spread over the whole doctype), half new
            step = max(1, stored // max(1, incoming // 2))
            wanted = [_bill(i) for i in range(0, stored, step)][: incoming // 2]
            wanted += [_bill(stored + i) for i in range(incoming - len(wanted))]
            times, found = [], 0
            for _ in range(repeat):
                docs = [dict(d) for d in wanted]
                t0 = time.perf_counter()
                kept = await hydrate_and_filter(docs, "io.cozy.bills", store=store, keys=KEYS)
                times.append(time.perf_counter() - t0)
                found = sum(1 for d in docs if "_id" in d)
                assert len(kept) == incoming - found
            tracemalloc.start()
            await hydrate_and_filter([dict(d) for d in wanted], "io.cozy.bills", store=store, keys=KEYS)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    return {
        "stored": stored,
        "incoming": incoming,
        "matched": found,
        "fill_s": round(fill_s, 2),
        "median_s": round(statistics.median(times), 4),
        "min_s": round(min(times), 4),
        "peak_mib": round(peak / 2**20, 2),
    }


def bench_hydrate(stored: int = 100_000, incoming: int = 1_000, repeat: int = 5) -> dict[str, Any]:
    """hydrate_and_filter of ``incoming`` bills against ``stored`` ones (time and peak memory)."""
    logger.disable("browserkonnector")
    try:
        return asyncio.run(_hydrate(stored, incoming, repeat))
    finally:
        logger.enable("browserkonnector")


def _vendor_app(n: int) -> Starlette:
    """Serves ``/bill/<i>.pdf``; the PDFs are made before the clock starts (the server shares our process)."""
    pdfs = {f"{i:05d}.pdf": pdf(f"{i:05d}.pdf") for i in range(n)}

    async def bill(request: Request) -> Response:
        return Response(pdfs[request.path_params["name"]], media_type="application/pdf")

    return Starlette(routes=[Route("/bill/{name}", bill)])


async def _save(n: int, base: str, concurrency: int) -> dict[str, Any]:
    bills = [{**_bill(i), "filename": f"{i:05d}.pdf", "fileurl": f"{base}/bill/{i:05d}.pdf"} for i in range(n)]
    out: dict[str, Any] = {"bills": n, "concurrency": concurrency}
    with tempfile.TemporaryDirectory() as tmp:
        async with LocalStore(Path(tmp) / "store", app=APP) as store:
            for run in ("first", "second"):
                t0 = time.perf_counter()
                result = await save_bills(
                    bills,
                    "/Administratif/Bench",
                    store=store,
                    app=APP,
                    source_account="acc",
                    source_account_identifier="bench",
                    file_id_attributes=["vendorRef"],
                    identifiers=["bench"],
                    concurrency=concurrency,
                )
                out[f"{run}_s"] = round(time.perf_counter() - t0, 2)
                out[f"{run}_counts"] = (
                    f"bills {result.bills_created}+/{result.bills_updated}~/"
                    f"{result.bills_unchanged}=, files {result.files_created}+/"
                    f"{result.files_kept}=/{result.files_failed}!"
                )
    out["first_bills_per_s"] = round(n / out["first_s"], 1)
    return out


def bench_save_bills(n: int = 1_000, concurrency: int = 4) -> dict[str, Any]:
    """save_bills of ``n`` bills with PDFs from a loopback HTTP server, twice (new, then all saved)."""
    logger.disable("browserkonnector")
    try:
        with BackgroundServer(_vendor_app(n)) as server:
            return asyncio.run(_save(n, server.url, concurrency))
    finally:
        logger.enable("browserkonnector")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--stored", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--incoming", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--bills", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--skip-save", action="store_true")
    args = parser.parse_args()
    for stored in args.stored:
        print("hydrate_and_filter", bench_hydrate(stored, args.incoming, args.repeat), flush=True)
    if not args.skip_save:
        print("save_bills", bench_save_bills(args.bills, args.concurrency), flush=True)


if __name__ == "__main__":
    main()
