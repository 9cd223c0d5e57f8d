"""Open a trace in Playwright's trace viewer, with the system's Chromium.

``playwright show-trace trace.zip`` looks for a Chromium Playwright downloaded and fails here ("No
chromium-based browser found on the system"). Served with ``--host 127.0.0.1 --port 0``
it prints a URL instead; we open that URL in the local Chromium when there is a display, else print it.
The viewer runs in its own process group, because terminating the ``playwright`` wrapper leaves its node
child running.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["TraceViewerError", "resolve_trace", "serve_trace"]

URL_LINE = re.compile(r"(http://127\.0\.0\.1:\d+\S*)")


class TraceViewerError(RuntimeError):
    """No trace at the given path, or the viewer did not start."""


def resolve_trace(path: Path) -> Path:
    """A trace zip from a path: the zip itself, a failure bundle folder, or a bundle's zip."""
    if path.is_dir():
        candidate = path / "trace.zip"
        if candidate.is_file():
            return candidate
        raise TraceViewerError(f"{path} holds no trace.zip (was the run traced? --trace off keeps none)")
    if path.is_file() and path.suffix == ".zip":
        import zipfile

        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
        if any(n.endswith(".trace") for n in names):
            return path
        inner = [n for n in names if n.endswith("/trace.zip")]
        if inner:  # a bundle's zip: extract its trace next to it
            target = path.with_suffix("")
            with zipfile.ZipFile(path) as zf:
                zf.extract(inner[0], target.parent)
            return target.parent / inner[0]
    raise TraceViewerError(f"{path} is not a trace: give a trace.zip or a failure bundle folder")


def serve_trace(trace: Path, *, open_browser: bool | None = None, timeout: float = 30.0) -> int:
    """Serve the viewer on loopback until Ctrl-C; open it in Chromium when a display exists."""
    process = subprocess.Popen(
        [sys.executable, "-m", "playwright", "show-trace", "--host", "127.0.0.1", "--port", "0", str(trace)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url = None
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline and process.poll() is None:
        line = process.stdout.readline()
        match = URL_LINE.search(line)
        if match:
            url = match.group(1)
            break
    if url is None:
        _kill(process)
        raise TraceViewerError("the Playwright trace viewer did not start")
    print(f"Trace viewer: {url}", flush=True)
    browser = None
    if open_browser if open_browser is not None else bool(os.environ.get("DISPLAY")):
        from browserkonnector.browser._discovery import find_chromium

        browser = subprocess.Popen(
            [str(find_chromium(headless=False)), "--no-first-run", f"--app={url}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    else:
        print("No display: open the URL above in a browser (it serves on loopback only).", flush=True)
    # The viewer runs in a session of its own (so Ctrl-C reaches us, not it): a SIGTERM or SIGHUP of this
    # command must stop it too, not leave it serving on its port.
    previous = _stop_on((signal.SIGTERM, signal.SIGHUP))
    try:
        process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        _kill(process)
        if browser is not None:
            _kill(browser)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _stop_on(signals: tuple[signal.Signals, ...]) -> dict[signal.Signals, Any]:
    """Make ``signals`` interrupt the wait like Ctrl-C does; returns the handlers to restore."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in signals:
            previous[sig] = signal.signal(sig, interrupt)
    return previous


def _kill(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
