"""Playwright tracing for a real run, kept when it helps and scrubbed before it is kept.

pytest-playwright's ``--tracing retain-on-failure`` exists for tests only (anchors §0.2); a connector run
wants the same: record screenshots and DOM snapshots while the run goes, keep the trace when the run
fails (or always, with ``on``), drop it otherwise. A kept trace holds the run's secrets in many shapes
(typed password, ``Set-Cookie``, bearer token, login body), so :meth:`Tracer.stop` registers the
context's cookies with the redactor and passes the zip through :func:`~browserkonnector.browser.scrub.
scrub_zip` before returning its path. Sources are not recorded: they would put the connector's code,
and whatever literal it holds, into a file meant to be shared.

Dropping costs what Playwright allows: ``tracing.stop()`` without a path discards the chunk in the
driver, nothing is written or sent to Python. The recording itself (screencast, snapshots) is paid by
every traced run; ``off`` pays nothing.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Literal, get_args

from loguru import logger
from playwright.async_api import BrowserContext
from playwright.async_api import Error as PlaywrightError

from browserkonnector.browser.scrub import scrub_zip
from browserkonnector.browser.secrets import register_cookie_secrets
from browserkonnector.redact import Redactor

__all__ = ["TRACE_PARTS", "TRACE_PARTS_ENV", "TraceMode", "Tracer", "trace_parts"]

TraceMode = Literal["on", "off", "retain-on-failure"]
#: What a trace may record besides the actions and the network log: a screencast, DOM snapshots (which
#: also keep every response body the page received, to render them).
TRACE_PARTS = ("screenshots", "snapshots")
TRACE_PARTS_ENV = "BROWSERKONNECTOR_TRACE_PARTS"
DEFAULT_TRACE_PARTS = frozenset(TRACE_PARTS)


def trace_parts(value: str | None) -> frozenset[str]:
    """The parts named by ``BROWSERKONNECTOR_TRACE_PARTS`` (comma-separated, ``none`` for neither);
    unset or empty: the default. An unknown name is an error naming it and the known ones."""
    if value is None or not value.strip():
        return DEFAULT_TRACE_PARTS
    names = {n.strip() for n in value.split(",") if n.strip()}
    if names == {"none"}:
        return frozenset()
    unknown = names - set(TRACE_PARTS)
    if unknown:
        raise ValueError(f"{TRACE_PARTS_ENV}={value!r}: unknown part(s) {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(TRACE_PARTS)} (or none)")
    return frozenset(names)


class Tracer:
    """Traces one context according to ``mode``; see the module docstring."""

    def __init__(self, context: BrowserContext, mode: TraceMode, redactor: Redactor,
                 parts: frozenset[str] = DEFAULT_TRACE_PARTS) -> None:
        if mode not in get_args(TraceMode):
            raise ValueError(f"trace mode={mode!r}: expected one of {', '.join(get_args(TraceMode))}")
        self.parts = parts
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
        await self.context.tracing.start(screenshots="screenshots" in self.parts,
                                         snapshots="snapshots" in self.parts, sources=False)
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
