"""Serve an ASGI app on 127.0.0.1, on a free port, in a background thread.

The demo vendor site and the stack emulator are real web apps on loopback, not mocks; tests, the CLI
and the benchmarks start them with this. The socket is bound *before* the server starts (port 0, so
the OS picks a free port and two test runs never collide), and :meth:`start` returns only once the
server accepts connections::

    with BackgroundServer(app) as server:
        httpx.get(server.url + "/health")
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import uvicorn

__all__ = ["BackgroundServer", "SiteServer", "serve_until_stopped"]


class BackgroundServer:
    """One uvicorn server in a daemon thread. ``url`` is ``http://127.0.0.1:<port>`` once started."""

    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning", idle_timeout: float = 5.0
    ) -> None:
        self.app = app
        self._idle_timeout = idle_timeout  # uvicorn's keep-alive timeout: an idle connection is closed after it
        self.host = host
        self._port = port
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    @property
    def port(self) -> int:
        if self._sock is None:
            raise RuntimeError("the server is not started")
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> str:
        """Bind, start serving, wait until ready; returns the base URL."""
        # proto=IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY on accepted sockets only when
        # proto says TCP; without it Nagle + delayed ACK add ~40 ms to every small response (measured).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._port))
        sock.listen(128)
        sock.setblocking(False)
        self._sock = sock
        config = uvicorn.Config(
            self.app,
            log_level=self._log_level,
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=1,
            timeout_keep_alive=self._idle_timeout,  # type: ignore[arg-type]
        )
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])), name=f"server-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server on {self.url} did not start")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = None

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class SiteServer:
    """What every fixture site shares: its app served by a :class:`BackgroundServer`, ``url`` once
    started, ``start``/``stop`` and ``with``. A site subclasses it and adds its knobs and expectations."""

    #: How the site names itself in errors ("the shop site is not started").
    NAME = "site"

    def __init__(self, app: Any, *, port: int = 0) -> None:
        self.app = app
        self._server = BackgroundServer(app, port=port)
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError(f"the {self.NAME} is not started: call start() or use it as a context manager")
        return self._url

    def start(self) -> str:
        self._url = self._server.start()
        return self._url

    def stop(self) -> None:
        self._server.stop()
        self._url = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_until_stopped(site: SiteServer, banner: Callable[[], str]) -> int:
    """Serve ``site`` until Ctrl-C or SIGTERM, printing ``banner()`` once it listens; ``Stopped.`` on
    stderr at the end, status 0. What ``python -m <site>`` and ``browserkonnector <site>-site`` run.
    SIGTERM stops as cleanly as Ctrl-C (its handler can only be set from the main thread)."""
    stop = threading.Event()
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set()) if in_main else None
    try:
        with site:
            print(banner(), flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait()
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    print("Stopped.", file=sys.stderr)
    return 0
