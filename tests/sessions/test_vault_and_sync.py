"""The vault's encryption and key handling, the sync memory, and the second-factor helpers, without a
browser (the real ``cryptography``, real files, a real pseudo-terminal)."""

from __future__ import annotations

import asyncio
import os
import stat
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest

from browserkonnector import _errors as errors
from browserkonnector._errors import KonnectorError
from browserkonnector._redact import Redactor
from browserkonnector.browser._state import BrowserState, register_state_secrets
from browserkonnector.runtime._job import Account, JobEnv
from browserkonnector.runtime._sync import SYNC_KEY, SyncMemory
from browserkonnector.runtime._twofa import ask_code, is_interactive, prompt_terminal, second_factor, totp
from browserkonnector.runtime._vault import (
    ENV_KEY,
    ENV_KEY_FILE,
    VAULT_DATA_KEY,
    SessionVault,
    VaultKeyError,
    VaultUnreadable,
    derive_job_key,
    key_file_path,
    load_or_create_key_file,
    open_envelope,
    seal,
)

STATE = BrowserState(
    {
        "cookies": [{"name": "session", "value": "c00kie-value-123456", "domain": "127.0.0.1", "path": "/"}],
        "origins": [{"origin": "http://127.0.0.1:1", "localStorage": [{"name": "theme", "value": "dark-mode"}]}],
    },
    {"http://127.0.0.1:1": {"apiToken": "t0ken-value-abcdef", "user": '{"name": "Alice"}'}},
)


def test_a_sealed_vault_opens_with_its_key_only_and_holds_nothing_in_clear() -> None:
    from cryptography.fernet import Fernet

    key = Fernet.generate_key()
    envelope = seal(STATE, key)
    assert "c00kie-value" not in str(envelope)
    assert "t0ken-value" not in str(envelope)
    assert open_envelope(envelope, key) == STATE
    with pytest.raises(VaultUnreadable, match="encrypted with another key"):
        open_envelope(envelope, Fernet.generate_key())
    broken = {**envelope, "token": envelope["token"][:-8] + "AAAAAAAA"}
    with pytest.raises(VaultUnreadable, match="corrupt"):
        open_envelope(broken, key)
    with pytest.raises(VaultUnreadable, match="not a vault envelope"):
        open_envelope({"what": 1}, key)
    with pytest.raises(VaultUnreadable, match="format 9"):
        open_envelope({**envelope, "format": 9}, key)


def test_the_key_file_is_made_owner_only_and_a_readable_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "vault.key"
    key = load_or_create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key_file(path) == key  # kept, not remade
    path.chmod(0o644)
    with pytest.raises(VaultKeyError, match=r"readable or writable by others \(mode 0644\): run chmod 600"):
        load_or_create_key_file(path)
    path.chmod(0o600)
    path.write_text("not a key\n")
    with pytest.raises(VaultKeyError, match="not a Fernet key"):
        load_or_create_key_file(path)


def test_where_the_key_comes_from(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert key_file_path({ENV_KEY_FILE: "/k/file"}, store) == Path("/k/file")
    assert key_file_path({"XDG_CONFIG_HOME": "/x", "HOME": "/h"}, store) == Path("/x/browserkonnector/vault.key")
    assert key_file_path({"HOME": "/h"}, store) == Path("/h/.config/browserkonnector/vault.key")
    assert key_file_path({}, store) == store / "vault.key"
    account = Account.detached({"_id": "a1", "auth": {"login": "me", "password": "pw-123456"}, "data": {}})
    from_env = SessionVault.for_run(account, environ={ENV_KEY: "bad"}, is_job=False, store_dir=store)
    assert from_env is None  # a bad key: no vault (and a warning), never a failed run
    job = SessionVault.for_run(account, environ={}, is_job=True, store_dir=store)
    assert job is not None
    assert job.key == derive_job_key({"login": "me", "password": "pw-123456"}, "a1")
    assert job.key != derive_job_key({"login": "me", "password": "changed-pw"}, "a1")  # new password, new key
    assert not store.exists()  # a job writes no key file
    assert (
        SessionVault.for_run(Account.detached({"_id": "a2", "data": {}}), environ={}, is_job=True, store_dir=store)
        is None
    )


@pytest.mark.anyio
async def test_an_unreadable_vault_is_discarded_and_a_good_one_restored() -> None:
    from cryptography.fernet import Fernet

    account = Account.detached({"_id": "a1", "data": {"other": 1}})
    vault = SessionVault(account, Fernet.generate_key())
    await vault.save(STATE)
    assert await vault.load() == STATE
    other = SessionVault(account, Fernet.generate_key())
    assert await other.load() is None
    assert VAULT_DATA_KEY not in account.data
    assert account.data == {"other": 1}


def test_restored_secrets_are_registered_but_not_the_apps_data() -> None:
    redactor = Redactor()
    register_state_secrets(STATE, redactor)
    text = redactor.redact("c00kie-value-123456 t0ken-value-abcdef dark-mode Alice")
    assert text == "*** *** dark-mode Alice"


def test_should_full_sync_first_run_failed_run_forced_and_age() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    first = SyncMemory({})
    assert first.should_full_sync(timedelta(days=7), now=now)
    assert first.reason == "first run"
    memory = first.after_run(ok=True, now=now)
    assert memory["last_full_sync"] == now.isoformat(timespec="seconds")

    soon = SyncMemory({SYNC_KEY: memory})
    assert not soon.should_full_sync(timedelta(days=7), now=now + timedelta(days=1))
    after = soon.after_run(ok=True, now=now + timedelta(days=1))
    assert after["last_full_sync"] == memory["last_full_sync"]  # an incremental run keeps the date
    assert SyncMemory({SYNC_KEY: after}).should_full_sync(timedelta(days=7), now=now + timedelta(days=8))
    assert not SyncMemory({SYNC_KEY: after}).should_full_sync(None, now=now + timedelta(days=800))
    assert SyncMemory({SYNC_KEY: after}, forced=True).should_full_sync(None, now=now)

    failed = SyncMemory({SYNC_KEY: after}).after_run(ok=False)
    again = SyncMemory({SYNC_KEY: failed})
    assert again.should_full_sync(timedelta(days=7), now=now + timedelta(days=2))
    assert again.reason == "the last run failed"
    with pytest.raises(ValueError, match="must not be negative"):
        SyncMemory({}).should_full_sync(-1)


def test_totp_helper_computes_the_code_and_registers_the_seed() -> None:
    seed = "KRSXG5CTMVRXEZLUGEZDGNBVGY3TQOJQ"
    redactor = Redactor()
    at = 1_700_000_000.0
    assert totp(seed.lower(), redactor=redactor, at=at) == pyotp.TOTP(seed).at(at)
    assert redactor.redact(f"seed {seed.lower()}") == "seed ***"
    with pytest.raises(ValueError, match="not a base32 key"):
        totp("not base32 at all!")
    with pytest.raises(ValueError, match="not a usable key"):
        totp("JBSWY3DP")


@pytest.mark.anyio
async def test_a_run_without_terminal_or_job_is_told_why_no_code_can_come() -> None:
    account = Account.detached({"_id": "a", "data": {}})
    read, write = os.pipe()
    with os.fdopen(read) as stdin:
        assert not is_interactive(JobEnv(), stdin)
        with pytest.raises(KonnectorError) as caught:
            await ask_code(account=account, job=JobEnv(), stdin=stdin)
    os.close(write)
    assert caught.value.code == errors.USER_ACTION_NEEDED_TWOFA_EXPIRED
    assert "run it in a terminal" in caught.value.detail


@pytest.mark.anyio
async def test_the_terminal_prompt_asks_again_on_a_refused_code_then_gives_wrong_twofa_code(tmp_path: Path) -> None:
    master, slave = os.openpty()
    account = Account.detached({"_id": "a", "data": {}})
    tried: list[str] = []

    async def submit(code: str) -> bool:
        tried.append(code)
        return False

    err = (tmp_path / "err").open("w+")
    with os.fdopen(slave) as stdin:
        assert is_interactive(JobEnv(), stdin)
        os.write(master, b"111111\n222222\n")
        with pytest.raises(KonnectorError) as caught:
            await second_factor(
                submit, account=account, job=JobEnv(), redactor=Redactor(), tries=2, stdin=stdin, stderr=err
            )
    os.close(master)
    assert tried == ["111111", "222222"]
    assert caught.value.code == errors.USER_ACTION_NEEDED_WRONG_TWOFA_CODE
    err.seek(0)
    prompts = err.read()
    assert "Second-factor code from your authenticator app" in prompts
    assert "That code was refused." in prompts


@pytest.mark.anyio
async def test_a_wait_for_a_code_is_bounded_by_the_run_deadline(tmp_path: Path) -> None:
    master, slave = os.openpty()
    started = time.monotonic()
    stdin = os.fdopen(slave)
    with (tmp_path / "err").open("w") as err, pytest.raises(KonnectorError) as caught:
        # nobody types: the deadline (not the 180 s) ends the wait
        await ask_code(
            account=Account.detached({"_id": "a", "data": {}}),
            job=JobEnv(),
            stdin=stdin,
            stderr=err,
            deadline=time.monotonic() + 6.0,
        )
    os.close(master)  # the reading thread gets an error and ends; then its stream can be closed
    for _ in range(50):
        if not any(t.name == "browserkonnector-2fa-prompt" for t in threading.enumerate()):
            break
        await asyncio.sleep(0.1)
    stdin.close()
    assert caught.value.code == errors.USER_ACTION_NEEDED_TWOFA_EXPIRED
    assert time.monotonic() - started < 30


@pytest.mark.anyio
async def test_prompt_terminal_returns_none_at_end_of_input(tmp_path: Path) -> None:
    read, write = os.pipe()
    os.close(write)
    with os.fdopen(read) as stdin, (tmp_path / "err").open("w") as err:
        assert await prompt_terminal("code: ", timeout=5, stdin=stdin, stderr=err) is None
    await asyncio.sleep(0)


def test_the_documented_key_command_makes_a_key_the_vault_takes() -> None:
    import re
    import subprocess
    import sys

    doc = (Path(__file__).resolve().parents[2] / "docs" / "sessions.md").read_text(encoding="utf-8")
    command = re.search(r'`(python -c "from cryptography\.fernet import [^`]+)`', doc)
    assert command is not None
    code = command.group(1).removeprefix('python -c "').removesuffix('"')
    key = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    account = Account.detached({"_id": "a1", "data": {}})
    vault = SessionVault.for_run(account, environ={ENV_KEY: key}, is_job=True, store_dir=Path("/nonexistent"))
    assert vault is not None
    assert vault.key == key.encode()


@pytest.mark.anyio
async def test_a_seed_that_is_not_base32_ends_with_invalid_fields_naming_it() -> None:
    async def submit(code: str) -> bool:
        raise AssertionError("no code can be computed")

    with pytest.raises(KonnectorError) as caught:
        await second_factor(
            submit,
            account=Account.detached({"_id": "a", "data": {}}),
            job=JobEnv(),
            redactor=Redactor(),
            totp_secret="1234 not base32!",
        )
    assert caught.value.code == errors.INVALID_FIELDS
    assert "TOTP secret is not a base32 key" in caught.value.detail


def test_logged_in_if_and_login_page_declarations() -> None:
    from browserkonnector import Konnector, logged_in_if
    from browserkonnector.runtime._login import _expand, matches_login_page

    with pytest.raises(ValueError, match="either url="):
        logged_in_if()
    with pytest.raises(ValueError, match="either url="):
        logged_in_if(url="/a", api="/b")
    with pytest.raises(ValueError, match="element= needs url="):
        logged_in_if(api="/b", element="#x")
    assert _expand("{base_url}/api/me", {"base_url": "http://h:1/"}) == "http://h:1/api/me"
    with pytest.raises(ValueError, match="names the field 'base'"):
        _expand("{base}/api/me", {"base_url": "x"})
    assert matches_login_page("http://h/login?next=/bills", "**/login**")
    assert not matches_login_page("http://h/bills", "**/login**")
    assert matches_login_page("http://h/auth/sign-in", lambda url: "sign-in" in url)
    import re

    assert matches_login_page("http://h/SSO/x", re.compile(r"/sso/", re.IGNORECASE))
    konnector = Konnector(slug="x")
    assert not konnector.keeps_session

    @konnector.login
    async def log_in(ctx: object) -> None: ...

    assert konnector.keeps_session
    assert not Konnector(slug="y", keep_session=False).keeps_session
    with pytest.raises(TypeError, match="must be an async function"):
        konnector.login(lambda ctx: None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_relogins"):
        Konnector(slug="z", max_relogins=-1)
    with pytest.raises(TypeError, match=r"unknown option\(s\) keep_profil; known: .*keep_profile"):
        Konnector(slug="z", keep_profil=True)  # type: ignore[call-overload]  # a typo is not ignored


@pytest.mark.anyio
async def test_in_a_cozy_job_a_refused_code_is_asked_again_through_the_account(tmp_path: Path) -> None:
    """The Home app's side is played on the account document itself (a real store): it waits for the
    TWOFA_NEEDED state, writes a code, and sees TWOFA_NEEDED_RETRY when the site refused it."""
    from browserkonnector.runtime._job import ACCOUNTS_DOCTYPE
    from browserkonnector.store._base import AppInfo
    from browserkonnector.store._local import LocalStore

    job = JobEnv(cozy_url="http://cozy.test", credentials="token", manual_execution=True)
    async with LocalStore(tmp_path / "cozy", app=AppInfo("t", "1")) as store:
        doc = await store.create(ACCOUNTS_DOCTYPE, {"_id": "acc", "data": {}, "state": None})
        account = Account(store, doc)
        states: list[str] = []

        async def home_app() -> None:
            for code in ("000000", "123456"):
                while True:
                    state = (await store.get(ACCOUNTS_DOCTYPE, "acc")).get("state")
                    if state and state.startswith("TWOFA_NEEDED") and (not states or state != states[-1]):
                        states.append(state)
                        break
                    await asyncio.sleep(0.02)
                current = await store.get(ACCOUNTS_DOCTYPE, "acc")
                await store.update(
                    ACCOUNTS_DOCTYPE, {**{k: v for k, v in current.items() if k != "_type"}, "twoFACode": code}
                )

        tried: list[str] = []

        async def submit(code: str) -> bool:
            tried.append(code)
            return code == "123456"

        app = asyncio.create_task(home_app())
        await second_factor(
            submit, account=account, job=job, redactor=Redactor(), type="sms", timeout=20, heartbeat=0.05
        )
        await app
    assert tried == ["000000", "123456"]
    assert states == ["TWOFA_NEEDED.SMS", "TWOFA_NEEDED_RETRY.SMS"]
