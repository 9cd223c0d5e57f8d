"""Demo Local Bank: unlock the app, then save every account and every operation of each account.

The app is slow to boot (a multi-MB bundle and 200+ modules before the password field shows), syncs its
data into IndexedDB through a worker, and shows operations in a virtualised table. So the connector
reads the accounts from IndexedDB once the app has synced, and the operations from the table, which
``ctx.collect_rows`` scrolls and reads until stable; ``keep`` makes it wait out the previous account's
rows, still shown for a moment after a switch. Selectors are ids and attributes, never the UI's words:
the app follows the browser's language.
"""

from __future__ import annotations

from browserkonnector import BankAccount, BankOperation, Konnector, KonnectorError, RunContext, errors

from .models import Fields

konnector = Konnector(fields=Fields, vendor="Demo Local Bank")
BOOT_TIMEOUT_MS = 90_000  # the login page shows after the whole bundle is fetched and parsed
ROW = {"id": "@data-op-id", "account": "@data-account-id", "date": "time@datetime", "label": ".label",
       "amount": ".amount@data-amount"}


@konnector.main
async def start(ctx: RunContext[Fields]) -> None:
    page = ctx.page
    await page.goto(ctx.fields.base_url)
    await page.locator("#pw").wait_for(timeout=BOOT_TIMEOUT_MS)
    await ctx.fill_secret("#pw", ctx.fields.password)
    await page.locator("#unlock").click()
    synced, refused = page.locator("nav .account"), page.locator("#login-error")
    await synced.or_(refused).first.wait_for(timeout=BOOT_TIMEOUT_MS)
    if await refused.is_visible():
        raise KonnectorError(errors.LOGIN_FAILED)

    accounts = sorted(await ctx.read_indexeddb("bank", "accounts"), key=lambda a: a["id"])
    ctx.shapes.count("accounts", len(accounts))
    operations = []
    for account in accounts:
        await page.locator(f'nav .account[data-account-id="{account["id"]}"]').click()
        rows = await ctx.collect_rows("#ops-scroll", ".op-row", ROW, key="id", keep={"account": account["id"]})
        ctx.shapes.count(f"operations of {account['id']}", len(rows))
        operations += [BankOperation(vendor_id=r["id"], vendor_account_id=account["id"], label=r["label"],
                                     amount=r["amount"], date=r["date"]) for r in rows]

    await ctx.save_bank_data(
        [BankAccount(vendor_id=a["id"], label=a["label"], balance=a["balance"], currency=a["currency"],
                     type=a["type"], number=a["number"], institution_label=a["institution"]) for a in accounts],
        operations)
