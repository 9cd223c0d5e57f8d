"""The browser's language and time zone for a run: chosen, never hard-coded.

A vendor's web app renders its labels, amounts and dates in the browser's language, and many honour the
``Accept-Language`` header server-side. A connector whose selectors were written against the English UI
times out on a browser that came up in French, so the choice is explicit and reported. Each setting is
taken from the first of:

1. the run's option (``--locale en-GB``, ``--timezone Europe/Berlin``);
2. the connector's declaration (``Konnector(..., locale="de-DE", timezone="Europe/Berlin")``): what the
   author wrote the selectors and parsers against;
3. the Cozy's language (``COZY_LOCALE``) in job mode (locale only: the stack sends no time zone);
4. the machine's settings (``LC_ALL``, ``LC_MESSAGES``, ``LANG``; ``TZ``, ``/etc/timezone``,
   ``/etc/localtime``).

When none gives a value (a ``C`` locale, say), nothing is forced: Chromium uses its own default (it then
sends no ``Accept-Language`` at all) and so does ``ctx.http``. Whatever the page sends, ``ctx.http``
sends too (see :func:`browserkonnector.browser.session_http`): a site that honours the header must not
answer page 1 in one language (the browser) and page 2 in another (the HTTP client).
"""

from __future__ import annotations

import contextlib
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BrowserLocale",
    "check_locale",
    "check_timezone",
    "machine_locale",
    "machine_timezone",
    "resolve_browser_locale",
]

# A BCP 47 language tag as browsers take it: a 2–3 letter language, then optional script/region/variants.
_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_NO_LANGUAGE = {"C", "POSIX"}


def check_locale(value: str, where: str) -> str:
    """``value`` as a browser locale (``fr_FR.UTF-8`` → ``fr-FR``); ``ValueError`` naming ``where``."""
    tag = value.strip().split(".", 1)[0].split("@", 1)[0].replace("_", "-")
    if not _TAG.match(tag):
        raise ValueError(f"{where}: {value!r} is not a language tag such as 'en', 'en-GB' or 'de-DE'")
    return tag


def check_timezone(value: str, where: str) -> str:
    """``value`` as an IANA time zone name (``Europe/Paris``, ``UTC``); ``ValueError`` naming ``where``."""
    name = value.strip()
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{where}: {value!r} is not an IANA time zone such as 'UTC' or 'Europe/Berlin'") from None
    return name


def machine_locale(environ: Mapping[str, str]) -> str | None:
    """The machine's language from the POSIX variables, in their order of precedence; ``None`` for C."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "").strip()
        if not value:
            continue
        if value.split(".", 1)[0] in _NO_LANGUAGE:
            return None
        try:
            return check_locale(value, name)
        except ValueError:
            return None
    return None


def machine_timezone(environ: Mapping[str, str], etc: Path = Path("/etc")) -> str | None:
    """The machine's time zone: ``TZ``, then ``/etc/timezone``, then where ``/etc/localtime`` points."""
    candidates = [environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError, UnicodeDecodeError):
        candidates.append((etc / "timezone").read_text(encoding="utf-8"))
    try:
        target = str((etc / "localtime").resolve())
        if "/zoneinfo/" in target:
            candidates.append(target.split("/zoneinfo/", 1)[1])
    except OSError:
        pass
    for candidate in candidates:
        if candidate.strip():
            try:
                return check_timezone(candidate, "the machine's time zone")
            except ValueError:
                continue
    return None


@dataclass(frozen=True)
class BrowserLocale:
    """What the run's browser context (and ``ctx.http``) will use, and where each came from."""

    locale: str | None
    locale_from: str
    timezone: str | None
    timezone_from: str

    def describe(self) -> str:
        language = f"{self.locale} (from {self.locale_from})" if self.locale else "Chromium's default"
        zone = f"{self.timezone} (from {self.timezone_from})" if self.timezone else "Chromium's default"
        return f"browser language {language}, time zone {zone}"


def resolve_browser_locale(
    *,
    option_locale: str | None,
    option_timezone: str | None,
    declared_locale: str | None,
    declared_timezone: str | None,
    cozy_locale: str | None,
    environ: Mapping[str, str],
) -> BrowserLocale:
    """Apply the order of the module's docstring. The option and the declaration were checked where they
    were given; a ``COZY_LOCALE`` that is no language tag is skipped (the stack's value is not ours to
    refuse), and so is a machine setting that names none."""
    locale: str | None = None
    locale_from = "nowhere"
    if option_locale:
        locale, locale_from = option_locale, "--locale"
    elif declared_locale:
        locale, locale_from = declared_locale, "the connector"
    else:
        cozy = None
        if cozy_locale:
            try:
                cozy = check_locale(cozy_locale, "COZY_LOCALE")
            except ValueError:
                cozy = None
        if cozy:
            locale, locale_from = cozy, "COZY_LOCALE"
        else:
            locale = machine_locale(environ)
            locale_from = "the machine" if locale else "nowhere"
    timezone: str | None
    if option_timezone:
        timezone, timezone_from = option_timezone, "--timezone"
    elif declared_timezone:
        timezone, timezone_from = declared_timezone, "the connector"
    else:
        timezone = machine_timezone(environ)
        timezone_from = "the machine" if timezone else "nowhere"
    return BrowserLocale(locale, locale_from, timezone, timezone_from)
