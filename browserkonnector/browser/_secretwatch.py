"""Learn the browser's secrets as they appear, before a connector can print one.

A secret is scrubbed from a log line only if the run's redactor knows it when the line is written. The
session cookie a vendor sets, or the API token its script keeps in ``sessionStorage``, exist in the
browser long before any framework call reads them; a connector that logs ``await
context.cookies()`` or the result of ``page.evaluate("sessionStorage.apiToken")`` right after the login
must find them already known. :class:`SecretWatch` therefore watches the browser context for the
whole run:

- **in the page, synchronously**: an init script wraps ``Storage.prototype.setItem`` (for the declared
  ``secret_storage_keys``) and the ``document.cookie`` setter, and reports each value to Python through
  a binding *when the page writes it*. The binding's message precedes, on the one connection to the
  browser, the answer of any later ``page.evaluate`` that could read the value back, and its handler
  runs before the connector's ``await`` resumes;
- **on the network**: after each document, XHR or fetch answer (where ``Set-Cookie`` arrives) the
  context's cookies are read again — at most one read in flight, another queued if answers keep
  coming — and after each navigation the declared keys are read from both storages (values a page
  restored, or set before the script could wrap ``setItem``);
- **on request**: ``context.cookies()`` itself is wrapped on this context, so whatever cookie a
  connector reads is registered before the list is handed back.

Values pass the same filters as elsewhere (:func:`~browserkonnector.browser._secrets.is_cookie_secret`
for cookies; JSON leaves of 16+ characters for storage values).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from typing import Any

from loguru import logger
from playwright.async_api import BrowserContext, Frame, Page, Response
from playwright.async_api import Error as PlaywrightError

from browserkonnector._redact import Redactor
from browserkonnector.browser._secrets import JSON_LEAF_MIN, register_cookie_values

__all__ = ["BINDING", "SecretWatch"]

log = logger.bind(namespace="browser")
#: The binding the init script reports to (a name no site uses).
BINDING = "__bkSecretSeen"
_NETWORK_TYPES = frozenset({"document", "xhr", "fetch", "other"})

_INIT_SCRIPT = """
(() => {
  const report = window.%(binding)s;
  if (!report || window.__bkSecretWatch) return;
  window.__bkSecretWatch = true;
  const keys = new Set(%(keys)s);
  const send = (kind, name, value) => { try { report(kind, String(name), String(value)); } catch (e) {} };
  const setItem = Storage.prototype.setItem;
  Storage.prototype.setItem = function (key, value) {
    if (keys.has(String(key))) send("storage", key, value);
    return setItem.call(this, key, value);
  };
  const desc = Object.getOwnPropertyDescriptor(Document.prototype, "cookie");
  if (desc && desc.set) {
    Object.defineProperty(Document.prototype, "cookie", {
      configurable: true, enumerable: desc.enumerable,
      get() { return desc.get.call(this); },
      set(value) {
        const pair = String(value).split(";")[0];
        const at = pair.indexOf("=");
        if (at > 0) send("cookie", pair.slice(0, at).trim(), pair.slice(at + 1).trim());
        return desc.set.call(this, value);
      },
    });
  }
})();
"""

_READ_STORAGE = """keys => {
  const out = [];
  for (const store of ["sessionStorage", "localStorage"]) {
    try { for (const k of keys) { const v = window[store].getItem(k); if (v) out.push([k, v]); } } catch (e) {}
  }
  return out;
}"""


def register_storage_value(name: str, value: str, redactor: Redactor) -> None:
    """A declared storage key's value, and its long JSON leaves (a token inside ``{"access_token":…}``)."""
    label = f"storage:{name}"
    redactor.add(value, label=label)
    try:
        parsed = json.loads(value)
    except ValueError:
        return
    stack: list[Any] = [parsed]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and len(item) >= JSON_LEAF_MIN:
            redactor.add(item, label=label)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class SecretWatch:
    """Registers the context's cookies and declared storage values with ``redactor`` as they appear."""

    def __init__(self, context: BrowserContext, redactor: Redactor, storage_keys: Sequence[str] = ()) -> None:
        self.context = context
        self.redactor = redactor
        self.storage_keys = [k for k in storage_keys if k]
        self.reads = 0  # cookie reads done (tests and benchmarks look)
        self._pending: asyncio.Task[None] | None = None
        self._again = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._original_cookies: Any = None

    async def start(self) -> None:
        """Install the binding, the init script and the listeners (before the first page opens)."""
        await self.context.expose_binding(BINDING, self._on_binding)
        await self.context.add_init_script(_INIT_SCRIPT % {"binding": BINDING, "keys": json.dumps(self.storage_keys)})
        self.context.on("response", self._on_response)
        self.context.on("page", self._on_page)
        for page in self.context.pages:
            self._on_page(page)
        self._wrap_cookies()

    # -- in the page ------------------------------------------------------------------------------------
    def _on_binding(self, source: Any, kind: str, name: str, value: str) -> None:
        if kind == "storage":
            register_storage_value(name, value, self.redactor)
        elif kind == "cookie":
            register_cookie_values([(name, value)], self.redactor)

    # -- on the network ---------------------------------------------------------------------------------
    def _on_response(self, response: Response) -> None:
        if response.request.resource_type not in _NETWORK_TYPES:
            return
        if self._pending is not None and not self._pending.done():
            self._again = True  # one more read once this one lands: it may have missed this answer
            return
        self._pending = self._spawn(self._read_cookies())

    async def _read_cookies(self) -> None:
        while True:
            self._again = False
            await self.refresh()
            if not self._again:
                return

    async def refresh(self) -> None:
        """Read the context's cookies now and register them."""
        try:
            cookies = await (self._original_cookies or self.context.cookies)()
        except PlaywrightError:
            return  # the context is closing
        self.reads += 1
        register_cookie_values(((str(c.get("name", "")), str(c.get("value", ""))) for c in cookies), self.redactor)

    def _on_page(self, page: Page) -> None:
        if self.storage_keys:
            page.on("framenavigated", lambda frame: self._on_navigated(page, frame))
            page.on("load", lambda _: self._spawn(self._read_storage(page)))

    def _on_navigated(self, page: Page, frame: Frame) -> None:
        if frame == page.main_frame:
            self._spawn(self._read_storage(page))

    async def _read_storage(self, page: Page) -> None:
        if page.url == "about:blank":
            # No site's document: what the printer lays out with set_content (a round trip per printed
            # bill saved). A popup at about:blank shares its opener's storage, read on the opener's page.
            return
        with contextlib.suppress(PlaywrightError):  # navigating again, or closed: the next event reads
            for name, value in await page.evaluate(_READ_STORAGE, self.storage_keys):
                register_storage_value(str(name), str(value), self.redactor)

    # -- on request -------------------------------------------------------------------------------------
    def _wrap_cookies(self) -> None:
        original = self.context.cookies
        redactor = self.redactor

        async def cookies(urls: Any = None) -> Any:
            found = await original(urls)
            register_cookie_values(((str(c.get("name", "")), str(c.get("value", ""))) for c in found), redactor)
            return found

        self._original_cookies = original
        self.context.cookies = cookies  # type: ignore[method-assign]

    # -- lifecycle --------------------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def settle(self, timeout: float = 2.0) -> None:
        """Wait for the reads in flight (before a bundle or a trace is written)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    def stop(self) -> None:
        self.context.remove_listener("response", self._on_response)
        self.context.remove_listener("page", self._on_page)
        for task in list(self._tasks):
            task.cancel()
