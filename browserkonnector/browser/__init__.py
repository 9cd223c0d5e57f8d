"""The browser layer: what a connector touches instead of raw Playwright plumbing. This ``__init__`` is
its contract; the modules behind it are private, in three rooms (see docs/architecture.md):

**The core** (modules of this package): :class:`BrowserSession` / :class:`BrowserOptions` — Chromium
launched from the system (or connected), contexts with blocking, timeouts, locale and downloads applied;
the network owner of each context; :func:`fill_secret` and the ``register_*_secrets`` helpers.

**The connector toolkit** (:mod:`.toolkit`):

- :func:`capture_json` / :func:`wait_for_json` — the site's own API answers;
- :func:`get_file` and friends — a file however it arrives, as a ``Fetched``;
- :func:`session_http` / :func:`fetch_file` — HTTP sharing the browser's cookies;
- :class:`PdfPrinter`, :func:`html_to_pdf`, :func:`cozy_pdf_document` — print-to-PDF;
- :func:`act_and_wait` — act, then the first of an API answer, a navigation, a new element;
- :func:`form_login` — a scoped form login mapped to ``LOGIN_FAILED``/``VENDOR_DOWN``;
- :func:`page_html`, :func:`get_html`, :class:`SessionLost` — server-rendered pages as selectors.

**The run's instrumentation** (:mod:`.instrument`): :class:`Tracer`, the scrubbers and
:func:`find_secrets`; :class:`PageLog` — console, page errors and failing requests; :class:`Recorder` /
:class:`Replayer` — record a run's network, replay it offline with tolerant matching.

Names are imported on first use (PEP 562): a run that never records, replays or scrubs a bundle does not
pay for importing those modules, and ``browserkonnector run`` can start Playwright's driver before
importing the rest of this layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from browserkonnector._lazy import lazy_exports

if TYPE_CHECKING:
    from browserkonnector.browser._blocking import DEFAULT_BLOCKED, NEVER_BLOCKED, install_blocking
    from browserkonnector.browser._discovery import LAUNCH_ARGS, ChromiumNotFound, find_chromium
    from browserkonnector.browser._secrets import (
        fill_secret,
        register_cookie_secrets,
        register_storage_secrets,
    )
    from browserkonnector.browser._session import BrowserOptions, BrowserSession, HeadedWithoutDisplay
    from browserkonnector.browser.instrument._matching import Matcher, MatchRules
    from browserkonnector.browser.instrument._observe import PageEvent, PageLog
    from browserkonnector.browser.instrument._record import Recorder
    from browserkonnector.browser.instrument._recording import DIFF_NAME, Exchange, Recording, RecordingError
    from browserkonnector.browser.instrument._recording_diff import RecordingDiff, diff_recordings
    from browserkonnector.browser.instrument._replay import REPLAY_MISS, Replayer, ReplayMiss
    from browserkonnector.browser.instrument._scrub import (
        Finding,
        find_secrets,
        scrub_bytes,
        scrub_file,
        scrub_har,
        scrub_zip,
    )
    from browserkonnector.browser.instrument._tracing import TraceMode, Tracer
    from browserkonnector.browser.toolkit._capture import (
        CapturedResponse,
        CaptureMode,
        JsonCapture,
        UrlPattern,
        capture_json,
        read_body,
        read_json,
        wait_for_json,
    )
    from browserkonnector.browser.toolkit._files import Trigger, download, fetch_blob, fetch_inline, get_file
    from browserkonnector.browser.toolkit._forms import form_login
    from browserkonnector.browser.toolkit._html import SessionLost, get_html, landed_on, page_html
    from browserkonnector.browser.toolkit._http import (
        CookieSync,
        cookie_sync_of,
        fetch_file,
        filename_from_disposition,
        session_http,
    )
    from browserkonnector.browser.toolkit._pdf import (
        PDF_OPTIONS,
        PdfPrinter,
        cozy_pdf_document,
        html_to_pdf,
        printer_for,
    )
    from browserkonnector.browser.toolkit._waits import Action, NothingHappened, Waited, WaitKind, act_and_wait

_EXPORTS: dict[str, str] = {  # name -> the submodule defining it
    "DEFAULT_BLOCKED": "._blocking",
    "NEVER_BLOCKED": "._blocking",
    "install_blocking": "._blocking",
    "CaptureMode": ".toolkit._capture",
    "CapturedResponse": ".toolkit._capture",
    "JsonCapture": ".toolkit._capture",
    "UrlPattern": ".toolkit._capture",
    "capture_json": ".toolkit._capture",
    "wait_for_json": ".toolkit._capture",
    "read_body": ".toolkit._capture",
    "read_json": ".toolkit._capture",
    "ChromiumNotFound": "._discovery",
    "LAUNCH_ARGS": "._discovery",
    "find_chromium": "._discovery",
    "Trigger": ".toolkit._files",
    "download": ".toolkit._files",
    "fetch_blob": ".toolkit._files",
    "fetch_inline": ".toolkit._files",
    "get_file": ".toolkit._files",
    "form_login": ".toolkit._forms",
    "SessionLost": ".toolkit._html",
    "get_html": ".toolkit._html",
    "landed_on": ".toolkit._html",
    "page_html": ".toolkit._html",
    "CookieSync": ".toolkit._http",
    "cookie_sync_of": ".toolkit._http",
    "fetch_file": ".toolkit._http",
    "filename_from_disposition": ".toolkit._http",
    "session_http": ".toolkit._http",
    "MatchRules": ".instrument._matching",
    "Matcher": ".instrument._matching",
    "PageEvent": ".instrument._observe",
    "PageLog": ".instrument._observe",
    "PdfPrinter": ".toolkit._pdf",
    "cozy_pdf_document": ".toolkit._pdf",
    "html_to_pdf": ".toolkit._pdf",
    "printer_for": ".toolkit._pdf",
    "Recorder": ".instrument._record",
    "Exchange": ".instrument._recording",
    "Recording": ".instrument._recording",
    "RecordingError": ".instrument._recording",
    "RecordingDiff": ".instrument._recording_diff",
    "diff_recordings": ".instrument._recording_diff",
    "REPLAY_MISS": ".instrument._replay",
    "PDF_OPTIONS": ".toolkit._pdf",
    "DIFF_NAME": ".instrument._recording",
    "ReplayMiss": ".instrument._replay",
    "Replayer": ".instrument._replay",
    "Finding": ".instrument._scrub",
    "find_secrets": ".instrument._scrub",
    "scrub_bytes": ".instrument._scrub",
    "scrub_file": ".instrument._scrub",
    "scrub_har": ".instrument._scrub",
    "scrub_zip": ".instrument._scrub",
    "fill_secret": "._secrets",
    "register_cookie_secrets": "._secrets",
    "register_storage_secrets": "._secrets",
    "BrowserOptions": "._session",
    "BrowserSession": "._session",
    "HeadedWithoutDisplay": "._session",
    "TraceMode": ".instrument._tracing",
    "Tracer": ".instrument._tracing",
    "Action": ".toolkit._waits",
    "NothingHappened": ".toolkit._waits",
    "WaitKind": ".toolkit._waits",
    "Waited": ".toolkit._waits",
    "act_and_wait": ".toolkit._waits",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "DEFAULT_BLOCKED",
    "DIFF_NAME",
    "LAUNCH_ARGS",
    "NEVER_BLOCKED",
    "PDF_OPTIONS",
    "REPLAY_MISS",
    "Action",
    "BrowserOptions",
    "BrowserSession",
    "CaptureMode",
    "CapturedResponse",
    "ChromiumNotFound",
    "CookieSync",
    "Exchange",
    "Finding",
    "HeadedWithoutDisplay",
    "JsonCapture",
    "MatchRules",
    "Matcher",
    "NothingHappened",
    "PageEvent",
    "PageLog",
    "PdfPrinter",
    "Recorder",
    "Recording",
    "RecordingDiff",
    "RecordingError",
    "ReplayMiss",
    "Replayer",
    "SessionLost",
    "TraceMode",
    "Tracer",
    "Trigger",
    "UrlPattern",
    "WaitKind",
    "Waited",
    "act_and_wait",
    "capture_json",
    "cookie_sync_of",
    "cozy_pdf_document",
    "diff_recordings",
    "download",
    "fetch_blob",
    "fetch_file",
    "fetch_inline",
    "filename_from_disposition",
    "fill_secret",
    "find_chromium",
    "find_secrets",
    "form_login",
    "get_file",
    "get_html",
    "html_to_pdf",
    "install_blocking",
    "landed_on",
    "page_html",
    "printer_for",
    "read_body",
    "read_json",
    "register_cookie_secrets",
    "register_storage_secrets",
    "scrub_bytes",
    "scrub_file",
    "scrub_har",
    "scrub_zip",
    "session_http",
    "wait_for_json",
]
