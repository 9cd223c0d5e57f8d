"""Workload 3's Cozy: the stack emulator in a process of its own, plus a tiny control endpoint.

Both sides of workload 3 (browserkonnector's ``save_bills`` through ``CozyStackStore``, and
cozy-konnector-libs' ``saveBills``) talk to a fresh one of these, so neither shares its GIL with the
server, and both are counted the same way: ``GET <control>/requests`` answers how many requests the
emulator served so far (and how many per method and route shape), which each side reads right before and
right after its save call, and how long the emulator took to serve each route (``service_ms``: p50, p99,
max, from reading a request to handing over its answer).

It prepares what a konnector job finds on a Cozy: the destination folder and the account document.
Its HTTP server is ``BackgroundServer``'s uvicorn, which drops a connection left idle for ``--idle-timeout``
seconds: that is what ends konnector-libs' uploads that never send their request (see :mod:`benchlib.w_save`).
Prints ``stack http://127.0.0.1:P``, ``control http://127.0.0.1:Q`` and ``folder <dir id>``, then ``ready``.

``python -m benchlib.stack_server --root DIR --slug SLUG --token TOKEN``
"""

from __future__ import annotations

import argparse
import contextlib
import re
import signal
import threading
from collections import Counter
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from browserkonnector.store import LocalStore
from browserkonnector.testing import BackgroundServer, StackEmulator

ACCOUNT_ID = "bench-account"
FOLDER = "/Administratif/Bench"
_ID = re.compile(r"/[0-9a-f]{16,}|/[^/]+\.pdf$")


def shape(path: str) -> str:
    """``/files/3f2a...`` -> ``/files/:id``: requests grouped by route, not by document."""
    return _ID.sub("/:id", path)


def control_app(emulator: StackEmulator) -> Starlette:
    async def requests(request: Request) -> JSONResponse:
        log = emulator.requests
        by_route = Counter(f"{r.method} {shape(r.path)}" for r in log)
        durations: dict[str, list[float]] = {}
        for r in log:
            if r.duration is not None:
                durations.setdefault(f"{r.method} {shape(r.path)}", []).append(r.duration * 1000)
        service_ms = {
            route: {"p50": sorted(v)[len(v) // 2], "p99": sorted(v)[min(len(v) - 1, len(v) * 99 // 100)], "max": max(v)}
            for route, v in durations.items()
        }
        return JSONResponse({"count": len(log), "by_route": dict(by_route.most_common()), "service_ms": service_ms})

    return Starlette(routes=[Route("/requests", requests)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--slug", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=None,
        help="seconds before an idle connection is closed (default: the emulator's)",
    )
    args = parser.parse_args()
    extra = {} if args.idle_timeout is None else {"idle_timeout": args.idle_timeout}
    emulator = StackEmulator(args.root, slug=args.slug, token=args.token, **extra)
    emulator.start()

    async def prepare(store: LocalStore) -> Any:
        folder = await store.mkdir_p(FOLDER)
        await store.create(
            "io.cozy.accounts", {"_id": ACCOUNT_ID, "account_type": args.slug, "auth": {"login": "bench-user"}}
        )
        return folder.id

    folder_id = emulator.call(prepare)
    control = BackgroundServer(control_app(emulator))
    control_url = control.start()
    print(f"stack {emulator.url}", flush=True)
    print(f"control {control_url}", flush=True)
    print(f"folder {folder_id}", flush=True)
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    control.stop()
    emulator.stop()


if __name__ == "__main__":
    main()
