"""Playwright tracing for a real run, kept when it helps and scrubbed before it is kept.

pytest-playwright's ``--tracing retain-on-failure`` exists for tests only; a connector run wants the
same: record while the run goes, keep the trace when the run fails (or always, with ``on``), drop it
otherwise. What is recorded besides actions, console and network depends on the mode (see
:data:`DEFAULT_TRACE_PARTS`; ``BROWSERKONNECTOR_TRACE_PARTS`` overrides it). A kept trace holds the
run's secrets in many shapes (typed password, ``Set-Cookie``, bearer token, login body), so
:meth:`Tracer.stop` registers the context's cookies with the redactor and passes the zip through
:func:`~browserkonnector.browser.instrument._scrub.scrub_zip` before returning its path. Sources are not recorded:
they would put the connector's code, and whatever literal it holds, into a file meant to be shared.

Dropping costs what Playwright allows: ``tracing.stop()`` without a path discards the chunk in the
driver, nothing is written or sent to Python. The recording itself is paid by every traced run (the
screencast and the snapshots most of all); ``off`` pays nothing.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Literal, get_args

from loguru import logger
from playwright.async_api import BrowserContext
from playwright.async_api import Error as PlaywrightError

from browserkonnector._redact import Redactor
from browserkonnector.browser._secrets import register_cookie_secrets
from browserkonnector.browser.instrument._scrub import scrub_zip

__all__ = ["TRACE_PARTS", "TRACE_PARTS_ENV", "TraceMode", "Tracer", "trace_parts"]

TraceMode = Literal["on", "off", "retain-on-failure"]
#: What a trace may record besides the actions, console and network log: a screencast, DOM snapshots
#: (which also keep the response bodies the page received, to render them).
TRACE_PARTS = ("screenshots", "snapshots")
TRACE_PARTS_ENV = "BROWSERKONNECTOR_TRACE_PARTS"
#: What each mode records by default. ``retain-on-failure`` records neither part: on a heavy app (a 3 MiB
#: boot, 220 requests) the screencast and the snapshots made every successful run 1.2-1.7x slower to
#: keep a trace nobody reads (docs/performance.md, workload 9), while a failure bundle still gets the
#: actions, console and network in the trace, and the final screenshot and DOM in files of its own.
#: ``on`` (asked for a trace) records both.
DEFAULT_TRACE_PARTS: dict[str, frozenset[str]] = {
    "on": frozenset(TRACE_PARTS),
    "retain-on-failure": frozenset(),
    "off": frozenset(),
}


def trace_parts(value: str | None, mode: str = "on") -> frozenset[str]:
    """The parts named by ``BROWSERKONNECTOR_TRACE_PARTS`` (comma-separated, ``none`` for neither);
    unset or empty: the default of ``mode``. An unknown name is an error naming it and the known ones."""
    if value is None or not value.strip():
        return DEFAULT_TRACE_PARTS.get(mode, frozenset(TRACE_PARTS))
    names = {n.strip() for n in value.split(",") if n.strip()}
    if names == {"none"}:
        return frozenset()
    unknown = names - set(TRACE_PARTS)
    if unknown:
        raise ValueError(
            f"{TRACE_PARTS_ENV}={value!r}: unknown part(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(TRACE_PARTS)} (or none)"
        )
    return frozenset(names)


class Tracer:
    """Traces one context according to ``mode``; see the module docstring."""

    def __init__(
        self, context: BrowserContext, mode: TraceMode, redactor: Redactor, parts: frozenset[str] | None = None
    ) -> None:
        if mode not in get_args(TraceMode):
            raise ValueError(f"trace mode={mode!r}: expected one of {', '.join(get_args(TraceMode))}")
        self.parts = parts if parts is not None else DEFAULT_TRACE_PARTS[mode]
        self.context = context
        self.mode: TraceMode = mode
        self.redactor = redactor
        self._recording = False

    @property
    def recording(self) -> bool:
        return self._recording

    async def start(self) -> None:
        """Start recording (the ``parts``, never sources); nothing with ``off``."""
        if self.mode == "off" or self._recording:
            return
        await self.context.tracing.start(
            screenshots="screenshots" in self.parts, snapshots="snapshots" in self.parts, sources=False
        )
        self._recording = True

    async def stop(self, *, failed: bool, path: str | os.PathLike[str]) -> Path | None:
        """Stop recording; keep the scrubbed trace at ``path`` when ``on`` or ``failed``, else discard it.

        Returns the kept trace's path, ``None`` when nothing was kept.
        """
        if not self._recording:
            return None
        self._recording = False
        if not (self.mode == "on" or failed):
            await self.context.tracing.stop()
            return None
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            await register_cookie_secrets(self.context, self.redactor)
        except PlaywrightError as exc:  # a closed context: the trace's own headers still reveal them
            logger.debug("cookies unavailable for scrubbing the trace: {}", exc.message.splitlines()[0])
        await self.context.tracing.stop(path=target)
        await asyncio.to_thread(scrub_zip, target, self.redactor)
        return target
