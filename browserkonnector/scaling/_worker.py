"""One worker process's side of queued runs: a browser kept across runs, one run at a time.

A task queue's worker process (a Celery prefork child) lives for many tasks. Starting Playwright's
driver and a Chromium costs ~1 s and ~250 MiB per run; :class:`WorkerBrowser` pays it once per process
and keeps it — a Chromium of its own, or a connection to a ``browserkonnector browser-server`` when
``BROWSERKONNECTOR_CONNECT`` is set — while every run still gets a fresh context of its own, closed
whatever happens (see ``runtime.browsing.shared_session``). A browser that went away (the host died, a
crash) is replaced before the next run.

The runs execute on an event loop in a thread of their own: the worker's main thread keeps its signal
handlers (a run installs none off the main thread), and the loop, the driver and the browser outlive
each task.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Coroutine, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from browserkonnector.runtime._options import RunOptions
from browserkonnector.scaling._accounts import account_store, check_account, fields_file_for, is_retryable

__all__ = ["AccountRun", "WorkerBrowser", "worker_browser"]

T = TypeVar("T")


@dataclass
class AccountRun:
    """What one queued run did: the task's result (JSON-safe, no secret in it)."""

    connector: str
    account: str
    ok: bool
    code: str | None
    retryable: bool
    saved: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    started: float = 0.0  # wall clock (time.time()), to see runs' overlap
    ended: float = 0.0
    pid: int = 0
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class WorkerBrowser:
    """The process's event loop thread and its kept browser session."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bk-runs", daemon=True)
        self._thread.start()
        self._session: Any = None  # browser.session.BrowserSession
        self._connectors: dict[str, Any] = {}
        self.browsers_started = 0

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _session_alive(self) -> Any:
        from browserkonnector.browser._session import BrowserOptions, BrowserSession

        session = self._session
        if session is not None and (session.lost or not session.browser.is_connected()):
            await session.close()
            session = self._session = None
        if session is None:
            options = BrowserOptions(
                connect=self.environ.get("BROWSERKONNECTOR_CONNECT") or None,
                offline_dns=self.environ.get("BROWSERKONNECTOR_OFFLINE_DNS") == "1",
            )
            session = self._session = await BrowserSession(options).start()
            self.browsers_started += 1
        return session

    def run(self, connector: str, account: str, *, timeout: float | None = None) -> AccountRun:
        """One run of ``connector`` for ``account``, fields from the secret source, into its store."""
        return self.call(self._run(connector, check_account(account), timeout))

    async def _run(self, connector: str, account: str, timeout: float | None) -> AccountRun:
        from browserkonnector.runtime._browsing import shared_session
        from browserkonnector.runtime._loader import load_connector

        konnector = self._connectors.get(connector)
        if konnector is None:
            konnector = self._connectors[connector] = await asyncio.to_thread(load_connector, connector)
        started = time.time()
        store = account_store(account, self.environ)
        with fields_file_for(connector, account, self.environ) as fields:
            options = RunOptions(
                fields_file=fields,
                store_dir=store,
                trace="off",
                timeout=timeout,
                artifacts_dir=Path(self.environ.get("BROWSERKONNECTOR_ARTIFACTS_DIR") or "bk-artifacts") / account,
                offline_dns=self.environ.get("BROWSERKONNECTOR_OFFLINE_DNS") == "1",
                progress=False,
                log_mode="json",
                environ=_run_environ(self.environ),
            )
            token = shared_session.set(await self._session_alive()) if konnector.browser else None
            try:
                result = await konnector.execute(options)
            finally:
                if token is not None:
                    shared_session.reset(token)
        stats = result.stats
        saved = {
            name: getattr(stats, name)
            for name in (
                "bills_created",
                "bills_updated",
                "bills_unchanged",
                "files_created",
                "files_replaced",
                "files_kept",
                "files_failed",
            )
        }
        return AccountRun(
            connector,
            account,
            result.ok,
            result.code,
            is_retryable(result.code),
            saved,
            round(result.seconds, 3),
            started,
            time.time(),
            os.getpid(),
            result.detail[:500],
        )

    def close(self) -> None:
        """Close the kept browser and stop the loop (at the process's shutdown)."""

        async def shut() -> None:
            if self._session is not None:
                await self._session.close()
                self._session = None

        if self._loop.is_running():
            try:
                self.call(shut(), timeout=30)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(10)


def _run_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The run's environment: the worker's, without a Cozy job's variables (a queued run is not one)."""
    return {k: v for k, v in environ.items() if not k.startswith("COZY_")}


_worker: WorkerBrowser | None = None
_worker_lock = threading.Lock()


def worker_browser() -> WorkerBrowser:
    """This process's :class:`WorkerBrowser`, created on first use (after a prefork child is forked)."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = WorkerBrowser()
        return _worker


def close_worker_browser() -> None:
    global _worker
    with _worker_lock:
        worker, _worker = _worker, None
    if worker is not None:
        worker.close()
