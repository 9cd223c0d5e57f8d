"""The misbehaviour knobs and the control routes, checked on behaviour and stats (never on wall time)."""

from __future__ import annotations

from itertools import pairwise
from math import floor

import httpx
import pytest
from demo_vendor_site import DemoSite, SiteConfig
from demo_vendor_site.knobs import fails_at, knobbed

from .client import ALICE, ClientFactory, SiteClient, SiteFactory


@pytest.mark.parametrize("rate", [0.0, 0.01, 0.1, 0.25, 1 / 3, 0.5, 0.7, 1.0])
def test_the_500_sequence_fails_exactly_floor_n_times_rate(rate: float) -> None:
    failures = [fails_at(n, rate) for n in range(1, 1001)]
    for n in (1, 7, 100, 1000):
        assert sum(failures[:n]) == floor(n * rate + 1e-9)
    if rate <= 0.5:  # a single retry always gets through
        assert not any(a and b for a, b in pairwise(failures))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/bills", True),
        ("/api/session/login", True),
        ("/files/bills/B-100001/download", True),
        ("/bills/B-100001/print", True),
        ("/", False),
        ("/bills", False),
        ("/bills/B-100001", False),
        ("/static/app.js", False),
        ("/__demo__/stats", False),
    ],
)
def test_knobs_apply_to_api_files_and_print_only(path: str, expected: bool) -> None:
    assert knobbed(path) is expected


def test_error_rate_one_fails_every_api_request_but_not_the_shell(
    make_site: SiteFactory, make_client: ClientFactory
) -> None:
    site = make_site(error_rate=1.0)
    client = make_client(site)
    csrf = client.http.get("/api/session/csrf")
    assert csrf.status_code == 500
    assert csrf.json()["error"] == "server_error"
    login = client.http.post(
        "/api/session/login", json={"email": ALICE[0], "password": ALICE[1]}, headers={"X-CSRF-Token": "x"}
    )
    assert login.status_code == 500  # before CSRF and credentials are even looked at
    assert client.http.get("/files/bills/B-100001/download").status_code == 500
    assert client.http.get("/bills/B-100001/print").status_code == 500
    for path in ("/", "/login", "/static/app.js", "/static/logo.png", "/static/font.woff2"):
        assert client.http.get(path).status_code == 200, path
    stats = site.stats()
    assert stats["status_500"] == 4
    assert stats["logins_ok"] + stats["logins_failed"] == 0
    assert stats["requests"]["login"] == 1
    assert stats["requests"]["static"] == 3


def test_a_partial_error_rate_fails_the_same_requests_every_run(
    make_site: SiteFactory, make_client: ClientFactory
) -> None:
    site = make_site()
    client = make_client(site)
    client.login()  # csrf + login: knob requests 1 and 2
    site.config.error_rate = 0.25
    site.reset_stats()  # restarts the sequence
    runs = []
    for _ in range(2):
        runs.append([client.api("/api/bills").status_code for _ in range(12)])
        assert site.stats()["status_500"] == 3
        site.reset_stats()
    assert runs[0] == runs[1] == [200, 200, 200, 500] * 3


def test_rate_limit_answers_429_with_retry_after(make_site: SiteFactory, make_client: ClientFactory) -> None:
    site = make_site()
    client = make_client(site)
    client.login()
    site.config.rate_limit_every = 3
    site.reset_stats()
    responses = [client.api("/api/me") for _ in range(7)]
    assert [r.status_code for r in responses] == [200, 200, 429, 200, 200, 429, 200]
    limited = responses[2]
    assert limited.headers["retry-after"] == "1"
    assert limited.json()["error"] == "rate_limited"
    assert client.http.get("/bills").status_code == 200  # the shell is not counted (would be the 9th)
    assert client.api("/api/me").status_code == 200  # 8th
    assert client.api("/api/me").status_code == 429  # 9th
    stats = site.stats()
    assert stats["status_429"] == 3
    assert stats["requests"]["me"] == 9


def test_a_session_expires_after_n_authenticated_requests(make_site: SiteFactory, make_client: ClientFactory) -> None:
    site = make_site(session_max_requests=3)
    client = make_client(site)
    client.login()  # login requests are not authenticated ones
    bill = next(b for b in site.expected_bills() if b["kind"] == "download")
    assert client.api("/api/me").status_code == 200
    assert client.api("/api/bills").status_code == 200
    assert client.http.get(bill["links"]["pdf"]).status_code == 200  # file routes count too
    expired = client.api("/api/bills")
    assert expired.status_code == 401
    assert expired.json() == {"error": "session_expired"}
    assert client.api("/api/me").json() == {"error": "session_expired"}  # stays expired
    client.login()  # a new session starts a new count
    assert client.api("/api/me").status_code == 200
    assert site.stats()["session_expired_401"] == 2


def test_latency_is_applied_to_api_requests_only(make_site: SiteFactory, make_client: ClientFactory) -> None:
    site = make_site(latency_ms=20)
    client = make_client(site)
    client.login()
    client.api("/api/bills")
    client.http.get("/login")
    client.http.get("/static/app.css")
    stats = site.stats()
    assert stats["delayed"] == 3  # csrf, login, bills
    assert stats["delay_ms_total"] == 60


def test_config_changes_take_effect_on_the_next_request(site: DemoSite, client: SiteClient) -> None:
    client.login()
    assert client.bills_page()["total"] == 24
    site.config.bills = 40
    assert client.bills_page()["total"] == 40
    site.config = SiteConfig(bills=5, error_rate=1.0)
    assert client.api("/api/bills").status_code == 500
    site.config.error_rate = 0.0
    assert client.bills_page()["total"] == 5
    with pytest.raises(TypeError, match="SiteConfig"):
        site.config = {"bills": 3}  # type: ignore[assignment]


def test_post_config_applies_a_partial_config(site: DemoSite, client: SiteClient) -> None:
    client.login()
    response = client.http.post("/__demo__/config", json={"bills": 30, "layout": "redesign"})
    assert response.status_code == 200
    assert response.json()["bills"] == 30
    assert response.json()["seed"] == 42
    assert site.config.layout == "redesign"
    assert client.bills_page()["meta"]["count"] == 30
    assert client.http.get("/__demo__/config").json() == site.config.as_dict()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"bills": -1}, "bills"),
        ({"layout": "modern"}, "layout"),
        ({"error_rate": 2}, "error_rate"),
        ({"per_page": "10"}, "per_page"),
        ({"colour": "blue"}, "colour"),
        ({"bills": 3, "otp_accounts": "no"}, "otp_accounts"),
    ],
)
def test_post_config_refuses_bad_fields_whole(
    site: DemoSite, client: SiteClient, body: dict[str, object], field: str
) -> None:
    response = client.http.post("/__demo__/config", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_config"
    assert field in response.json()["message"]
    assert site.config == SiteConfig()  # all or nothing: bills=3 was not applied either


def test_stats_count_routes_and_the_control_routes_do_not_count(site: DemoSite, client: SiteClient) -> None:
    client.login()
    client.all_bills(per_page=10)
    client.http.get("/bills")
    client.http.get("/no/such/page")
    stats = httpx.get(site.url + "/__demo__/stats").json()
    assert stats["requests"] == {"bills": 3, "csrf": 1, "login": 1, "not_found": 1, "shell": 1}
    assert stats["requests_total"] == 7
    assert stats == site.stats()
    assert httpx.post(site.url + "/__demo__/reset").json() == {"status": "ok"}
    after = site.stats()
    assert after["requests"] == {}
    assert after["logins_ok"] == 0
    assert after["knob_sequence"] == 0


def test_site_config_validates_each_field_by_name() -> None:
    config = SiteConfig()
    with pytest.raises(ValueError, match="bills"):
        config.bills = 100_000
    with pytest.raises(ValueError, match="rate_limit_every"):
        SiteConfig(rate_limit_every=0)
    with pytest.raises(ValueError, match="latency_ms"):
        SiteConfig(latency_ms=True)
    with pytest.raises(ValueError, match="no field 'colour'"):
        config.update({"colour": "blue"})
    config.update({"error_rate": 1, "session_max_requests": None})
    assert config.error_rate == 1.0
    assert isinstance(config.error_rate, float)
