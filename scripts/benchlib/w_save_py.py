"""Workload 3, Python side: ``save_bills`` of N bills with PDFs through ``CozyStackStore`` into the stack
emulator (a separate process, see :mod:`benchlib.stack_server`).

The bills are the ones ``js/index.js`` saves — same vendor, dates, amounts, references, file names and
URLs on the same PDF server — with the same options: dedup of files on ``vendorRef``
(``fileIdAttributes``), ``sourceAccount``/``sourceAccountIdentifier``, linking to bank operations with
the identifier ``bench``. Prints one JSON line: the call's duration and the emulator requests it made.

``python -m benchlib.w_save_py --stack URL --control URL --token T --pdf URL --bills N``
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import time
from typing import Any

import httpx
from loguru import logger

from benchlib.stack_server import ACCOUNT_ID, FOLDER
from browserkonnector.save import save_bills
from browserkonnector.store import AppInfo, CozyStackStore

IDENTIFIER = "bench-user"


def bills(count: int, pdf_url: str) -> list[dict[str, Any]]:
    """The bills both libraries save (``js/index.js`` builds the very same ones)."""
    out = []
    for i in range(count):
        day = dt.datetime(2000, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=7 * i)
        amount = round(5 + (i * 37 % 20000) / 100, 2)
        out.append(
            {
                "vendor": "Bench Vendor",
                "date": day.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "amount": amount,
                "currency": "EUR",
                "vendorRef": f"R{i:07d}",
                "filename": f"{i:05d}_bench_{amount:.2f}EUR.pdf",
                "fileurl": f"{pdf_url}/bill/{i:05d}.pdf",
            }
        )
    return out


def requests_so_far(control: str) -> int:
    count: int = httpx.get(f"{control}/requests", timeout=30).json()["count"]
    return count


async def run(
    stack: str, control: str, token: str, pdf_url: str, count: int, slug: str, concurrency: int | None
) -> dict[str, Any]:
    app = AppInfo(slug, "1.0.0")
    entries = bills(count, pdf_url)
    options: dict[str, Any] = {} if concurrency is None else {"concurrency": concurrency}
    async with CozyStackStore(stack, token, app=app) as store:
        before = await asyncio.to_thread(requests_so_far, control)
        started = time.perf_counter()
        result = await save_bills(
            entries,
            FOLDER,
            store=store,
            app=app,
            source_account=ACCOUNT_ID,
            source_account_identifier=IDENTIFIER,
            file_id_attributes=["vendorRef"],
            identifiers=["bench"],
            **options,
        )
        seconds = time.perf_counter() - started
        after = await asyncio.to_thread(requests_so_far, control)
    return {
        "bills": count,
        "save_s": round(seconds, 4),
        "requests": after - before,
        "bills_created": result.bills_created,
        "files_created": result.files_created,
        "files_failed": result.files_failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--pdf", required=True)
    parser.add_argument("--bills", type=int, default=1000)
    parser.add_argument("--slug", default="bench-py")
    parser.add_argument("--concurrency", type=int, default=None, help="default: save_files' own default")
    args = parser.parse_args()
    logger.remove()  # the JS side runs at its default level; neither should pay for a chatty terminal
    logger.add(lambda message: None, level="WARNING")
    result = asyncio.run(run(args.stack, args.control, args.token, args.pdf, args.bills, args.slug, args.concurrency))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
