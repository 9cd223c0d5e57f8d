"""Secret sources of queued runs, and which codes a queue retries (no worker, no broker needed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from browserkonnector import _errors as errors
from browserkonnector.scaling._accounts import (
    AccountError,
    account_store,
    backoff_seconds,
    fields_file_for,
    is_retryable,
)
from browserkonnector.scaling.celery import daily_spread, make_app, schedule_accounts, vendor_limits


def _resolve(account: str, environ: dict[str, str]) -> Path:
    with fields_file_for("demo", account, environ) as path:
        return path


@pytest.mark.parametrize(
    ("code", "retried"),
    [
        (errors.VENDOR_DOWN, True),
        (errors.VENDOR_DOWN_BANK_DOWN, True),
        (errors.MAINTENANCE, True),
        (errors.BROWSER_UNAVAILABLE, True),
        (errors.LOGIN_FAILED, False),
        (errors.LOGIN_FAILED_TOO_MANY_ATTEMPTS, False),
        (errors.USER_ACTION_NEEDED_CHANGE_PASSWORD, False),
        (errors.INVALID_FIELDS, False),
        (errors.UNKNOWN_ERROR, False),
        (errors.SITE_CHANGED, False),
        (errors.TIMEOUT, False),
        (None, False),
    ],
)
def test_only_what_a_later_attempt_can_fix_is_retried(code: str | None, retried: bool) -> None:
    assert is_retryable(code) is retried
    assert is_retryable(code, no_retry=True) is False


def test_backoff_doubles_up_to_a_cap() -> None:
    assert [backoff_seconds(n, base=30) for n in range(4)] == [30, 60, 120, 240]
    assert backoff_seconds(20, base=30, cap=3600) == 3600


def test_fields_come_from_a_private_file(tmp_path: Path) -> None:
    folder = tmp_path / "accounts"
    folder.mkdir()
    env = {"BROWSERKONNECTOR_ACCOUNTS_DIR": str(folder)}
    with pytest.raises(AccountError, match=r"account 'alice': no fields file .*alice\.json"):
        _resolve("alice", env)
    path = folder / "alice.json"
    path.write_text('{"login": "a", "password": "p"}')
    path.chmod(0o644)
    with pytest.raises(AccountError, match=r"may be read by others \(mode 644\); chmod 600 it"):
        _resolve("alice", env)
    path.chmod(0o600)
    with fields_file_for("demo", "alice", env) as found:
        assert found == path
    with pytest.raises(AccountError, match=r"account '\.\./etc': use 1-128 letters"):
        _resolve("../etc", env)
    with pytest.raises(AccountError, match="no secret source"):
        _resolve("alice", {})
    assert account_store("alice", {"BROWSERKONNECTOR_STORES_DIR": str(tmp_path)}) == tmp_path / "alice"


def test_fields_from_a_provider_live_in_a_private_file_for_the_run_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_vault.py").write_text(
        "def fields(connector, account):\n    return {'login': account, 'password': 'from-the-vault'}\n"
        "def broken(connector, account):\n    return 'nope'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with fields_file_for("demo", "bob", {"BROWSERKONNECTOR_FIELDS_PROVIDER": "my_vault:fields"}) as path:
        assert json.loads(path.read_text()) == {"login": "bob", "password": "from-the-vault"}
        assert path.stat().st_mode & 0o777 == 0o600
    assert not path.exists()
    with pytest.raises(AccountError, match=r"my_vault:broken: returned a str for 'bob'"):
        _resolve("bob", {"BROWSERKONNECTOR_FIELDS_PROVIDER": "my_vault:broken"})
    with pytest.raises(AccountError, match="cannot load it"):
        _resolve("bob", {"BROWSERKONNECTOR_FIELDS_PROVIDER": "no_such_vault:fields"})
    sys.modules.pop("my_vault", None)


def test_vendor_limits_and_schedules() -> None:
    assert vendor_limits({"BROWSERKONNECTOR_VENDOR_LIMITS": "demo_vendor=2, acme=1"}) == {"demo_vendor": 2, "acme": 1}
    with pytest.raises(ValueError, match=r"'acme=0' is not vendor=N"):
        vendor_limits({"BROWSERKONNECTOR_VENDOR_LIMITS": "acme=0"})
    app = make_app(broker="redis://127.0.0.1:1/0")
    assert app.conf.task_acks_late
    assert app.conf.task_reject_on_worker_lost
    added = schedule_accounts(app, [("connectors/demo_vendor", "alice"), ("connectors/demo_vendor", "bob")])
    assert set(added) == {"bk:demo_vendor:alice", "bk:demo_vendor:bob"}
    assert added["bk:demo_vendor:alice"]["args"] == ("connectors/demo_vendor", "alice")
    assert daily_spread("alice") == daily_spread("alice")  # stable: the same minute every day
    hours = {next(iter(daily_spread(f"acct-{i}").hour)) for i in range(50)}
    assert hours <= set(range(1, 6))
    assert len(hours) > 1  # spread, not all at once
