"""A test connector for ``keep_profile=True``: a local-first app whose "session" lives in IndexedDB.

Its login writes the session into the page's IndexedDB; its logged-in check looks for it there. Only a
kept profile (IndexedDB in the vault) makes the second run skip the login. ``keep_profile`` comes from
the field ``profile`` so the same connector shows both sides.
"""

from __future__ import annotations

from typing import Any

from browserkonnector import Konnector, RunContext

WRITE = """async (token) => {
  const db = await new Promise((ok, ko) => {
    const open = indexedDB.open("app", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("kv", { keyPath: "id" });
    open.onsuccess = () => ok(open.result);
    open.onerror = () => ko(open.error);
  });
  await new Promise((ok, ko) => {
    const tx = db.transaction("kv", "readwrite");
    tx.objectStore("kv").put({ id: "session", token });
    tx.oncomplete = ok;
    tx.onerror = () => ko(tx.error);
  });
  db.close();
}"""
READ = """async () => {
  const names = (await indexedDB.databases()).map((d) => d.name);
  if (!names.includes("app")) return null;
  const db = await new Promise((ok, ko) => {
    const open = indexedDB.open("app", 1);
    open.onsuccess = () => ok(open.result);
    open.onerror = () => ko(open.error);
  });
  const value = await new Promise((ok) => {
    const get = db.transaction("kv").objectStore("kv").get("session");
    get.onsuccess = () => ok(get.result ? get.result.token : null);
    get.onerror = () => ok(null);
  });
  db.close();
  return value;
}"""


def make(profile: bool) -> Konnector[Any]:
    konnector: Konnector[Any] = Konnector(
        slug=f"idb-app-{'profile' if profile else 'plain'}", vendor="IDB", keep_profile=profile
    )

    @konnector.login
    async def log_in(ctx: RunContext[Any]) -> None:
        await ctx.page.goto(ctx.fields["base_url"])
        await ctx.page.evaluate(WRITE, "idb-session-token-0123456789")

    @konnector.is_logged_in
    async def logged_in(ctx: RunContext[Any]) -> bool:
        await ctx.page.goto(ctx.fields["base_url"])
        return bool(await ctx.page.evaluate(READ) == "idb-session-token-0123456789")

    @konnector.main
    async def start(ctx: RunContext[Any]) -> None:
        ctx.stats.extra["idb_ok"] = int(await ctx.page.evaluate(READ) == "idb-session-token-0123456789")

    return konnector


with_profile = make(True)
without_profile = make(False)
konnector = with_profile
