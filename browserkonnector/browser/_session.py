"""One Chromium for a run: launched from the system's binaries, or reached over a socket.

A connector never touches ``async_playwright`` itself: :class:`BrowserSession` starts the driver, picks
the binary (:func:`~browserkonnector.browser._discovery.find_chromium`: the headless shell for headless
runs — 4× faster to open a context — full Chromium for headed ones), and hands out contexts that already
carry what every run wants: resource blocking, the default timeout, the run's language and time zone when
it chose them (none is forced: the runtime picks them from the run, the connector, the Cozy or the machine),
downloads allowed::

    async with BrowserSession(BrowserOptions(headless=False)) as session:
        context = await session.new_context()
        page = await context.new_page()

``connect`` reuses a browser someone else runs: a ``ws://`` Playwright server (``chromium.connect``,
e.g. ``playwright run-server``) or an ``http://`` DevTools endpoint (``connect_over_cdp``, e.g. a
Chromium started with ``--remote-debugging-port``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from loguru import logger
from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from browserkonnector.browser._blocking import DEFAULT_BLOCKED, check_block_types
from browserkonnector.browser._discovery import LAUNCH_ARGS, OFFLINE_ARG_PREFIX, find_chromium
from browserkonnector.browser._network import Network

__all__ = ["BrowserOptions", "BrowserSession", "HeadedWithoutDisplay"]

NO_DISPLAY_MESSAGE = "no X server: run under `xvfb-run -a` or drop --headed"
_CONNECT_SCHEMES = ("ws://", "wss://", "http://", "https://")


def _ms(seconds: float) -> float:
    """Playwright's unit (milliseconds) from the framework's (seconds: every duration of its API)."""
    return seconds * 1000


class HeadedWithoutDisplay(RuntimeError):
    """A headed run was asked where no display exists (Playwright's own message is a wall of text)."""

    def __init__(self) -> None:
        super().__init__(NO_DISPLAY_MESSAGE)


@dataclass
class BrowserOptions:
    """How to get a browser and what every context of the run looks like.

    ``offline_dns`` keeps :data:`~browserkonnector.browser._discovery.LAUNCH_ARGS` (no DNS except
    loopback: right for tests and the demo site, wrong for a real vendor, so a real run turns it off).
    ``block_resources`` are Playwright resource types aborted in every context; ``document``, ``xhr``
    and ``fetch`` can never be blocked, nor can a PDF (see :mod:`~browserkonnector.browser._blocking`).
    ``user_data_dir`` makes the session's one context persistent on that Chromium profile directory
    (``launch_persistent_context``): its cache, IndexedDB and service workers outlive the run.
    """

    headless: bool = True
    slow_mo: float = 0.0
    executable_path: str | None = None
    connect: str | None = None
    offline_dns: bool = True
    extra_args: tuple[str, ...] | list[str] = ()
    block_resources: frozenset[str] = field(default_factory=lambda: DEFAULT_BLOCKED)
    locale: str | None = None
    timezone_id: str | None = None
    user_agent: str | None = None
    default_timeout: float = 30.0
    accept_downloads: bool = True
    #: How long ``connect`` may wait for the browser host: above ``browser-server``'s default queue (60 s),
    #: so a full host answers (503) before the run gives up.
    connect_timeout: float = 90.0
    user_data_dir: str | os.PathLike[str] | None = None

    def __post_init__(self) -> None:
        if self.connect is not None and self.user_data_dir is not None:
            raise ValueError("BrowserOptions: user_data_dir needs a launched browser, not connect=")
        if self.connect is not None and not self.connect.startswith(_CONNECT_SCHEMES):
            raise ValueError(
                f"BrowserOptions.connect={self.connect!r}: expected a ws:// Playwright server or an "
                "http:// DevTools (CDP) endpoint"
            )
        if self.slow_mo < 0:
            raise ValueError(f"BrowserOptions.slow_mo={self.slow_mo}: must be >= 0 (seconds)")
        if self.default_timeout <= 0:
            raise ValueError(f"BrowserOptions.default_timeout={self.default_timeout}: must be > 0 (seconds)")
        if self.connect_timeout <= 0:
            raise ValueError(f"BrowserOptions.connect_timeout={self.connect_timeout}: must be > 0 (seconds)")
        if isinstance(self.extra_args, str):
            raise ValueError("BrowserOptions.extra_args: expected a list of arguments, not one string")
        self.block_resources = frozenset(self.block_resources)
        check_block_types(self.block_resources, field_name="BrowserOptions.block_resources")

    def launch_args(self) -> list[str]:
        """Chromium's command line: ours (minus the DNS rule when online), then the caller's."""
        ours = [a for a in LAUNCH_ARGS if self.offline_dns or not a.startswith(OFFLINE_ARG_PREFIX)]
        return [*ours, *self.extra_args]


def _has_display() -> bool:
    return not sys.platform.startswith("linux") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


#: Node options of Playwright's driver: a young generation of 1 MiB semi-spaces instead of 16 keeps the
#: driver ~27 MiB smaller at its peak during a run (PSS 137 → 110 MiB, measured), at no measurable cost
#: in time: it relays small protocol messages, not big objects. ``BROWSERKONNECTOR_DRIVER_NODE_OPTIONS``
#: replaces them ("" for Node's defaults); a ``NODE_OPTIONS`` of the user's is kept, and wins.
DRIVER_NODE_OPTIONS = "--max-semi-space-size=1"


async def _start_playwright() -> Playwright:
    """``async_playwright().start()`` with :data:`DRIVER_NODE_OPTIONS` in the driver's environment only
    (Playwright copies ``os.environ`` when it spawns Node; it is restored right after)."""
    ours = os.environ.get("BROWSERKONNECTOR_DRIVER_NODE_OPTIONS", DRIVER_NODE_OPTIONS).strip()
    user = os.environ.get("NODE_OPTIONS")
    if ours:
        os.environ["NODE_OPTIONS"] = f"{ours} {user}" if user else ours
    try:
        return await async_playwright().start()
    except Exception as exc:
        if not ours:
            raise
        # Node refuses a bad option by exiting, which Playwright reports as a closed connection: say why.
        raise RuntimeError(
            f"Playwright's driver did not start with NODE_OPTIONS={os.environ['NODE_OPTIONS']!r} "
            f"(BROWSERKONNECTOR_DRIVER_NODE_OPTIONS, default {DRIVER_NODE_OPTIONS!r}; set it to '' for Node's "
            f"defaults): {exc}"
        ) from exc
    finally:
        if user is None:
            os.environ.pop("NODE_OPTIONS", None)
        else:
            os.environ["NODE_OPTIONS"] = user


def start_driver() -> asyncio.Task[Playwright]:
    """Start Playwright's driver (a Node process) in the background; hand the task to
    :class:`BrowserSession` (``driver=``). It launches no browser."""
    return asyncio.ensure_future(_start_playwright())


async def stop_driver(driver: Awaitable[Playwright]) -> None:
    """Stop a driver started by :func:`start_driver` that no session took over."""
    with contextlib.suppress(Exception):
        await (await driver).stop()


def _where(endpoint: str) -> str:
    """An endpoint's host and port: its path may be the host's secret (``browser-server``'s is)."""
    return endpoint.split("://", 1)[-1].split("/", 1)[0]


class BrowserSession:
    """Async context manager owning the Playwright driver and one browser (launched or connected)."""

    def __init__(self, options: BrowserOptions | None = None, *, driver: Awaitable[Playwright] | None = None) -> None:
        """``driver``: a Playwright driver already starting (see :func:`start_driver`), which the session
        then owns — starting it while the connector's modules import saves ~0.4 s of a run's start."""
        self.options = options or BrowserOptions()
        self._driver = driver
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._executable: Path | None = None
        self._persistent: BrowserContext | None = None  # with user_data_dir: the one context
        #: A connected browser went away while the session was open (the host died or dropped us).
        self.lost = False

    @property
    def browser(self) -> Browser:
        if self._browser is None:
            raise RuntimeError("the browser session is not started: use `async with BrowserSession(...)`")
        return self._browser

    @property
    def version(self) -> str:
        if self._browser is None and self._persistent is not None:
            return "?"
        return self.browser.version

    @property
    def executable(self) -> Path | None:
        """The binary launched; ``None`` for a connected browser (it runs elsewhere)."""
        return self._executable

    async def start(self) -> BrowserSession:
        opts = self.options
        if opts.connect is None and not opts.headless and not _has_display():
            raise HeadedWithoutDisplay()  # before starting anything: nothing to clean up
        self._playwright = await (self._driver if self._driver is not None else _start_playwright())
        self._driver = None
        if opts.user_data_dir is not None:  # the browser starts with its context: see new_context
            self._executable = find_chromium(headless=opts.headless, explicit=opts.executable_path)
            return self
        try:
            self._browser = await (self._connect() if opts.connect else self._launch())
        except BaseException:
            await self._playwright.stop()
            self._playwright = None
            raise
        logger.debug(
            "browser {} {} ({})",
            "connected" if opts.connect else "launched",
            self._browser.version,
            _where(opts.connect) if opts.connect else self._executable,
        )
        return self

    async def _launch(self) -> Browser:
        assert self._playwright is not None
        opts = self.options
        self._executable = find_chromium(headless=opts.headless, explicit=opts.executable_path)
        try:
            return await self._playwright.chromium.launch(
                executable_path=self._executable,
                headless=opts.headless,
                slow_mo=_ms(opts.slow_mo) or None,
                args=opts.launch_args(),
            )
        except PlaywrightError as exc:
            if "XServer" in exc.message or "Missing X server" in exc.message:
                raise HeadedWithoutDisplay() from None
            raise

    async def _connect(self) -> Browser:
        assert self._playwright is not None
        assert self.options.connect is not None
        endpoint, slow_mo = self.options.connect, _ms(self.options.slow_mo) or None
        timeout = _ms(self.options.connect_timeout)
        try:
            if endpoint.startswith(("ws://", "wss://")):
                browser = await self._playwright.chromium.connect(endpoint, slow_mo=slow_mo, timeout=timeout)
            else:
                browser = await self._playwright.chromium.connect_over_cdp(endpoint, slow_mo=slow_mo, timeout=timeout)
        except PlaywrightError as exc:
            from browserkonnector._errors import BROWSER_UNAVAILABLE, KonnectorError

            where = _where(endpoint)
            reason = next(
                (
                    line.strip()
                    for line in exc.message.splitlines()
                    if "503" in line or "full" in line or "ECONNREFUSED" in line
                ),
                "",
            )
            if "503" in reason:  # browser-server's answer past its cap (Playwright drops the body)
                reason = "the host is full (503): every slot stayed taken past its queue time"
            if not reason:
                reason = exc.message.strip().splitlines()[0] if exc.message.strip() else "no answer"
            raise KonnectorError(
                BROWSER_UNAVAILABLE,
                f"could not connect to the browser at {where}: {reason.replace(endpoint, where)}"[:500],
            ) from None
        browser.on("disconnected", self._on_disconnected)
        return browser

    def _on_disconnected(self, _browser: Browser) -> None:
        if self._browser is not None:  # not our own close()
            self.lost = True
            logger.warning("the browser at {} went away during the run", _where(self.options.connect or ""))

    async def new_context(
        self,
        *,
        record_har_path: str | os.PathLike[str] | None = None,
        block_resources: frozenset[str] | None = None,
        **context_args: Any,
    ) -> BrowserContext:
        """A fresh, isolated context with the run's settings applied.

        ``context_args`` go to Playwright's ``new_context`` as they are (``storage_state=``,
        ``viewport=``...), after ours, so a caller can override any of them; ``block_resources`` replaces
        the session's set for this context.
        """
        opts = self.options
        args: dict[str, Any] = {"accept_downloads": opts.accept_downloads}
        if opts.locale:  # also the Accept-Language header Chromium sends (none without it)
            args["locale"] = opts.locale
        if opts.timezone_id:
            args["timezone_id"] = opts.timezone_id
        if opts.user_agent:
            args["user_agent"] = opts.user_agent
        if record_har_path is not None:
            args["record_har_path"] = str(record_har_path)
        args.update(context_args)
        if opts.user_data_dir is not None:
            context = await self._launch_persistent(args)
        else:
            context = await self.browser.new_context(**args)
        context.set_default_timeout(_ms(opts.default_timeout))
        context.set_default_navigation_timeout(_ms(opts.default_timeout))
        network = Network.of(context)  # the context's network owner, made with it (see .network)
        blocked = opts.block_resources if block_resources is None else block_resources  # a run's own, in a kept session
        if blocked:
            await network.block(blocked)
        return context

    async def _launch_persistent(self, args: dict[str, Any]) -> BrowserContext:
        """Chromium on ``user_data_dir``, and its one context (a persistent profile has no other)."""
        if self._playwright is None:
            raise RuntimeError("the browser session is not started: use `async with BrowserSession(...)`")
        if self._persistent is not None:
            raise RuntimeError("a session on a user_data_dir has one context, already opened")
        opts = self.options
        assert opts.user_data_dir is not None
        if "storage_state" in args:
            raise ValueError(
                "a context on a user_data_dir takes no storage_state (the profile is its state): "
                "apply one with context.set_storage_state()"
            )
        try:
            context = await self._playwright.chromium.launch_persistent_context(
                Path(opts.user_data_dir),
                executable_path=self._executable,
                headless=opts.headless,
                slow_mo=_ms(opts.slow_mo) or None,
                args=opts.launch_args(),
                **args,
            )
        except PlaywrightError as exc:
            if "XServer" in exc.message or "Missing X server" in exc.message:
                raise HeadedWithoutDisplay() from None
            raise
        self._persistent = context
        self._browser = context.browser
        logger.debug("browser launched on a kept profile ({})", self._executable)
        return context

    async def close(self) -> None:
        """Close the browser (or disconnect) and stop the driver; safe to call twice."""
        browser, playwright, persistent = self._browser, self._playwright, self._persistent
        self._browser = self._playwright = self._persistent = None
        try:
            if persistent is not None:  # closing its context closes that browser, flushing the profile
                with contextlib.suppress(PlaywrightError):
                    await persistent.close()
            elif browser is not None:
                await browser.close()
        finally:
            if playwright is not None:
                await playwright.stop()

    async def __aenter__(self) -> BrowserSession:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
