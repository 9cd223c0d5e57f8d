"""Serving browsers to runs elsewhere: ``browserkonnector browser-server`` (:class:`BrowserHost`), and
:class:`HostProcess` to start one as a child process (a test's or a bench's).

Above ``browser/`` (it finds the system's Chromium there), below ``cli.py``; nothing here imports the
runtime. See ``docs/scaling.md``. This ``__init__`` is the package's contract; its modules are private.
"""

from __future__ import annotations

from browserkonnector.server._host import BrowserHost, HostOptions, HostStartError
from browserkonnector.server._process import HostProcess

__all__ = ["BrowserHost", "HostOptions", "HostProcess", "HostStartError"]
