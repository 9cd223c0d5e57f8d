"""``browserkonnector browser-server``: one shared Chromium that many runs, on this or other machines,
drive over Playwright's protocol, with a cap on how many drive it at once.

Why this shape (read from the pinned Playwright driver, and measured in ``docs/scaling.md``):

- ``playwright run-server`` launches **one browser per client connection** (and drops a client's
  ``executablePath`` unless started with ``--unsafe``): ten runs through it still cost ten Chromiums.
- Playwright's ``launch-server`` (``chromium.launchServer``) launches **one** browser and serves it to
  every client; each client sees only the contexts it created, and they are closed when it disconnects
  — even when the client dies. That is what a run needs: a fresh context of its own, never another
  account's cookies, closed whatever happens. It has no cap, though.

So this host starts Playwright's own ``launch-server`` from the bundled driver with the system's
Chromium (:func:`~browserkonnector.browser._discovery.find_chromium`) on a private loopback port, and
puts a small TCP relay in front of it: at most ``max_clients`` connections are relayed at once; the
next ones wait (without reading a byte) for at most ``queue_timeout`` seconds, then get
``503 Service Unavailable`` with the reason. When the browser or its driver dies, every relayed
connection is closed at once, so a run connected to it fails fast instead of waiting.

The endpoint's path is random by default: whoever can open the port can drive the browser, so the path
works as a shared secret on a private network (``--path`` fixes it, for a configuration file).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import secrets
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import playwright

from browserkonnector.browser._discovery import LAUNCH_ARGS, OFFLINE_ARG_PREFIX, find_chromium

__all__ = ["BrowserHost", "HostOptions", "HostStartError"]

#: How long the shared Chromium may take to start (a loaded machine: several seconds).
START_TIMEOUT_S = 60.0
_PR_SET_PDEATHSIG = 1


class HostStartError(RuntimeError):
    """The shared browser did not start; the message carries what the driver printed."""


def driver_command() -> tuple[str, str]:
    """Playwright's driver as its wheel ships it: the Node binary and ``cli.js`` in the package's
    ``driver`` directory, ``PLAYWRIGHT_NODEJS_PATH`` naming another Node as Playwright itself allows.

    Playwright has no public function for this, and ``python -m playwright`` would put a Python process
    between the host and the driver, which a signal to the host would leave orphaned; so the host reads
    the wheel's documented layout (the files are checked, so a change of layout fails here, by name)."""
    driver = Path(playwright.__file__).parent / "driver"
    cli = driver / "package" / "cli.js"
    node = os.environ.get("PLAYWRIGHT_NODEJS_PATH") or str(driver / ("node.exe" if sys.platform == "win32" else "node"))
    for part in (Path(node), cli):
        if not part.is_file():
            raise HostStartError(
                f"Playwright's driver is not where its wheel puts it: {part} is missing "
                "(set PLAYWRIGHT_NODEJS_PATH to a Node.js executable if your Playwright has none)"
            )
    return node, str(cli)


@dataclass
class HostOptions:
    """What the host serves. ``max_clients``: runs driving the browser at once (each has one context and
    its pages); ``queue_timeout``: how long a connection past the cap waits before a 503."""

    host: str = "127.0.0.1"
    port: int = 0
    path: str | None = None
    max_clients: int = 8
    queue_timeout: float = 60.0
    chromium: str | None = None
    chromium_args: tuple[str, ...] = ()
    offline_dns: bool = False
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    def __post_init__(self) -> None:
        if self.max_clients < 1:
            raise ValueError(f"--max-clients={self.max_clients}: must be >= 1")
        if self.queue_timeout < 0:
            raise ValueError(f"--queue-timeout={self.queue_timeout}: must be >= 0")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"--port={self.port}: must be between 0 and 65535")
        if self.path is not None and (not self.path.startswith("/") or any(c in self.path for c in " ?#")):
            raise ValueError(f"--path={self.path!r}: must start with '/' and hold no space, '?' or '#'")

    def launch_args(self) -> list[str]:
        ours = [a for a in LAUNCH_ARGS if self.offline_dns or not a.startswith(OFFLINE_ARG_PREFIX)]
        return [*ours, *self.chromium_args]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """The driver (and so its Chromium) must not outlive a host killed with SIGKILL: it gets a SIGTERM,
    which Playwright handles by closing Chromium first (a SIGKILL would leave Chromium orphaned)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class BrowserHost:
    """The running host: ``async with BrowserHost(options) as host: print(host.endpoint)``."""

    def __init__(self, options: HostOptions | None = None) -> None:
        self.options = options or HostOptions()
        self.path = self.options.path or "/" + secrets.token_urlsafe(12)
        self.active = 0  # relayed connections now
        self.peak = 0  # most relayed at once since the start
        self.refused = 0  # connections answered 503 after waiting
        self._slots = asyncio.Semaphore(self.options.max_clients)
        self._driver: asyncio.subprocess.Process | None = None
        self._stderr_tail = b""
        self._stderr_task: asyncio.Task[None] | None = None
        self._stdout_task: asyncio.Task[bytes] | None = None
        self._upstream: tuple[str, int] | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._config_dir: tempfile.TemporaryDirectory[str] | None = None
        self.driver_gone = asyncio.Event()

    @property
    def endpoint(self) -> str:
        """``ws://host:port/path``: what a run passes to ``--connect`` (or ``BROWSERKONNECTOR_CONNECT``)."""
        if self._server is None:
            raise RuntimeError("the browser host is not started")
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://{self.options.host}:{port}{self.path}"

    async def start(self) -> BrowserHost:
        executable = find_chromium(headless=True, explicit=self.options.chromium)
        await self._start_driver(executable)
        self._server = await asyncio.start_server(self._serve, self.options.host, self.options.port)
        asyncio.get_running_loop().create_task(self._watch_driver())
        return self

    async def _start_driver(self, executable: Path) -> None:
        node, cli = driver_command()
        self._config_dir = tempfile.TemporaryDirectory(prefix="bk-host-")
        config = Path(self._config_dir.name) / "launch.json"
        config.write_text(
            json.dumps(
                {
                    "executablePath": str(executable),
                    "headless": True,
                    "args": self.options.launch_args(),
                    "host": "127.0.0.1",
                    "port": 0,
                    "wsPath": self.path,
                    # Playwright's own handlers close Chromium before the driver exits (on stop(), and when this
                    # process dies: the driver then gets a SIGTERM, see _die_with_parent).
                    "handleSIGINT": True,
                    "handleSIGTERM": True,
                    "handleSIGHUP": True,
                }
            )
        )
        env = {**self.options.environ, "PW_LANG_NAME": "python"}
        self._driver = driver = await asyncio.create_subprocess_exec(
            node,
            cli,
            "launch-server",
            "--browser",
            "chromium",
            "--config",
            str(config),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
            env=env,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        assert driver.stdout is not None
        assert driver.stderr is not None
        self._stderr_task = asyncio.create_task(self._keep_stderr(driver.stderr))
        try:
            line = (await asyncio.wait_for(driver.stdout.readline(), START_TIMEOUT_S)).decode().strip()
        except TimeoutError:
            line = f"(nothing printed in {START_TIMEOUT_S:g} s)"
        if not line.startswith("ws://"):
            with contextlib.suppress(ProcessLookupError):
                driver.kill()
            await driver.wait()
            await asyncio.wait_for(self._stderr_task, 5)
            raise HostStartError(
                f"Playwright's launch-server did not start Chromium: {line} "
                f"{self._stderr_tail.decode(errors='replace')}".strip()[-2000:]
            )
        self._stdout_task = asyncio.create_task(driver.stdout.read())  # drained, never blocks the driver
        hostport = line.removeprefix("ws://").split("/", 1)[0]
        host, _, port = hostport.rpartition(":")
        self._upstream = (host, int(port))

    async def _keep_stderr(self, stream: asyncio.StreamReader) -> None:
        """Drain the driver's stderr (a full pipe would block it), keeping the tail for error messages."""
        while chunk := await stream.read(4096):
            self._stderr_tail = (self._stderr_tail + chunk)[-4000:]

    async def _watch_driver(self) -> None:
        """The driver (and its Chromium) died: close every relayed connection, so runs fail now."""
        assert self._driver is not None
        await self._driver.wait()
        self.driver_gone.set()
        for writer in list(self._writers):
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One client connection: wait for a slot (bounded), then relay bytes both ways until either
        side closes."""
        try:
            await asyncio.wait_for(self._slots.acquire(), self.options.queue_timeout or 0.001)
        except TimeoutError:
            self.refused += 1
            reason = (
                f"browser host full: {self.options.max_clients} run(s) already connected and none "
                f"left within {self.options.queue_timeout:g} s; retry later"
            )
            with contextlib.suppress(Exception):
                writer.write(
                    f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: "
                    f"close\r\nContent-Length: {len(reason)}\r\n\r\n{reason}".encode()
                )
                await writer.drain()
                writer.close()
            return
        self.active += 1
        self.peak = max(self.peak, self.active)
        self._writers.add(writer)
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            if self.driver_gone.is_set() or self._upstream is None:
                return
            up_reader, upstream_writer = await asyncio.open_connection(*self._upstream)
            self._writers.add(upstream_writer)
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(up_reader, writer))
        except OSError:
            pass
        finally:
            self._writers.discard(writer)
            for w in (writer, upstream_writer):
                if w is not None:
                    self._writers.discard(w)
                    w.transport.abort()
            self.active -= 1
            self._slots.release()

    async def stop(self) -> None:
        """Stop accepting, close every connection, stop the driver (and so Chromium)."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        driver = self._driver
        if driver is not None and driver.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                driver.terminate()
            try:
                await asyncio.wait_for(driver.wait(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    driver.kill()
                await driver.wait()
        if self._config_dir is not None:
            self._config_dir.cleanup()
            self._config_dir = None

    async def __aenter__(self) -> BrowserHost:
        try:
            return await self.start()
        except BaseException:
            await self.stop()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until EOF, then close the other side (a WebSocket has no half-closed state worth keeping)."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.transport.abort()


async def serve(options: HostOptions) -> int:
    """The command: start, print the endpoint, run until SIGTERM/SIGINT or until the browser dies."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with BrowserHost(options) as host:
        print(f"Listening on {host.endpoint}", flush=True)
        print(
            f"Runs connect with: --connect {host.endpoint}  (or BROWSERKONNECTOR_CONNECT={host.endpoint}); "
            f"at most {options.max_clients} at once",
            flush=True,
        )
        stopping = asyncio.create_task(stop.wait())
        gone = asyncio.create_task(host.driver_gone.wait())
        await asyncio.wait({stopping, gone}, return_when=asyncio.FIRST_COMPLETED)
        for task in (stopping, gone):
            task.cancel()
        if host.driver_gone.is_set() and not stop.is_set():
            print("browser-server: the browser (Playwright's driver) exited; stopping", file=sys.stderr, flush=True)
            return 1
    return 0
