"""Pages printed to PDF with a Cozy headline (``createCozyPDFDocument``), saved with ``save_files``.

Some documents exist only as web pages. ``ctx.cozy_pdf(headline, source_url, url=...)`` prints the page
at ``url`` (with the session's cookies) under a headline and a link to where it came from;
``ctx.save_files`` stores them with a dedup key and a qualification, like ``saveFiles``.

    browserkonnector run docs/examples/printed_statements --field base_url=http://127.0.0.1:8000 \\
        --field login=alice@demo-energie.test --field 'password=Correct-Horse-Battery-42!'
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretStr

from browserkonnector import FileEntry, Konnector, KonnectorError, RunContext, errors


class Fields(BaseModel):
    login: str
    password: SecretStr
    base_url: str


konnector = Konnector(slug="demo-statements", vendor="Demo Énergie", fields=Fields, secret_storage_keys=["apiToken"])


@konnector.main
async def start(ctx: RunContext[Fields]) -> None:
    base, page = ctx.fields.base_url.rstrip("/"), ctx.page
    await page.goto(f"{base}/login")
    await page.locator("#accept-cookies").click()
    await page.get_by_label("Email").fill(ctx.fields.login)
    await ctx.fill_secret(page.get_by_label("Password"), ctx.fields.password)
    async with ctx.capture_json("**/api/bills?*", step="bills api") as answers:
        async with page.expect_response("**/api/session/login") as login:
            await page.get_by_role("button", name="Sign in").click()
        if (await login.value).status == 401:
            raise KonnectorError(errors.LOGIN_FAILED)
        first = await answers.wait(timeout=20)

    printable = [item for item in first["items"] if item["kind"] == "html"]
    ctx.shapes.count("printable bills", len(printable))

    def statement(item: dict[str, Any]) -> FileEntry:
        source = base + item["links"]["print"]
        return FileEntry(
            filename=f"statement_{item['vendorRef']}.pdf",
            vendor_ref=item["vendorRef"],
            fetch_file=lambda: ctx.cozy_pdf(f"Demo Énergie — {item['label']}", source, url=source),
        )

    await ctx.save_files(
        [statement(item) for item in printable],
        file_id_attributes=["vendor_ref"],
        qualification_label="energy_invoice",
        sub_path="Statements",
    )
