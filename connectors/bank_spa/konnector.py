"""Demo Local Bank: unlock the app, then save every account and every operation of each account.

The app is slow to boot (a multi-MB bundle and 200+ modules before the password field shows), syncs its
data into IndexedDB through a worker, and shows operations in a virtualised table. So the connector
reads the accounts from IndexedDB once the app has synced, and the operations from the table, which
``ctx.collect_rows`` scrolls and reads until stable; ``keep`` makes it wait out the previous account's
rows, still shown for a moment after a switch. Selectors are ids and attributes, never the UI's words:
the app follows the browser's language.

The app is local-first, so the connector keeps its whole browser profile between runs
(``keep_profile=True``, docs/sessions.md): the next run finds the bundle in Chromium's HTTP cache, the
data and the sync cursors in IndexedDB, and the session in the vault, so the app comes up unlocked and
its worker fetches only what changed. The login and the logged-in check are declared for that. An
incremental run (``ctx.should_full_sync()`` says no) reads the table of an account only when the app's
sync cursor for it moved since its operations were saved: nothing changed, nothing to scroll.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from browserkonnector import BankAccount, BankOperation, Konnector, KonnectorError, RunContext, errors

from .models import Fields

konnector = Konnector(fields=Fields, vendor="Demo Local Bank", keep_profile=True)
BOOT_TIMEOUT_MS = 90_000  # the login page shows after the whole bundle is fetched and parsed
LOCKED, UNLOCKED = "#pw", "#sync-status, nav .account"  # what the app shows once booted
#: The account data entry: account id → the app's sync cursor when its operations were last saved.
SAVED_CURSORS = "bank_saved_cursors"
FULL_SYNC_AGE = timedelta(days=30)
ROW = {  # a row's fields, named as BankOperation names them
    "vendor_id": "@data-op-id",
    "vendor_account_id": "@data-account-id",
    "date": "time@datetime",
    "label": ".label",
    "amount": ".amount@data-amount",
}
ACCOUNT = ("label", "balance", "currency", "type", "number")  # the app's account fields BankAccount takes as they are


async def boot(ctx: RunContext[Fields]) -> bool:
    """Open the app and wait until it has booted; ``True`` when it came up unlocked (a kept session)."""
    page = ctx.page
    await page.goto(ctx.fields.base_url)
    await page.locator(LOCKED).or_(page.locator(UNLOCKED)).first.wait_for(timeout=BOOT_TIMEOUT_MS)
    return await page.locator(LOCKED).count() == 0


@konnector.is_logged_in
async def unlocked(ctx: RunContext[Fields]) -> bool:
    return await boot(ctx)


@konnector.login
async def unlock(ctx: RunContext[Fields]) -> None:
    page = ctx.page
    if await page.locator(LOCKED).count() == 0 and await boot(ctx):
        return  # booted unlocked: nothing to type
    await ctx.fill_secret(LOCKED, ctx.fields.password)
    await page.locator("#unlock").click()
    synced, refused = page.locator("nav .account"), page.locator("#login-error")
    await synced.or_(refused).first.wait_for(timeout=BOOT_TIMEOUT_MS)
    if await refused.is_visible():
        raise KonnectorError(errors.LOGIN_FAILED)


@konnector.main
async def start(ctx: RunContext[Fields]) -> None:
    page = ctx.page
    await page.locator("nav .account").first.wait_for(timeout=BOOT_TIMEOUT_MS)  # synced

    accounts = sorted(await ctx.read_indexeddb("bank", "accounts"), key=lambda a: a["id"])
    ctx.shapes.count("accounts", len(accounts))
    cursors = {str(m["id"]).removeprefix("cursor:"): m["cursor"] for m in await ctx.read_indexeddb("bank", "meta")}
    saved = {} if ctx.should_full_sync(FULL_SYNC_AGE) else ctx.get_account_data().get(SAVED_CURSORS) or {}
    operations = []
    for account in accounts:
        if account["id"] in cursors and saved.get(account["id"]) == cursors[account["id"]]:
            continue  # the app synced nothing new for it since its operations were saved
        await page.locator(f'nav .account[data-account-id="{account["id"]}"]').click()
        keep = {"vendor_account_id": account["id"]}  # not the previous account's rows, still shown a moment
        rows = await ctx.collect_rows("#ops-scroll", ".op-row", ROW, key="vendor_id", keep=keep)
        ctx.shapes.count(f"operations of {account['id']}", len(rows))
        operations += [BankOperation(**row) for row in rows]

    await ctx.save_bank_data([bank_account(a) for a in accounts], operations)
    await ctx.save_account_data({SAVED_CURSORS: cursors})


def bank_account(a: dict[str, Any]) -> BankAccount:
    """An account as the app keeps it in IndexedDB, as a ``BankAccount``."""
    return BankAccount(vendor_id=a["id"], institution_label=a["institution"], **{k: a[k] for k in ACCOUNT})
