"""The browser side of a run: session, context, page, tracer, page log, printer, session HTTP — and
what a failure leaves behind (the bundle) or a success keeps (a trace, with ``--trace on``).

One context and one page per run: every extra context costs ~60–130 MiB and a few hundred milliseconds
here (measured), and connectors run one account at a time. A connector declared ``browser=False`` gets a
plain HTTP client and no Chromium at all.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Mapping
from contextlib import AsyncExitStack
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from loguru import logger

from browserkonnector import _errors as errors
from browserkonnector._errors import MEANINGS, KonnectorError
from browserkonnector._redact import Redactor
from browserkonnector.runtime._bundle import Bundle, bundle_dir_for
from browserkonnector.runtime._locale import BrowserLocale
from browserkonnector.runtime._options import RunOptions
from browserkonnector.runtime._outcome import Failure

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page

    from browserkonnector.browser import BrowserSession, PageLog, PdfPrinter, Recorder, Replayer, Tracer
    from browserkonnector.browser._secretwatch import SecretWatch
    from browserkonnector.runtime._konnector import Konnector
    from browserkonnector.runtime._log import RunLog
    from browserkonnector.runtime._sitechange import SiteChange

__all__ = ["Browsing", "shared_session"]


def _live_transport() -> httpx.AsyncBaseTransport:
    from browserkonnector._request import default_ssl_context

    return httpx.AsyncHTTPTransport(verify=default_ssl_context())


log = logger.bind(namespace="browser")

#: A browser session that a long-lived process (a Celery worker, see ``browserkonnector.scaling``) keeps
#: across runs. When set, a run opens its fresh context in it — no driver or browser start of its own —
#: and leaves the session open at its end; the context is still the run's alone, closed whatever happens.
shared_session: ContextVar[BrowserSession | None] = ContextVar("browserkonnector_shared_session", default=None)


class Browsing:
    """Opens and closes the browser resources of a run on an ``AsyncExitStack``."""

    def __init__(
        self,
        konnector: Konnector[Any],
        options: RunOptions,
        redactor: Redactor,
        *,
        driver: Awaitable[Any] | None = None,
        locale: BrowserLocale | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        """``fields``: the run's fields as ``prepare()`` merged them (the account's too, in job mode), whose
        secrets a recording names after their field."""
        self.konnector, self.options, self.redactor = konnector, options, redactor
        self.fields = dict(fields or {})
        self.locale = locale or BrowserLocale(None, "nowhere", None, "nowhere")
        self.driver = driver  # a Playwright driver started early by the CLI, or None
        self.session: BrowserSession | None = None
        self.context: BrowserContext | None = None
        self.page: Page | None = None
        self.printer: PdfPrinter | None = None
        self.tracer: Tracer | None = None
        self.page_log: PageLog | None = None
        self.http: httpx.AsyncClient | None = None  # set by open()
        self.har_path: Path | None = None
        self._bundle: Bundle | None = None
        self._run_log: RunLog | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.network: Recorder | Replayer | None = None  # --record / --replay
        self.watch: SecretWatch | None = None
        #: A kept session's Playwright storage state (docs/sessions.md), given to the context when set.
        self.storage_state: dict[str, Any] | None = None
        #: A kept profile's directory (``keep_profile``, docs/sessions.md): the context is persistent on it.
        self.user_data_dir: Path | None = None

    async def open(self, stack: AsyncExitStack) -> None:
        if not self.konnector.browser:
            if self.driver is not None:
                from browserkonnector.browser._session import stop_driver

                await stop_driver(self.driver)
                self.driver = None
            from browserkonnector._request import request_factory

            language = {"Accept-Language": self.locale.locale} if self.locale.locale else None
            source = self._network_source()
            # The recorder's or replayer's transport is the client's innermost, from its construction.
            transport = source.transport(_live_transport()) if source is not None else None
            self.http = http = request_factory(headers=language, transport=transport)
            stack.push_async_callback(http.aclose)
            return
        from browserkonnector.browser import (
            BrowserOptions,
            BrowserSession,
            PageLog,
            Tracer,
            printer_for,
            session_http,
        )

        options = self.options
        # Not on the stack: the HAR is written when the context closes, and read after that.
        self._tmp = tempfile.TemporaryDirectory(prefix="bk-run-")
        self.har_path = Path(self._tmp.name) / "network.har"
        kept = shared_session.get()
        if kept is not None and self.driver is not None:
            from browserkonnector.browser._session import stop_driver

            await stop_driver(self.driver)
            self.driver = None
        profile = self.user_data_dir if kept is None else None
        # Any route turns Chromium's HTTP cache off (Playwright's rule), and the cache is half of what a
        # kept profile is for: a run on one blocks no resource type.
        blocked = frozenset() if profile is not None else self.konnector.block_resources
        if profile is not None and self.konnector.block_resources:
            log.debug("keep_profile: resource blocking is off (a route would turn the HTTP cache off)")
        session = kept or await stack.enter_async_context(
            BrowserSession(
                BrowserOptions(
                    headless=not options.headed,
                    slow_mo=options.slow_mo,
                    executable_path=options.chromium,
                    connect=options.connect,
                    offline_dns=options.offline_dns,
                    extra_args=tuple(options.chromium_args),
                    block_resources=blocked,
                    locale=self.locale.locale,
                    timezone_id=self.locale.timezone,
                    user_data_dir=profile,
                ),
                driver=self.driver,
            )
        )
        assert session is not None
        self.session = session
        self.driver = None
        # The bundle's network log: every request and response, without bodies (a run of 200 PDFs would
        # otherwise keep them all, base64-encoded, in the driver's memory until the context closes).
        # A kept session (a worker's) was opened for no run in particular: this run's locale, time zone and
        # blocked resource types go to its context; a kept login (docs/sessions.md) is its storage state.
        own: dict[str, Any] = {"storage_state": self.storage_state} if self.storage_state else {}
        if kept is not None:
            own.update({k: v for k, v in (("locale", self.locale.locale), ("timezone_id", self.locale.timezone)) if v})
            own["block_resources"] = self.konnector.block_resources
        context = await session.new_context(record_har_path=self.har_path, record_har_content="omit", **own)
        self.context = context
        stack.push_async_callback(self._close_context)
        self.page_log = PageLog(context, redactor=self.redactor)
        from browserkonnector.browser._secretwatch import SecretWatch
        from browserkonnector.browser.instrument._tracing import TRACE_PARTS_ENV, trace_parts

        self.tracer = Tracer(
            context,
            options.trace,
            self.redactor,
            parts=trace_parts(options.environ.get(TRACE_PARTS_ENV), options.trace),
        )
        # Cookies and declared storage values become secrets as the site sets them (before any log line).
        self.watch = SecretWatch(context, self.redactor, self.konnector.secret_storage_keys)
        # All at once: starting the trace (screencast, snapshotter) is a round trip of its own.
        self.page, _, _ = await asyncio.gather(context.new_page(), self.tracer.start(), self.watch.start())
        # One printer per context, shared with html_to_pdf(); when traced, it prints in a context of its
        # own so that bills printed by the hundred do not fill the trace (and halve the print rate) —
        # unless the run's network is recorded or replayed, which covers this context only.
        isolated = options.trace != "off" and options.record is None and options.replay is None
        self.printer = printer_for(context, isolated=isolated)
        stack.push_async_callback(self.printer.close)
        if isolated:  # its own context and page open while the connector logs in, not at the first print
            self.printer.warm()
        self.http = http = session_http(context, redactor=self.redactor, accept_language=self.locale.locale)
        stack.push_async_callback(http.aclose)
        await self._attach_network()
        log.debug("Chromium {} ({}); {}", session.version, session.executable or "connected", self.locale.describe())

    def check_not_lost(self) -> None:
        """A connected browser that went away ends the run with a retryable code, even when the connector
        carried on (its saves of the last files failed, and nothing past them is trustworthy)."""
        if self.session is not None and self.session.lost:
            raise KonnectorError(errors.BROWSER_UNAVAILABLE, "the browser host went away during the run")

    async def _attach_network(self) -> None:
        """``--record`` / ``--replay``: the recorder or replayer becomes the source of the context's network
        owner, which answers both network paths (the context's route, and ``self.http``'s transport, the
        owner's since the client was built)."""
        source = self._network_source()
        if source is None:
            return
        assert self.http is not None
        await source.attach(self.context, self.http, self.page)

    def _network_source(self) -> Recorder | Replayer | None:
        """The run's recorder or replayer (made once), told the fields so it names their secrets
        (``{{password}}``)."""
        options = self.options
        if self.network is not None or (options.record is None and options.replay is None):
            return self.network
        if options.record is not None and options.replay is not None:
            raise ValueError(
                "--record and --replay cannot be used together: record from the live site, or replay a recording"
            )
        from browserkonnector.browser import Recorder, Replayer

        fields = {k: v for k, v in self.fields.items() if k != "folderPath"}  # the runtime's, not a field
        blocked = self.konnector.block_resources
        if options.replay is not None:
            report = bundle_dir_for(options.artifacts_dir, self.konnector.slug, "replay").with_suffix(".json")
            self.network = Replayer(
                options.replay, self.redactor, fields=fields, block_resources=blocked, report_path=report
            )
        else:
            assert options.record is not None
            self.network = Recorder(
                options.record,
                self.redactor,
                fields=fields,
                block_resources=blocked,
                connector={"slug": self.konnector.slug, "version": self.konnector.version},
                secret_storage_keys=self.konnector.secret_storage_keys,
            )
        return self.network

    async def _finish_network(self, error: str | None) -> None:
        """Write the recording (a failed run's too, marked failed), or report what the replay served."""
        if self.network is None:
            return
        try:
            await self.network.finish(failed=error is not None, error=error)
        except Exception as exc:  # never lose the run's own outcome to its recording
            log.error("--record/--replay: finishing failed: {}", self.redactor.redact(str(exc)))

    async def _close_context(self) -> None:
        if self.context is not None:
            try:
                await self.context.close()
            except Exception as exc:  # a crashed browser: nothing more to save
                log.debug("closing the context: {}", exc)

    async def _register_late_secrets(self) -> None:
        """Cookie values and storage values marked secret, read now so scrubbing covers them."""
        if self.context is None:
            return
        from browserkonnector.browser import register_cookie_secrets, register_storage_secrets

        try:
            if self.watch is not None:
                await self.watch.settle()
            await register_cookie_secrets(self.context, self.redactor)
            if self.page is not None and self.konnector.secret_storage_keys and not self.page.is_closed():
                for storage in ("sessionStorage", "localStorage"):
                    await register_storage_secrets(
                        self.page, list(self.konnector.secret_storage_keys), self.redactor, storage=storage
                    )
        except Exception as exc:
            log.debug("reading cookies/storage for scrubbing: {}", exc)

    async def succeed(self) -> Path | None:
        """Stop tracing; keep the trace only with ``--trace on``."""
        if self.options.trace == "on" or self.network is not None:  # something is kept: scrub it of these too
            await self._register_late_secrets()
        await self._finish_network(None)
        if self.tracer is None:
            return None
        keep = self.options.trace == "on"
        path = bundle_dir_for(self.options.artifacts_dir, self.konnector.slug, "trace").with_suffix(".zip")
        if keep:
            path.parent.mkdir(parents=True, exist_ok=True)
        return await self.tracer.stop(failed=False, path=path)

    async def fail(
        self, failure: Failure, exc: BaseException, change: SiteChange | None, metadata: dict[str, Any], run_log: RunLog
    ) -> Path:
        """Collect the live part of the failure bundle (page, trace), pause if asked; returns its folder."""
        await self._register_late_secrets()
        await self._finish_network(failure.code)
        bundle = Bundle(bundle_dir_for(self.options.artifacts_dir, self.konnector.slug, failure.code), self.redactor)
        self._bundle, self._run_log = bundle, run_log
        await bundle.collect_page(self.page)
        await bundle.collect_trace(self.tracer)
        bundle.collect_page_log(self.page_log)
        import traceback

        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        bundle.write_error(
            failure.code, MEANINGS.get(failure.code, MEANINGS.get(failure.code.split(".")[0], "")), failure.detail, tb
        )
        if change is not None:
            bundle.write_text("site-change.txt", change.report() + "\n")
        extra: dict[str, Any] = {"error": {"code": failure.code, "detail": failure.detail}}
        if self.session is not None:
            extra["chromium"] = {"version": self.session.version, "executable": str(self.session.executable)}
        if self.page is not None and not self.page.is_closed():
            extra["page_url"] = self.page.url.split("?")[0]
        bundle.write_metadata({**metadata, **extra})
        await self._pause_if_asked()
        return bundle.directory

    async def _pause_if_asked(self) -> None:
        if not self.options.pause_on_failure:
            return
        if not self.options.headed:
            log.warning("--pause-on-failure needs --headed: not pausing")
            return
        log.warning("paused on the failing page: press Enter to close the browser")
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    def cleanup(self) -> None:
        """Remove the run's temporary files (call last)."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def finish_bundle(self) -> Path | None:
        """After the context closed (the HAR is written then): add the HAR and the log, zip, check."""
        if self._bundle is None:
            return None
        self._bundle.collect_har(self.har_path)
        if self._run_log is not None:
            self._bundle.write_text("run.log", self._run_log.text())
        return self._bundle.finish()
