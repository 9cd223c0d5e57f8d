"""What the three baselines share, and nothing of browserkonnector: they measure life *without* it.

Each baseline is a standalone script: it logs in to the demo vendor site at ``--url``, gets every bill's
PDF (or prints the HTML ones), writes the files into ``--out`` and the bills into ``--out/bills.json``,
and prints one JSON line of its own timings on stdout (the harness times the whole process anyway).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

#: The demo site's fixed, public demo login (printed by ``python -m demo_vendor_site`` too).
DEFAULT_LOGIN = "alice@demo-energie.test"
DEFAULT_PASSWORD = "Correct-Horse-Battery-42!"
HEADLESS_SHELL = "/usr/lib/chromium/chromium-headless-shell"
#: No DNS except loopback (tests and benches reach only 127.0.0.1): the same flag the framework passes with
#: ``--offline-dns``.
OFFLINE_ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1"]
PDF_MAGIC = b"%PDF-"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--url", required=True, help="base URL of the demo vendor site")
    p.add_argument("--out", type=Path, required=True, help="folder for the files and bills.json")
    p.add_argument("--login", default=DEFAULT_LOGIN)
    p.add_argument("--password", default=DEFAULT_PASSWORD)
    p.add_argument("--chromium", default=HEADLESS_SHELL, help="Chromium binary")
    p.add_argument("--concurrency", type=int, default=6, help="parallel downloads")
    return p


def filename(bill: dict[str, Any]) -> str:
    """The same name the demo connector gives the file (so the outputs can be compared)."""
    return f"{bill['date']}_demo-energie_{float(bill['amount']):.2f}{bill['currency']}_{bill['vendorRef']}.pdf"


def check_pdf(data: bytes, what: str) -> bytes:
    if not data.startswith(PDF_MAGIC):
        raise RuntimeError(f"{what}: not a PDF ({data[:20]!r})")
    return data


def save(path: Path, data: bytes) -> None:
    """Written synchronously, like most scripts do: a bill is tens of KiB, cheaper than a thread hop.
    Every baseline writes the same way, and the framework's store does its own (real) writes."""
    path.write_bytes(data)


def check_file(path: Path) -> None:
    check_pdf(path.read_bytes(), path.name)


def finish(out: Path, bills: list[dict[str, Any]], started: float, **timings: float | int) -> None:
    """Write ``bills.json`` and print the timings line the harness reads."""
    (out / "bills.json").write_text(json.dumps(bills, ensure_ascii=False), encoding="utf-8")
    line = {"bills": len(bills), "total_s": round(time.perf_counter() - started, 4), **timings}
    print(json.dumps(line), flush=True)
