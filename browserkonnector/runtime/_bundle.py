"""The failure bundle: one folder (and a zip of it) that explains a failed run without re-running it.

Nobody in the field keeps a complete record of a *real* failed run (tools keep traces of test runs, not of production
runs): Playwright does it for tests only, crawlee keeps one screenshot per error group. A bundle holds:

==================  =====================================================================================
``trace.zip``       the Playwright trace (screenshots + DOM snapshots): ``browserkonnector show-trace``
``screenshot.png``  the page when the run failed (full page)
``page.html``       its DOM at that moment
``console.jsonl``   console messages, page errors, failed requests and HTTP errors, in order
``network.har``     the network log (without bodies)
``run.log``         every log line of the run (JSON lines)
``error.txt``       the error code, its meaning, the detail and the traceback
``site-change.txt`` what changed on the vendor's site, when that is why the run failed
``metadata.json``   connector, framework, Playwright and Chromium versions, options, timings
==================  =====================================================================================

Every file is scrubbed of the run's secrets (typed values, login bodies, cookies, ``Authorization``
headers, tokens in URLs, storage values marked secret) and the finished bundle — zip included — is
scanned for them once more before its path is printed; a hit is scrubbed again and reported.
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import time
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from browserkonnector._redact import Redactor

if TYPE_CHECKING:
    from playwright.async_api import Page

    from browserkonnector.browser import PageLog, Tracer
    from browserkonnector.browser.instrument._scrub import Finding

__all__ = ["Bundle", "bundle_dir_for"]

log = logger.bind(namespace="bundle")
README = """This folder explains a failed browserkonnector run. Start with error.txt, then:
  browserkonnector show-trace {trace}      (the Playwright trace: every action, DOM snapshots, network)
screenshot.png and page.html show the page when the run failed; console.jsonl the page's console and
network errors; run.log every log line; metadata.json the versions and options. Secrets were scrubbed.
"""


def bundle_dir_for(artifacts_dir: Path, slug: str, code: str) -> Path:
    """A new folder ``<artifacts>/<slug>-<UTC time>-<code>`` (suffixed if it exists), every part a slug
    (letters, digits, ``_`` and ``-``): ``demo-vendor-20240101T120000Z-UNKNOWN_ERROR_TIMEOUT``."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = artifacts_dir / f"{_slug(slug)}-{stamp}-{_slug(code)}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[:80] or "run"


@dataclass
class Bundle:
    """Collects a failed run's evidence into ``directory``; :meth:`finish` zips and checks it."""

    directory: Path
    redactor: Redactor
    written: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    def write_text(self, name: str, text: str) -> Path:
        path = self.directory / name
        path.write_text(self.redactor.redact(text), encoding="utf-8")
        self.written.append(name)
        return path

    async def collect_page(self, page: Page | None) -> None:
        """The failing page's screenshot and DOM, while the browser is still alive."""
        if page is None or page.is_closed():
            return
        try:
            await page.screenshot(path=str(self.directory / "screenshot.png"), full_page=True, timeout=10_000)
            self.written.append("screenshot.png")
        except Exception as exc:  # a crashed page must not hide the real failure
            log.debug("no screenshot: {}", exc)
        try:
            self.write_text("page.html", await page.content())
        except Exception as exc:
            log.debug("no page HTML: {}", exc)

    async def collect_trace(self, tracer: Tracer | None) -> None:
        if tracer is None:
            return
        try:
            kept = await tracer.stop(failed=True, path=self.directory / "trace.zip")
            if kept is not None:
                self.written.append("trace.zip")
        except Exception as exc:
            log.debug("no trace: {}", exc)

    def collect_page_log(self, page_log: PageLog | None) -> None:
        if page_log is None:
            return
        lines = [json.dumps(entry, ensure_ascii=False) for entry in page_log.entries()]
        self.write_text("console.jsonl", "\n".join(lines) + ("\n" if lines else ""))

    def collect_har(self, har_path: Path | None) -> None:
        """Copy the HAR Playwright wrote at context close, scrubbed (headers, cookies, bodies, query)."""
        if har_path is None or not har_path.is_file():
            return
        from browserkonnector.browser import scrub_har

        target = self.directory / "network.har"
        shutil.copyfile(har_path, target)
        scrub_har(target, self.redactor)
        self.written.append("network.har")

    def write_error(self, code: str, meaning: str, detail: str, traceback_text: str | None) -> None:
        text = f"{code}\n\nmeaning: {meaning}\ndetail:  {detail}\n"
        if traceback_text:
            text += "\n" + traceback_text
        self.write_text("error.txt", text)

    def write_metadata(self, metadata: dict[str, Any]) -> None:
        base = {
            "framework": _version("browserkonnector"),
            "playwright": _version("playwright"),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        self.write_text("metadata.json", json.dumps({**base, **metadata}, indent=2, ensure_ascii=False, default=str))

    def finish(self) -> Path:
        """Write the README, scan and zip; returns the folder (the zip sits beside it)."""
        trace = self.directory / "trace.zip"
        self.write_text("README.txt", README.format(trace=trace))
        self._scan_and_scrub()
        archive = self.directory.with_suffix(".zip")
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(self.directory.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(self.directory.parent))
        return self.directory

    def _scan_and_scrub(self) -> None:
        from browserkonnector.browser import find_secrets, scrub_file, scrub_zip

        findings = find_secrets(self.directory, self.redactor)
        if not findings:
            return
        log.warning(
            "scrubbing {} more secret occurrence(s) in the bundle: {}",
            len(findings),
            describe_findings(findings, self.directory),
        )
        for path in {Path(str(f.path).split("!")[0]) for f in findings}:
            (scrub_zip if path.suffix == ".zip" else scrub_file)(path, self.redactor)


def describe_findings(findings: Sequence[Finding], root: Path) -> str:
    """Where secrets were found, per file (``trace.zip!resources/x.json (2), page.html (1)``): the forms
    and values are never named, the files are, so that the leak that needed scrubbing can be traced."""
    counts = Counter(
        str(Path(str(f.path).split("!")[0]).resolve().relative_to(root.resolve()))
        + ("!" + str(f.path).split("!", 1)[1] if "!" in str(f.path) else "")
        for f in findings
    )
    return ", ".join(f"{where} ({n})" for where, n in sorted(counts.items()))


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"
