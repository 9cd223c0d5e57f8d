"""Secrets: registered before they are typed, read from storage and cookies, never in our logs."""

from __future__ import annotations

from typing import Any

import pytest
from loguru import logger
from playwright.async_api import TimeoutError as PlaywrightTimeout

from browserkonnector._redact import Redactor
from browserkonnector.browser import fill_secret, register_cookie_secrets, register_storage_secrets
from browserkonnector.browser._secrets import is_cookie_secret

pytestmark = [pytest.mark.anyio, pytest.mark.browser]


@pytest.fixture
def log_lines() -> Any:
    lines: list[str] = []
    sink = logger.add(lines.append, level="TRACE", format="{message}")
    yield lines
    logger.remove(sink)


@pytest.mark.parametrize("press", [False, True])
async def test_fill_secret_registers_then_types(tab: Any, site: Any, log_lines: list[str], press: bool) -> None:
    redactor = Redactor()
    secret = site.state.password
    await tab.goto(site("/login"))
    await tab.fill("#password", "previous")
    await fill_secret(tab.locator("#password"), secret, redactor=redactor, press_sequentially=press, label="password")
    assert await tab.input_value("#password") == secret
    assert secret in redactor.values
    assert redactor.label_of(secret) == "password"
    assert not any(secret in line for line in log_lines)


async def test_fill_secret_errors_never_carry_the_value(tab: Any, site: Any, log_lines: list[str]) -> None:
    redactor = Redactor()
    await tab.goto(site("/login"))
    with pytest.raises(PlaywrightTimeout) as raised:
        await fill_secret(tab.locator("#nope"), "s3cret-value-xyz", redactor=redactor, timeout=0.2)
    assert "s3cret-value-xyz" not in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__
    assert "s3cret-value-xyz" in redactor.values  # registered before the attempt
    with pytest.raises(ValueError, match="non-empty string"):
        await fill_secret(tab.locator("#password"), "", redactor=redactor)
    await fill_secret(tab.locator("#password"), "abc", redactor=redactor)
    assert any("cannot be scrubbed" in line for line in log_lines)


async def test_storage_secrets_include_the_token_inside_json(tab: Any, site: Any) -> None:
    await tab.goto(site("/blank"))
    await tab.evaluate(
        """() => { sessionStorage.setItem('token', 'sess-token-0123456789');
                   localStorage.setItem('auth', JSON.stringify({access_token: 'eyJhbGciOiJIUzI1NiJ9.payload',
                                                                 token_type: 'Bearer', expires_in: 3600})); }"""
    )
    redactor = Redactor()
    session = await register_storage_secrets(tab, ["token", "absent"], redactor)
    local = await register_storage_secrets(tab, "auth", redactor, storage="localStorage")
    assert session == {"token": "sess-token-0123456789", "absent": None}
    assert "access_token" in str(local["auth"])
    assert {"sess-token-0123456789", "eyJhbGciOiJIUzI1NiJ9.payload", local["auth"]} <= redactor.values
    assert "Bearer" not in redactor.values  # short JSON leaves are not tokens
    assert redactor.label_of("sess-token-0123456789") == "storage:token"
    assert redactor.label_of("eyJhbGciOiJIUzI1NiJ9.payload") == "storage:auth"
    with pytest.raises(ValueError, match="storage='cookies'"):
        await register_storage_secrets(tab, ["token"], redactor, storage="cookies")


async def test_cookie_secrets_skip_what_is_no_secret(ctx: Any, site: Any) -> None:
    await ctx.add_cookies(
        [
            {"name": n, "value": v, "url": site.url}
            for n, v in [
                ("session", "Zk9_session-value-1"),
                ("consent", "true"),
                ("lang", "fr"),
                ("seen", "1700000000"),
                ("enc", "a%3Db%26c-long-enough"),
            ]
        ]
    )
    redactor = Redactor()
    assert await register_cookie_secrets(ctx, redactor) == 3
    assert redactor.values == {"Zk9_session-value-1", "a%3Db%26c-long-enough", "a=b&c-long-enough"}
    assert redactor.label_of("Zk9_session-value-1") == "cookie:session"
    assert redactor.redact("consent is true") == "consent is true"


def test_is_cookie_secret() -> None:
    assert is_cookie_secret("abcdef")
    assert not is_cookie_secret("false")
    assert not is_cookie_secret('"null"')
    assert not is_cookie_secret("123456")
    assert is_cookie_secret("123456789012")
