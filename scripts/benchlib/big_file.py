"""Peak memory of saving one big PDF: a loopback vendor streams it, ``save_files`` stores it in a LocalStore.

Prints one JSON line: the file's size, the process's peak RSS growth while saving it (``ru_maxrss``
after a warm-up save of a small PDF, so imports and the store's set-up are in the baseline), whether the
stored copy has the vendor's md5, and the wall time. The server runs in this process (in a thread) and
streams, so what grows is the save pipeline. The file-size cap is raised to let the file through.
Run it from the repository root::

    PYTHONPATH=scripts .venv/bin/python -m benchlib.big_file --mb 300
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from loguru import logger

from browserkonnector.save import save_files
from browserkonnector.store import AppInfo, LocalStore
from browserkonnector.testing import BackgroundServer, BigPdf, big_pdf_app

APP = AppInfo(slug="bench-big-file", version="0")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def measure(megabytes: float) -> dict[str, Any]:
    os.environ["BROWSERKONNECTOR_MAX_FILE_MB"] = str(int(megabytes) + 10)  # the file is under the cap
    logger.remove()  # the pipeline's warnings about missing source accounts are beside the point here
    pdf = BigPdf(int(megabytes * 1024 * 1024))
    warm = BigPdf(64 * 1024)
    with (
        BackgroundServer(big_pdf_app(pdf)) as big,
        BackgroundServer(big_pdf_app(warm)) as small,
        tempfile.TemporaryDirectory(prefix="bench-big-file-") as tmp,
    ):
        async with LocalStore(Path(tmp) / "store", app=APP) as store:
            await save_files(
                [{"fileurl": f"{small.url}/big.pdf", "filename": "warm.pdf"}], "/bench", store=store, app=APP
            )
            before = peak_rss_mb()
            started = time.perf_counter()
            saved = await save_files(
                [{"fileurl": f"{big.url}/big.pdf", "filename": "big.pdf"}], "/bench", store=store, app=APP
            )
            seconds = time.perf_counter() - started
            after = peak_rss_mb()
            file = saved[0].file
            if file is None:
                raise SystemExit(f"the big file was not saved: {saved[0].error}")
            # The store checks the md5 it is given against what it wrote; compare it to the vendor's.
            intact = file.size == pdf.length and file.md5sum == base64.b64encode(bytes.fromhex(pdf.md5_hex())).decode(
                "ascii"
            )
    return {
        "file_mb": round(pdf.length / 2**20, 1),
        "rss_before_mb": round(before, 1),
        "rss_peak_mb": round(after, 1),
        "rss_growth_mb": round(after - before, 1),
        "intact": intact,
        "seconds": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mb", type=float, default=300.0, help="the PDF's size in MiB (default 300)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.mb))), flush=True)


if __name__ == "__main__":
    main()
