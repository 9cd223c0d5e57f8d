"""Find a Chromium to drive: Debian's packages first, never a download.

``playwright install`` cannot reach its CDN on the machines this runs on, so the framework drives the
Chromium of the system. The discovery order (first hit wins):

1. an explicit path (``--chromium PATH`` or the ``executable_path`` argument);
2. the ``BROWSERKONNECTOR_CHROMIUM`` environment variable, then ``CHROMIUM_PATH``;
3. for headless runs, Debian's ``chromium-headless-shell`` (``/usr/lib/chromium/chromium-headless-shell``):
   measured here 4× faster to open a context, 5× faster to print a page and 2.6× lighter than full
   Chromium (see ``docs/performance.md``);
4. full Chromium: ``/usr/lib/chromium/chromium`` (the real binary: ``/usr/bin/chromium`` is a shell
   wrapper), then ``/usr/bin/chromium``, ``chromium-browser`` on the PATH;
5. Playwright's own managed browser, where one was installed.

When nothing is found the error names the Debian packages to install.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["LAUNCH_ARGS", "ChromiumNotFound", "find_chromium"]

HEADLESS_SHELL = Path("/usr/lib/chromium/chromium-headless-shell")
FULL_CHROMIUM = (Path("/usr/lib/chromium/chromium"), Path("/usr/bin/chromium"))
ENV_VARS = ("BROWSERKONNECTOR_CHROMIUM", "CHROMIUM_PATH")

#: Always passed at launch. No DNS except loopback: full Chromium otherwise keeps resolving Google's
#: hosts (about 40 queries in 15 s idle, measured); EXCLUDE 127.0.0.1 keeps IP literals working.
LAUNCH_ARGS: tuple[str, ...] = (
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
    "--disable-background-networking",
    "--disable-component-update",
)
#: The DNS rule breaks real vendor sites; a connector run against the internet drops it.
OFFLINE_ARG_PREFIX = "--host-resolver-rules="

INSTALL_HINT = (
    "apt-get install -y --no-install-recommends chromium chromium-headless-shell "
    "fonts-liberation fonts-dejavu-core   (and xvfb xauth for --headed without a display); "
    "or set BROWSERKONNECTOR_CHROMIUM=/path/to/chromium. Do not run `playwright install`."
)


class ChromiumNotFound(RuntimeError):
    """No usable Chromium binary: the message says what was tried and which packages to install."""


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _playwright_managed(headless: bool) -> Path | None:
    root = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH", Path.home() / ".cache" / "ms-playwright"))
    patterns = ["chromium_headless_shell-*/chrome-*/*headless_shell"] if headless else []
    patterns += ["chromium-*/chrome-linux*/chrome"]
    for pattern in patterns:
        for candidate in sorted(root.glob(pattern), reverse=True):
            if _executable(candidate):
                return candidate
    return None


def find_chromium(*, headless: bool = True, explicit: str | os.PathLike[str] | None = None) -> Path:
    """The Chromium binary to launch, following the order in the module docstring.

    ``headless=False`` skips the headless shell, which cannot open a window.
    """
    tried: list[str] = []
    if explicit:
        path = Path(explicit)
        if _executable(path):
            return path
        raise ChromiumNotFound(f"the Chromium given ({path}) is not an executable file. {INSTALL_HINT}")
    for var in ENV_VARS:
        value = os.environ.get(var)
        if value:
            path = Path(value)
            if _executable(path):
                return path
            raise ChromiumNotFound(f"{var}={value} is not an executable file. {INSTALL_HINT}")
    candidates = ([HEADLESS_SHELL] if headless else []) + list(FULL_CHROMIUM)
    for path in candidates:
        tried.append(str(path))
        if _executable(path):
            return path
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        tried.append(f"{name} on PATH")
        if found:
            return Path(found)
    managed = _playwright_managed(headless)
    if managed:
        return managed
    tried.append("Playwright's managed browsers")
    raise ChromiumNotFound(f"no Chromium found (tried {', '.join(tried)}). Install it: {INSTALL_HINT}")
