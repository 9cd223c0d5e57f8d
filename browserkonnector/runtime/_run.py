"""One run of a connector, from environment to exit status, as the Cozy stack expects it.

::

    environment ─► log sink ─► store ─► account, folder, fields (validated) ─► browser, context, page,
    tracer, session HTTP ─► RunContext ─► main(ctx) ─► site-change check ─► success: summary, exit 0
                                                               └─► failure: bundle, critical line, exit 1

The last line of a failed run is one ``critical`` line whose message is the error code (as the JS
library ends): the stack records it as the job error. SIGTERM and SIGINT cancel the connector and end the same way
(exit 143 and 130, as the JS library); the time limit (``--timeout`` or ``COZY_TIME_LIMIT`` minus a margin)
too, before the stack would kill the process. ``execute`` never raises for a connector failure: it
returns a :class:`RunResult`.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
import traceback
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from browserkonnector import _errors as errors
from browserkonnector._errors import KonnectorError, UnknownError
from browserkonnector._limits import deadline_scope, run_timeout_from_env
from browserkonnector._redact import Redactor
from browserkonnector.runtime._context import RunContext, RunStats
from browserkonnector.runtime._job import JobEnv
from browserkonnector.runtime._locale import resolve_browser_locale
from browserkonnector.runtime._log import RunLog, critical, install, pick_mode
from browserkonnector.runtime._options import RunOptions
from browserkonnector.runtime._outcome import Failure, classify
from browserkonnector.runtime._prepare import Prepared, open_store, prepare
from browserkonnector.runtime._progress import Progress
from browserkonnector.runtime._sitechange import FINGERPRINT_KEY, ShapeRecorder, SiteChange
from browserkonnector.runtime._streams import redacted_std_streams

if TYPE_CHECKING:
    from browserkonnector.runtime._account_session import RunSession
    from browserkonnector.runtime._konnector import Konnector

__all__ = ["RunResult", "deadline_for", "execute"]

log = logger.bind(namespace="Konnector")
SIGNAL_EXIT = {"SIGTERM": 143, "SIGINT": 130}


@dataclass
class RunResult:
    """How a run ended. ``exit_status`` is what the process should exit with."""

    ok: bool
    code: str | None
    exit_status: int
    stats: RunStats
    seconds: float
    bundle: Path | None = None
    trace: Path | None = None
    site_change: SiteChange | None = None
    store: str = ""
    detail: str = ""


class SiteChanged(UnknownError):
    def __init__(self, change: SiteChange) -> None:
        super().__init__(errors.SITE_CHANGED, change.report())
        self.change = change


def deadline_for(options: RunOptions, job: JobEnv) -> float | None:
    """Seconds the connector may run: ``--timeout`` (``0``: no limit), else the stack's limit minus a
    margin to end cleanly, else ``BROWSERKONNECTOR_TIMEOUT`` or the default of :mod:`browserkonnector._limits`
    (a run outside a job must end too: a vendor that never answers would otherwise hold it forever)."""
    if options.timeout is not None:
        return options.timeout or None
    if job.time_limit:
        margin = min(max(job.time_limit * 0.05, 10.0), 60.0)
        return max(job.time_limit - margin, job.time_limit * 0.5)
    return run_timeout_from_env(options.environ)


async def execute(konnector: Konnector[Any], options: RunOptions, *, driver: Awaitable[Any] | None = None) -> RunResult:
    """The whole run. ``driver``: a Playwright driver already starting, which the run takes over (and
    stops, whatever happens)."""
    redactor = Redactor()
    with redacted_std_streams(redactor):  # a print() or a stray traceback is scrubbed too
        return await _execute(konnector, options, redactor, driver)


async def _execute(
    konnector: Konnector[Any], options: RunOptions, redactor: Redactor, driver: Awaitable[Any] | None
) -> RunResult:
    started = time.monotonic()
    early: KonnectorError | None = None
    try:
        job = JobEnv.from_environ(options.environ)
    except KonnectorError as exc:
        job, early = JobEnv(), exc
    mode = pick_mode(options.log_mode, job=job.is_job or "COZY_FIELDS" in options.environ)
    install(mode, redactor, level=options.log_level)
    run_log = RunLog(redactor)
    progress = Progress(live=mode == "human" and sys.stderr.isatty(), enabled=options.progress)
    runner = _Runner(konnector, options, job, redactor, run_log, progress)
    runner.driver = driver
    try:
        if early is not None:
            failure = classify(early)
            critical(failure.code, no_retry=failure.no_retry)
            return RunResult(
                False, failure.code, 1, RunStats(), time.monotonic() - started, detail=redactor.redact(failure.detail)
            )
        return await runner.go(started)
    finally:
        run_log.close()
        if runner.driver is not None:  # not taken over (the run ended before the browser)
            from browserkonnector.browser._session import stop_driver

            await stop_driver(runner.driver)


class _Runner:
    """The state of one run; :meth:`go` is the whole lifecycle."""

    def __init__(
        self,
        konnector: Konnector[Any],
        options: RunOptions,
        job: JobEnv,
        redactor: Redactor,
        run_log: RunLog,
        progress: Progress,
    ) -> None:
        self.konnector, self.options, self.job = konnector, options, job
        self.redactor, self.run_log, self.progress = redactor, run_log, progress
        self.signal_name: str | None = None
        self.main_task: asyncio.Task[None] | None = None
        self.outer_task: asyncio.Task[Any] | None = None
        self.browser: Any = None  # runtime.browsing.Browsing, when the connector uses a browser
        self.store_description = ""
        self.ctx: RunContext[Any] | None = None
        self.driver: Awaitable[Any] | None = None

    # -- signals ------------------------------------------------------------------------------------------
    def _on_signal(self, name: str) -> None:
        if self.signal_name is not None:
            return
        self.signal_name = name
        log.warning("got {}: stopping", name)
        target = self.main_task if self.main_task and not self.main_task.done() else self.outer_task
        if target is not None:
            target.cancel()

    def _install_signals(self) -> list[signal.Signals]:
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self._on_signal, sig.name)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
                pass
        return installed

    # -- lifecycle ----------------------------------------------------------------------------------------
    async def go(self, started: float) -> RunResult:
        self.outer_task = asyncio.current_task()
        installed = self._install_signals()
        try:
            return await self._go(started)
        except asyncio.CancelledError:
            if self.signal_name is None or self.outer_task is None:
                raise
            self.outer_task.uncancel()
            return self._end(self._signal_failure(), started, None, None)
        finally:
            if self.browser is not None:
                self.browser.cleanup()
            loop = asyncio.get_running_loop()
            for sig in installed:
                loop.remove_signal_handler(sig)

    def _signal_failure(self) -> Failure:
        return Failure(errors.STOPPED, f"The konnector got a {self.signal_name}: stopped cleanly")

    async def _go(self, started: float) -> RunResult:
        konnector, options = self.konnector, self.options
        bundle_path: Path | None = None
        trace_path: Path | None = None
        change: SiteChange | None = None
        async with AsyncExitStack() as stack:
            try:
                store = await open_store(konnector, options, self.job, self.redactor)
                stack.push_async_callback(store.close)
                self.store_description = store.describe()
                prepared = await prepare(konnector, options, self.job, store, self.redactor)
            except BaseException as exc:  # before the browser: no bundle, just the code
                if isinstance(exc, asyncio.CancelledError) and self.signal_name:
                    raise
                failure = classify(exc)
                self._log_failure(failure, exc)
                return self._end(failure, started, None, None)
            log.info(
                "{} {} → {} (folder {})",
                konnector.slug,
                konnector.version,
                self.store_description,
                prepared.folder_path,
            )
            shapes = ShapeRecorder(prepared.account.data.get(FINGERPRINT_KEY))
            from browserkonnector.runtime._browsing import Browsing

            browsing = Browsing(
                konnector,
                options,
                self.redactor,
                driver=self.driver,
                locale=resolve_browser_locale(
                    option_locale=options.locale,
                    option_timezone=options.timezone,
                    declared_locale=konnector.locale,
                    declared_timezone=konnector.timezone,
                    cozy_locale=self.job.locale if self.job.is_job else None,
                    environ=options.environ,
                ),
                fields=prepared.raw_fields,
            )
            self.driver = None  # the browser resources own it now
            self.browser = browsing
            from browserkonnector.runtime._account_session import RunSession

            session = RunSession(konnector, options, self.job, prepared.account, self.redactor)
            try:
                stack.push_async_callback(session.close_profile)  # runs after the browser has closed
                browsing.storage_state = await session.prepare()  # the kept session, if any
                browsing.user_data_dir = session.profile_dir
                await browsing.open(stack)
                ctx = self._context(store, prepared, browsing, shapes)
                await session.attach(ctx)
                await self._run_main(ctx, session)
                browsing.check_not_lost()
                missing = ctx.missing.error()
                if missing is not None:  # everything that could be saved is: still not a success
                    raise missing
                change = shapes.compare()
                if change is not None:
                    raise SiteChanged(change)
            except BaseException as exc:
                if isinstance(exc, asyncio.CancelledError) and not self.signal_name:
                    raise
                failure = self._classify(exc, shapes)
                change = exc.change if isinstance(exc, SiteChanged) else shapes.compare()
                self._log_failure(failure, exc)
                await session.finish(ok=False, code=failure.code)
                bundle_path = await browsing.fail(failure, exc, change, self._metadata(prepared), self.run_log)
                await stack.aclose()  # close the browser now: the HAR is written at context close
                bundle_path = browsing.finish_bundle() or bundle_path
                result = self._end(failure, started, bundle_path, None, change)
                return result
            await session.finish(ok=True)
            trace_path = await browsing.succeed()
            await prepared.account.save_data({FINGERPRINT_KEY: shapes.fingerprint()})
        return self._success(started, trace_path)

    def _context(self, store: Any, prepared: Prepared, browsing: Any, shapes: ShapeRecorder) -> RunContext[Any]:
        from browserkonnector.store._base import AppInfo

        ctx: RunContext[Any] = RunContext(
            fields=prepared.fields,
            parameters=prepared.parameters,
            store=store,
            app=AppInfo(self.konnector.slug, self.konnector.version),
            manifest=self.konnector.manifest,
            account=prepared.account,
            identifier=prepared.identifier,
            folder_path=prepared.folder_path,
            job=self.job,
            redactor=self.redactor,
            http=browsing.http,
            progress=self.progress,
            shapes=shapes,
            page=browsing.page,
            context=browsing.context,
            printer=browsing.printer,
        )
        self.ctx = ctx
        return ctx

    async def _run_main(self, ctx: RunContext[Any], session: RunSession) -> None:
        deadline = deadline_for(self.options, self.job)
        ctx.deadline = None if deadline is None else time.monotonic() + deadline

        async def main() -> None:  # the login (or the logged-in check) counts in the run's time limit
            await session.before_main(ctx)
            await self.konnector.main_fn(ctx)

        with deadline_scope(deadline):  # the task copies the context: every wait inside sees the deadline
            self.main_task = asyncio.create_task(main(), name=f"{self.konnector.slug}.main")
        try:
            if deadline is None:
                await self.main_task
            else:
                try:
                    await asyncio.wait_for(self.main_task, timeout=deadline)
                except TimeoutError:
                    if self.main_task.cancelled():
                        raise KonnectorError(errors.TIMEOUT, f"stopped after {deadline:.0f} s") from None
                    raise
        finally:
            if not self.main_task.done():
                self.main_task.cancel()

    def _classify(self, exc: BaseException, shapes: ShapeRecorder) -> Failure:
        if isinstance(exc, asyncio.CancelledError) and self.signal_name:
            return self._signal_failure()
        failure = classify(exc)
        lost = getattr(getattr(self.browser, "session", None), "lost", False)
        if lost and failure.code != errors.BROWSER_UNAVAILABLE:  # the browser host went away
            return Failure(errors.BROWSER_UNAVAILABLE, f"the browser host went away during the run ({failure.detail})")
        misses = self._replay_misses()
        if misses and failure.code != errors.REPLAY_MISS:  # the connector failed *because* of the miss
            return Failure(
                errors.REPLAY_MISS, misses[0] + f"\n(the connector then failed with {failure.code}: {failure.detail})"
            )
        if failure.code in (errors.UNKNOWN_ERROR, errors.SITE_CHANGED):
            change = shapes.compare()
            if change is not None:  # the crash is explained by the site's change
                return Failure(errors.SITE_CHANGED, change.report() + f"\n(the run then failed with {failure.detail})")
        return failure

    def _replay_misses(self) -> list[str]:
        network = getattr(self.browser, "network", None)
        distinct = getattr(network, "distinct_misses", None)
        return list(distinct()) if callable(distinct) else []

    def _log_failure(self, failure: Failure, exc: BaseException) -> None:
        if not failure.expected or failure.code == errors.UNKNOWN_ERROR:
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            log.debug("{}", self.redactor.redact(text))
        log.error("{} ({})", failure.detail, failure.code)

    def _metadata(self, prepared: Prepared) -> dict[str, Any]:
        options = self.options
        return {
            "connector": {
                "slug": self.konnector.slug,
                "version": self.konnector.version,
                "folder": str(self.konnector.folder),
            },
            "store": self.store_description,
            "folder_path": prepared.folder_path,
            "job": {
                "is_job": self.job.is_job,
                "job_id": self.job.job_id,
                "manual_execution": self.job.manual_execution,
                "time_limit": self.job.time_limit,
            },
            "options": {
                "headed": options.headed,
                "slow_mo": options.slow_mo,
                "trace": options.trace,
                "timeout": options.timeout,
                "connect": bool(options.connect),
                "offline_dns": options.offline_dns,
                "record": str(options.record or ""),
                "replay": str(options.replay or ""),
            },
            "fields": sorted(prepared.raw_fields),  # names only
        }

    # -- endings ------------------------------------------------------------------------------------------
    def _stats(self) -> RunStats:
        return self.ctx.stats if self.ctx is not None else RunStats()

    def _end(
        self,
        failure: Failure,
        started: float,
        bundle: Path | None,
        trace: Path | None,
        change: SiteChange | None = None,
    ) -> RunResult:
        if bundle is not None:
            log.info("failure bundle: {} (and {}.zip)", bundle, bundle.name)
        critical(failure.code, no_retry=failure.no_retry)
        status = SIGNAL_EXIT.get(self.signal_name or "", 1)
        return RunResult(
            False,
            failure.code,
            status,
            self._stats(),
            time.monotonic() - started,
            bundle,
            trace,
            change,
            self.store_description,
            self.redactor.redact(failure.detail),
        )

    def _success(self, started: float, trace: Path | None) -> RunResult:
        seconds = time.monotonic() - started
        stats = self._stats()
        log.info(
            "saved {} new bill(s), updated {}, {} unchanged; files: {} new, {} replaced, {} kept, {} failed; {:.1f} s",
            stats.bills_created,
            stats.bills_updated,
            stats.bills_unchanged,
            stats.files_created,
            stats.files_replaced,
            stats.files_kept,
            stats.files_failed,
            seconds,
        )
        if stats.doctypes:
            log.info("saved documents: {}", stats.documents_summary())
        if trace is not None:
            log.info("trace: {} (open it with: browserkonnector show-trace {})", trace, trace)
        return RunResult(True, None, 0, stats, seconds, None, trace, None, self.store_description)
