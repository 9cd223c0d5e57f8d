"""Workload 3's vendor: ``GET /bill/NAME.pdf`` answers a small, distinct PDF, from a process of its own.

Every name gets its own one-page PDF (its title is the name, so no two files share an md5), built once
and cached, so the server's cost stays tiny and equal for both libraries. ``BENCH_PDF_LATENCY_MS`` delays
every answer (a vendor is never on loopback; see :mod:`benchlib.w_save`). Prints its URL, then serves
until SIGTERM.

``python -m benchlib.pdf_server``
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import threading
from functools import lru_cache

from pypdf import PdfWriter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from browserkonnector.testing import BackgroundServer


@lru_cache(maxsize=20_000)
def pdf(title: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


LATENCY_S = float(os.environ.get("BENCH_PDF_LATENCY_MS", "0")) / 1000


async def bill(request: Request) -> Response:
    if LATENCY_S:
        await asyncio.sleep(LATENCY_S)
    return Response(pdf(request.path_params["name"]), media_type="application/pdf")


def main() -> None:
    server = BackgroundServer(Starlette(routes=[Route("/bill/{name}", bill)]))
    print(f"pdf {server.start()}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
