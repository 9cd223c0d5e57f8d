"""Type secrets into the page, and tell the redactor about every secret the browser holds.

A value is scrubbed from logs, traces and bundles only if the run's :class:`~browserkonnector._redact.
Redactor` knows it, so registration comes *first*: :func:`fill_secret` registers the password before
the keystrokes exist (Playwright's trace records the ``fill`` value and the DOM snapshot's
``__playwright_value_``). Secrets the site creates itself are registered as they appear: the session
cookies (:func:`register_cookie_secrets`), and tokens a single-page app keeps in web storage
(:func:`register_storage_secrets`), which no cookie-based tool sees.

Cookies are numerous and many are not secret (``lang=fr``, ``consent=true``); registering ``true``
would turn every ``true`` of every log line into ``***``. Cookie values therefore pass a small filter
(:func:`is_cookie_secret`): at least 6 characters, not a JSON/boolean literal, not a short number.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Literal
from urllib.parse import unquote

from loguru import logger
from playwright.async_api import BrowserContext, Locator, Page
from playwright.async_api import Error as PlaywrightError

from browserkonnector._redact import MIN_SECRET_LENGTH, Redactor

__all__ = [
    "fill_secret",
    "is_cookie_secret",
    "register_cookie_secrets",
    "register_cookie_values",
    "register_storage_secrets",
]

StorageName = Literal["sessionStorage", "localStorage"]
_LITERALS = frozenset({"true", "false", "null", "none", "undefined", "yes", "no", "on", "off"})
#: A string inside a JSON storage value is registered when at least this long (tokens are; "Bearer" is not).
JSON_LEAF_MIN = 16


async def fill_secret(
    locator: Locator,
    value: str,
    *,
    redactor: Redactor,
    press_sequentially: bool = False,
    delay: float = 0,
    timeout: float | None = None,
    label: str | None = None,
) -> None:
    """Register ``value`` with ``redactor`` (named ``label`` for its placeholders, e.g. ``"password"``),
    then type it into ``locator``.

    ``press_sequentially`` types key by key (after clearing the field) for sites that listen to key
    events rather than ``input``; ``delay`` spaces the keys and ``timeout`` bounds each step (seconds,
    like every duration of the framework; the context's default timeout when ``None``). An error from
    Playwright is re-raised with the value scrubbed from its message (and without the original chained).
    """
    if not isinstance(value, str) or not value:
        raise ValueError("fill_secret: the secret value must be a non-empty string")
    if not redactor.add(value, label=label) and value not in redactor.values:
        logger.warning("a secret shorter than {} characters cannot be scrubbed from traces", MIN_SECRET_LENGTH)
    ms = None if timeout is None else timeout * 1000  # Playwright's unit
    try:
        if press_sequentially:
            await locator.fill("", timeout=ms)
            await locator.press_sequentially(value, delay=delay * 1000, timeout=ms)
        else:
            await locator.fill(value, timeout=ms)
    except PlaywrightError as exc:
        raise type(exc)(redactor.redact(exc.message)) from None


def is_cookie_secret(value: str) -> bool:
    """Worth scrubbing: long enough, not a literal (``true``), not a short number (``1700000000``)."""
    text = value.strip().strip('"')
    if len(text) < 6 or text.lower() in _LITERALS:
        return False
    return not (text.isdigit() and len(text) < 12)


def register_cookie_values(cookies: Iterable[tuple[str, str]], redactor: Redactor) -> int:
    """Register the ``(name, value)`` cookies whose value passes :func:`is_cookie_secret` (and its
    URL-decoded form), labelled ``cookie:<name>`` for the redactor's placeholders (an empty name: no
    label). Returns how many values were new."""
    added = 0
    for name, value in cookies:
        if not is_cookie_secret(value):
            continue
        label = f"cookie:{name}" if name else None
        added += redactor.add(value, label=label)
        decoded = unquote(value)
        if decoded != value and is_cookie_secret(decoded):
            added += redactor.add(decoded, label=label)
    return added


async def register_cookie_secrets(context: BrowserContext, redactor: Redactor) -> int:
    """Every (secret-looking) cookie value of ``context`` becomes a secret; returns how many were new."""
    cookies = await context.cookies()
    return register_cookie_values(((str(c.get("name", "")), str(c.get("value", ""))) for c in cookies), redactor)


def _json_leaves(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _json_leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_leaves(item)


async def register_storage_secrets(
    page: Page,
    keys: str | Iterable[str],
    redactor: Redactor,
    storage: StorageName | str = "sessionStorage",
) -> dict[str, str | None]:
    """Read ``keys`` from the page's web storage, register their values, and return them.

    A value that is JSON (``{"access_token": "eyJ...", "token_type": "Bearer"}``) also has its string
    leaves of :data:`JSON_LEAF_MIN`+ characters registered: the token travels alone in an
    ``Authorization`` header, never as the whole JSON. A missing key maps to ``None``.
    """
    if storage not in ("sessionStorage", "localStorage"):
        raise ValueError(f"storage={storage!r}: expected 'sessionStorage' or 'localStorage'")
    names = [keys] if isinstance(keys, str) else list(keys)
    if not all(isinstance(k, str) and k for k in names):
        raise ValueError(f"keys: expected storage key names (non-empty strings), got {names!r}")
    values: list[str | None] = await page.evaluate(
        "([store, keys]) => keys.map(k => window[store].getItem(k))", [storage, names]
    )
    for name, value in zip(names, values, strict=True):
        if not value:
            continue
        redactor.add(value, label=f"storage:{name}")
        try:
            parsed = json.loads(value)
        except ValueError:
            continue
        for leaf in _json_leaves(parsed):
            if len(leaf) >= JSON_LEAF_MIN:
                redactor.add(leaf, label=f"storage:{name}")
    return dict(zip(names, values, strict=True))
