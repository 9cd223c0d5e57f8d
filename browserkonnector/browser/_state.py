"""A browser context's logged-in state, read out and put back: what the session vault keeps between runs.

Playwright's ``storage_state()`` holds cookies and each origin's ``localStorage`` (and, asked with
``indexed_db=True``, its IndexedDB databases), but not ``sessionStorage``, where many single-page apps keep
their API token: a run that restored only ``storage_state`` would hold the session cookie and still be
logged out of the API. So :func:`capture` also reads ``sessionStorage`` from every frame open at capture
time, per origin, and :func:`restore` puts it back with an init script that runs before the site's own
scripts on the first document of each origin — once per tab and origin (a marker key remembers it), so a
site that clears its token on logout is not handed the stale one again on the next page load.

Cookies, ``localStorage`` and IndexedDB are restored by Playwright itself: pass
:attr:`BrowserState.storage_state` to ``new_context(storage_state=...)``.

This module only moves state; encrypting it is the vault's job (``runtime/_vault.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from browserkonnector.browser._secrets import is_cookie_secret, register_cookie_values

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext

    from browserkonnector._redact import Redactor

__all__ = ["RESTORED_MARKER", "BrowserState", "capture", "register_state_secrets", "restore"]

#: The sessionStorage key that marks a tab's origin as restored (never captured back).
RESTORED_MARKER = "__browserkonnector_restored__"

#: Storage keys whose values are secrets whatever the connector declared.
_SECRET_KEY = re.compile(r"token|secret|pass|auth|session|jwt|credential|otp|cookie|bearer", re.IGNORECASE)

_READ_SESSION_STORAGE = """() => {
  const out = {};
  for (let i = 0; i < sessionStorage.length; i++) {
    const key = sessionStorage.key(i);
    if (key !== MARKER) out[key] = sessionStorage.getItem(key);
  }
  return [location.origin, out];
}""".replace("MARKER", json.dumps(RESTORED_MARKER))

_RESTORE_SCRIPT = """(() => {
  const saved = SAVED;
  try {
    const items = saved[location.origin];
    if (!items || sessionStorage.getItem(MARKER) !== null) return;
    for (const [key, value] of Object.entries(items)) {
      if (sessionStorage.getItem(key) === null) sessionStorage.setItem(key, value);
    }
    sessionStorage.setItem(MARKER, "1");
  } catch (e) { /* an opaque origin (about:blank, data:) has no storage */ }
})();"""


@dataclass
class BrowserState:
    """Everything a logged-in context needs again: Playwright's storage state plus ``sessionStorage``."""

    storage_state: dict[str, Any] = field(default_factory=dict)
    #: origin → {key: value}
    session_storage: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"storage_state": self.storage_state, "session_storage": self.session_storage}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BrowserState:
        """Refuses (``ValueError``, naming the part) anything that is not the shape :meth:`to_json` wrote."""
        state, session = data.get("storage_state"), data.get("session_storage")
        if not isinstance(state, dict) or not isinstance(state.get("cookies", []), list):
            raise ValueError("storage_state: expected an object with a 'cookies' list")
        if not isinstance(session, dict) or not all(
            isinstance(items, dict) and all(isinstance(v, str) for v in items.values()) for items in session.values()
        ):
            raise ValueError("session_storage: expected {origin: {key: text}}")
        return cls(state, session)

    @property
    def cookies(self) -> list[dict[str, Any]]:
        return list(self.storage_state.get("cookies") or [])

    def storage_items(self) -> Iterable[tuple[str, str, str]]:
        """``(storage, key, value)`` of every localStorage and sessionStorage item."""
        for origin in self.storage_state.get("origins") or []:
            for item in origin.get("localStorage") or []:
                yield "localStorage", str(item.get("name", "")), str(item.get("value", ""))
        for items in self.session_storage.values():
            for key, value in items.items():
                yield "sessionStorage", key, value


async def capture(context: BrowserContext, *, indexed_db: bool = False) -> BrowserState:
    """The context's state now: cookies, localStorage (IndexedDB with ``indexed_db``), and the
    sessionStorage of every frame open now (a frame that is navigating or gone is skipped)."""
    state = dict(await context.storage_state(indexed_db=indexed_db))
    session: dict[str, dict[str, str]] = {}
    for page in context.pages:
        for frame in page.frames:
            if not frame.url.startswith(("http://", "https://")):
                continue
            try:
                origin, items = await frame.evaluate(_READ_SESSION_STORAGE)
            except Exception:  # navigating, detached, or storage denied: nothing to read there
                continue
            if items:
                session.setdefault(str(origin), {}).update({str(k): str(v) for k, v in items.items()})
    return BrowserState(state, session)


async def restore(context: BrowserContext, state: BrowserState) -> None:
    """Put ``state``'s sessionStorage back on the first page load of each origin (cookies, localStorage and
    IndexedDB come from ``new_context(storage_state=...)``)."""
    if not state.session_storage:
        return
    script = _RESTORE_SCRIPT.replace("SAVED", json.dumps(state.session_storage)).replace(
        "MARKER", json.dumps(RESTORED_MARKER)
    )
    await context.add_init_script(script)


def register_state_secrets(state: BrowserState, redactor: Redactor, *, secret_keys: Iterable[str] = ()) -> int:
    """Register the restored secrets with ``redactor`` before anything can log them: every secret-looking
    cookie value, and storage values whose key is declared secret or looks secret (``*token*``,
    ``*session*``...). Other storage values (an app's cached data) are data, not secrets."""
    added = register_cookie_values(((str(c.get("name", "")), str(c.get("value", ""))) for c in state.cookies), redactor)
    declared = set(secret_keys)
    for _storage, key, value in state.storage_items():
        if (key in declared or _SECRET_KEY.search(key)) and is_cookie_secret(value):
            added += redactor.add(value, label=f"storage:{key}")
            try:
                parsed = json.loads(value)
            except ValueError:
                continue
            for leaf in _leaves(parsed):
                if is_cookie_secret(leaf):
                    added += redactor.add(leaf, label=f"storage:{key}")
    return added


def _leaves(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
