"""Serving browsers to runs elsewhere: ``browserkonnector browser-server`` (:mod:`.host`).

Above ``browser/`` (it finds the system's Chromium there), below ``cli.py``; nothing here imports the
runtime. See ``docs/scaling.md``.
"""

from __future__ import annotations

from browserkonnector.server.host import BrowserHost, HostOptions, HostStartError

__all__ = ["BrowserHost", "HostOptions", "HostStartError"]
