"""The browser layer: what a connector touches instead of raw Playwright plumbing.

- :class:`BrowserSession` / :class:`BrowserOptions` — Chromium launched from the system (or connected),
  contexts with blocking, timeouts, locale and downloads applied (:mod:`.session`, :mod:`.blocking`);
- :func:`capture_json` / :func:`wait_for_json` — the site's own API answers (:mod:`.capture`);
- :func:`get_file` and friends — a file however it arrives, as a ``Fetched`` (:mod:`.files`);
- :func:`session_http` / :func:`fetch_file` — HTTP sharing the browser's cookies (:mod:`.http`);
- :class:`PdfPrinter`, :func:`html_to_pdf`, :func:`cozy_pdf_document` — print-to-PDF (:mod:`.pdf`);
- :func:`act_and_wait` — act, then the first of an API answer, a navigation, a new element (:mod:`.waits`);
- :func:`form_login` — a scoped form login mapped to ``LOGIN_FAILED``/``VENDOR_DOWN`` (:mod:`.forms`);
- :func:`page_html`, :func:`get_html`, :class:`SessionLost` — server-rendered pages as selectors (:mod:`.html`);
- :func:`fill_secret` and the ``register_*_secrets`` helpers (:mod:`.secrets`);
- :class:`Tracer`, the scrubbers and :func:`find_secrets` (:mod:`.tracing`, :mod:`.scrub`);
- :class:`PageLog` — console, page errors and failing requests (:mod:`.observe`);
- :class:`Recorder` / :class:`Replayer` — record a run's network, replay it offline with tolerant matching
  (:mod:`.record`, :mod:`.replay`, :mod:`.recording`, :mod:`.matching`).

Names are imported on first use (PEP 562): a run that never records, replays or scrubs a bundle does not
pay for importing those modules, and ``browserkonnector run`` can start Playwright's driver before
importing the rest of this layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from browserkonnector._lazy import lazy_exports

if TYPE_CHECKING:
    from browserkonnector.browser.blocking import DEFAULT_BLOCKED, NEVER_BLOCKED, install_blocking
    from browserkonnector.browser.capture import (
        CapturedResponse,
        CaptureMode,
        JsonCapture,
        UrlPattern,
        capture_json,
        read_body,
        read_json,
        wait_for_json,
    )
    from browserkonnector.browser.discovery import LAUNCH_ARGS, ChromiumNotFound, find_chromium
    from browserkonnector.browser.files import Trigger, download, fetch_blob, fetch_inline, get_file
    from browserkonnector.browser.forms import form_login
    from browserkonnector.browser.html import SessionLost, get_html, landed_on, page_html
    from browserkonnector.browser.http import (
        CookieSync,
        cookie_sync_of,
        fetch_file,
        filename_from_disposition,
        session_http,
    )
    from browserkonnector.browser.matching import Matcher, MatchRules
    from browserkonnector.browser.observe import PageEvent, PageLog
    from browserkonnector.browser.pdf import PdfPrinter, cozy_pdf_document, html_to_pdf, printer_for
    from browserkonnector.browser.record import Recorder
    from browserkonnector.browser.recording import Exchange, Recording, RecordingError
    from browserkonnector.browser.recording_diff import RecordingDiff, diff_recordings
    from browserkonnector.browser.replay import REPLAY_MISS, Replayer, ReplayMiss
    from browserkonnector.browser.scrub import Finding, find_secrets, scrub_bytes, scrub_file, scrub_har, scrub_zip
    from browserkonnector.browser.secrets import (
        fill_secret,
        register_cookie_secrets,
        register_storage_secrets,
    )
    from browserkonnector.browser.session import BrowserOptions, BrowserSession, HeadedWithoutDisplay
    from browserkonnector.browser.tracing import TraceMode, Tracer
    from browserkonnector.browser.waits import Action, NothingHappened, Waited, WaitKind, act_and_wait

_EXPORTS: dict[str, str] = {  # name -> the submodule defining it
    "DEFAULT_BLOCKED": ".blocking",
    "NEVER_BLOCKED": ".blocking",
    "install_blocking": ".blocking",
    "CaptureMode": ".capture",
    "CapturedResponse": ".capture",
    "JsonCapture": ".capture",
    "UrlPattern": ".capture",
    "capture_json": ".capture",
    "wait_for_json": ".capture",
    "read_body": ".capture",
    "read_json": ".capture",
    "ChromiumNotFound": ".discovery",
    "LAUNCH_ARGS": ".discovery",
    "find_chromium": ".discovery",
    "Trigger": ".files",
    "download": ".files",
    "fetch_blob": ".files",
    "fetch_inline": ".files",
    "get_file": ".files",
    "form_login": ".forms",
    "SessionLost": ".html",
    "get_html": ".html",
    "landed_on": ".html",
    "page_html": ".html",
    "CookieSync": ".http",
    "cookie_sync_of": ".http",
    "fetch_file": ".http",
    "filename_from_disposition": ".http",
    "session_http": ".http",
    "MatchRules": ".matching",
    "Matcher": ".matching",
    "PageEvent": ".observe",
    "PageLog": ".observe",
    "PdfPrinter": ".pdf",
    "cozy_pdf_document": ".pdf",
    "html_to_pdf": ".pdf",
    "printer_for": ".pdf",
    "Recorder": ".record",
    "Exchange": ".recording",
    "Recording": ".recording",
    "RecordingError": ".recording",
    "RecordingDiff": ".recording_diff",
    "diff_recordings": ".recording_diff",
    "REPLAY_MISS": ".replay",
    "ReplayMiss": ".replay",
    "Replayer": ".replay",
    "Finding": ".scrub",
    "find_secrets": ".scrub",
    "scrub_bytes": ".scrub",
    "scrub_file": ".scrub",
    "scrub_har": ".scrub",
    "scrub_zip": ".scrub",
    "fill_secret": ".secrets",
    "register_cookie_secrets": ".secrets",
    "register_storage_secrets": ".secrets",
    "BrowserOptions": ".session",
    "BrowserSession": ".session",
    "HeadedWithoutDisplay": ".session",
    "TraceMode": ".tracing",
    "Tracer": ".tracing",
    "Action": ".waits",
    "NothingHappened": ".waits",
    "WaitKind": ".waits",
    "Waited": ".waits",
    "act_and_wait": ".waits",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "DEFAULT_BLOCKED",
    "LAUNCH_ARGS",
    "NEVER_BLOCKED",
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
