"""The bank app's HTTP side: shell, generated scripts, login, the JSON API the worker syncs from."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from bank_spa_site import BankConfig, BankSite
from bank_spa_site.__main__ import build_parser, config_from_args


def test_the_shell_announces_the_boot_modules_and_the_bundle(make_bank: Callable[..., BankSite]) -> None:
    site = make_bank(boot_requests=12, bundle_kb=256)
    with httpx.Client(base_url=site.url) as http:
        shell = http.get("/").text
        assert '"modules": 12' in shell
        bundle = http.get("/static/vendor.js").content
        assert 256 * 1024 <= len(bundle) < 260 * 1024
        assert bundle.startswith(b"/* generated vendor bundle */")
        assert http.get("/static/m/11.js").status_code == 200
        assert http.get("/static/m/12.js").status_code == 404
    assert site.stats()["module"] == 2
    assert site.stats()["vendor"] == 1


def test_the_bundle_is_the_same_for_the_same_seed(make_bank: Callable[..., BankSite]) -> None:
    one, two = make_bank(bundle_kb=64), make_bank(bundle_kb=64)
    assert httpx.get(one.url + "/static/vendor.js").content == httpx.get(two.url + "/static/vendor.js").content


def test_the_api_needs_the_password_then_serves_accounts_and_pages(make_bank: Callable[..., BankSite]) -> None:
    site = make_bank(accounts=3, operations=120, page_size=50)
    with httpx.Client(base_url=site.url) as http:
        assert http.get("/api/accounts").status_code == 401
        assert http.post("/api/session", json={"password": "nope"}).status_code == 401
        assert http.post("/api/session", json={"password": site.config.password}).status_code == 200
        accounts = http.get("/api/accounts").json()["accounts"]
        assert [a["id"] for a in accounts] == ["acc-7-1", "acc-7-2", "acc-7-3"]
        pages = [
            http.get(f"/api/accounts/{accounts[1]['id']}/operations", params={"page": n}).json() for n in (1, 2, 3)
        ]
        assert [len(p["operations"]) for p in pages] == [50, 50, 20]
        assert pages[0]["pages"] == 3
        ops = [op for p in pages for op in p["operations"]]
        assert ops == site.expected_operations(accounts[1]["id"])
        assert len({op["id"] for op in ops}) == 120
        assert http.get("/api/accounts/acc-x/operations").status_code == 404
    assert site.stats()["logins_failed"] == 1
    assert site.stats()["logins_ok"] == 1


@pytest.mark.parametrize(
    ("argv", "message"), [(["--accounts", "0"], "BankConfig.accounts"), (["--bundle-kb", "-1"], "BankConfig.bundle_kb")]
)
def test_bad_knobs_are_refused_naming_the_knob(argv: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config_from_args(build_parser().parse_args(argv))


def test_defaults_have_the_heavy_traits() -> None:
    config = BankConfig()
    assert config.boot_requests >= 200
    assert config.bundle_kb >= 2048
    assert config.operations == 150
