"""A test connector: docs/examples/kept_session's login and main, with a logged-in check declared on the
page (``logged_in_if(url=..., element=...)``) and a page load that meets a lost session (``ctx.goto``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from browserkonnector import Konnector, RunContext, logged_in_if

_PATH = Path(__file__).resolve().parents[3] / "docs" / "examples" / "kept_session" / "__init__.py"
_SPEC = importlib.util.spec_from_file_location("kept_session_example", _PATH)
assert _SPEC is not None
assert _SPEC.loader is not None
example = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = example  # pydantic resolves the model's annotations through it
_SPEC.loader.exec_module(example)

konnector = Konnector(
    slug="page-check",
    vendor="Demo Énergie",
    fields=example.Fields,
    secret_storage_keys=["apiToken"],
    login_page="**/login**",
)
konnector.login(example.log_in)
konnector.is_logged_in(logged_in_if(url="{base_url}/bills", element="#bills, #invoices"))


@konnector.main
async def start(ctx: RunContext[example.Fields]) -> None:  # type: ignore[name-defined]
    base = ctx.fields.base_url.rstrip("/")
    if ctx.fields.login.startswith("alice") and ctx.get_account_data().get("drop_session"):
        # The vendor drops the session (here: a logout behind the connector's back)...
        (await ctx.http.post(f"{base}/api/session/logout")).raise_for_status()
        # ...and the next page load meets it: ctx.goto logs in again and loads the page again.
        response = await ctx.goto(f"{base}/bills/{ctx.get_account_data()['drop_session']}/print")
        ctx.stats.extra["print_status"] = response.status if response is not None else 0
    await example.start(ctx)
