"""request_factory against a real Starlette app on loopback: redirects, cookies, retries, parsing."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.cookiejar import CookieJar
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from browserkonnector._request import (
    DEFAULT_USER_AGENT,
    RetryTransport,
    cookies_from_playwright,
    get_html,
    get_parsed,
    parse_retry_after,
    request_factory,
    retry_extension,
)
from browserkonnector.testing._server import BackgroundServer

pytestmark = pytest.mark.anyio

HITS: Counter[str] = Counter()


def _key(request: Request) -> str:
    return f"{request.url.path}?{request.query_params.get('k', '')}"


async def echo(request: Request) -> JSONResponse:
    HITS[_key(request)] += 1
    return JSONResponse(
        {
            "ua": request.headers.get("user-agent"),
            "cookie": request.headers.get("cookie"),
            "cookies": dict(request.cookies),
            "path": request.url.path,
        }
    )


async def set_cookie(request: Request) -> Response:
    response = RedirectResponse("/echo", status_code=302)
    response.set_cookie("session", "s-123", path="/")
    return response


async def redirect_chain(request: Request) -> Response:
    n = int(request.path_params["n"])
    return RedirectResponse(f"/redirect/{n - 1}" if n > 1 else "/echo", status_code=302)


async def flaky(request: Request) -> Response:
    """Fails with ``status`` the first ``fail`` times for a given ``k``, then answers 200."""
    key = _key(request)
    HITS[key] += 1
    await request.body()
    if HITS[key] <= int(request.query_params.get("fail", "0")):
        headers = {}
        if "after" in request.query_params:
            headers["Retry-After"] = request.query_params["after"]
        return PlainTextResponse("busy", status_code=int(request.query_params["status"]), headers=headers)
    return JSONResponse({"ok": True, "hits": HITS[key]})


async def slow(request: Request) -> Response:
    HITS[_key(request)] += 1
    await asyncio.sleep(float(request.query_params.get("s", "1")))
    return PlainTextResponse("late")


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(
        "<html><body><h1 class='t'>Factures</h1>"
        "<a class='bill' href='/bills/1.pdf'>jan</a><a class='bill' href='bills/2.pdf'>feb</a>"
        "<table><tr><td>12,50 €</td></tr></table></body></html>"
    )


APP = Starlette(
    routes=[
        Route("/echo", echo, methods=["GET", "POST"]),
        Route("/set-cookie", set_cookie),
        Route("/redirect/{n}", redirect_chain),
        Route("/flaky", flaky, methods=["GET", "POST"]),
        Route("/slow", slow),
        Route("/app/page.html", page),
    ]
)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with BackgroundServer(APP) as srv:
        yield srv.url


class SleepRecorder:
    """Stands in for the backoff sleep: counts waits instead of waiting (no timed assertion)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
async def http(server: str, sleeps: SleepRecorder) -> AsyncIterator[httpx.AsyncClient]:
    async with request_factory(base_url=server, retry_options={"sleep": sleeps}) as client:
        yield client


def _k(request: pytest.FixtureRequest) -> str:
    return str(request.node.name)


# -- user agent, redirects, cookies -------------------------------------------------------------------


async def test_default_user_agent_is_a_desktop_browser(http: httpx.AsyncClient) -> None:
    body = (await http.get("/echo")).json()
    assert body["ua"] == DEFAULT_USER_AGENT
    assert "Chrome/" in DEFAULT_USER_AGENT
    assert "python" not in DEFAULT_USER_AGENT.lower()


async def test_user_agent_override_and_opt_out(server: str) -> None:
    async with request_factory(base_url=server, user_agent="MyAgent/1.0") as c:
        assert (await c.get("/echo")).json()["ua"] == "MyAgent/1.0"
    async with request_factory(base_url=server, user_agent=False) as c:
        assert (await c.get("/echo")).json()["ua"].startswith("python-httpx/")
    async with request_factory(base_url=server, headers={"User-Agent": "Explicit/2"}) as c:
        assert (await c.get("/echo")).json()["ua"] == "Explicit/2"


async def test_redirects_are_followed(http: httpx.AsyncClient) -> None:
    response = await http.get("/redirect/3")
    assert response.status_code == 200
    assert response.json()["path"] == "/echo"
    assert [r.status_code for r in response.history] == [302, 302, 302]


async def test_redirects_can_be_disabled(server: str) -> None:
    async with request_factory(base_url=server, follow_redirects=False) as c:
        response = await c.get("/redirect/2")
    assert response.status_code == 302
    assert response.headers["location"] == "/redirect/1"


async def test_cookie_set_by_server_is_sent_back_across_a_redirect(http: httpx.AsyncClient) -> None:
    response = await http.get("/set-cookie")
    assert response.json()["cookies"] == {"session": "s-123"}
    assert (await http.get("/echo")).json()["cookies"] == {"session": "s-123"}
    assert http.cookies.get("session") == "s-123"


async def test_cookies_given_as_dict_are_sent(server: str) -> None:
    async with request_factory(base_url=server, cookies={"lang": "fr", "consent": "yes"}) as c:
        assert (await c.get("/echo")).json()["cookies"] == {"lang": "fr", "consent": "yes"}


async def test_playwright_cookies_are_sent_with_their_scope(server: str) -> None:
    cookies = [
        {
            "name": "host_only",
            "value": "1",
            "domain": "127.0.0.1",
            "path": "/",
            "expires": -1,
            "httpOnly": True,
            "secure": False,
            "sameSite": "Lax",
        },
        {
            "name": "in_app",
            "value": "2",
            "domain": "127.0.0.1",
            "path": "/app",
            "expires": 4102444800,
            "httpOnly": False,
            "secure": False,
            "sameSite": "Lax",
        },
        {
            "name": "secure_only",
            "value": "3",
            "domain": "127.0.0.1",
            "path": "/",
            "expires": -1,
            "httpOnly": False,
            "secure": True,
            "sameSite": "None",
        },
        {"name": "elsewhere", "value": "4", "domain": "vendor.example", "path": "/", "expires": -1},
    ]
    async with request_factory(base_url=server, cookies=cookies) as c:
        assert (await c.get("/echo")).json()["cookies"] == {"host_only": "1"}
        page_cookie = (await c.get("/app/page.html")).request.headers["cookie"]
    assert sorted(page_cookie.split("; ")) == ["host_only=1", "in_app=2"]


async def test_a_cookie_synced_by_a_request_hook_is_sent_on_that_request(server: str) -> None:
    """The browser layer syncs the context's cookies into the jar in a request hook, right before sending."""
    async with request_factory(base_url=server) as c:

        async def sync(request: httpx.Request) -> None:
            c.cookies.jar.set_cookie(
                next(
                    iter(
                        cookies_from_playwright(
                            [{"name": "fresh", "value": "f1", "domain": "127.0.0.1", "path": "/"}]
                        ).jar
                    )
                )
            )

        c.event_hooks["request"].append(sync)
        assert (await c.get("/echo")).json()["cookies"] == {"fresh": "f1"}


async def test_an_explicit_cookie_header_is_sent_as_given(server: str) -> None:
    async with request_factory(base_url=server, cookies={"jar": "1"}) as c:
        sent = (await c.get("/echo", headers={"Cookie": "hand=made"})).json()["cookie"]
    assert sent == "hand=made"


def _cookie_header(jar: httpx.Cookies, url: str) -> str | None:
    request = httpx.Request("GET", url)
    jar.set_cookie_header(request)
    header: str | None = request.headers.get("cookie")
    return header


def test_cookies_from_playwright_domain_and_path_rules() -> None:
    jar = cookies_from_playwright(
        [
            {"name": "host", "value": "h", "domain": "example.com", "path": "/"},
            {"name": "dom", "value": "d", "domain": ".example.com", "path": "/"},
            {"name": "api", "value": "a", "domain": "example.com", "path": "/api"},
            {"name": "local", "value": "l", "domain": "localhost", "path": "/"},
            {"name": "sec", "value": "s", "domain": "example.com", "path": "/", "secure": True},
        ]
    )
    assert _cookie_header(jar, "http://example.com/") == "host=h; dom=d"
    assert _cookie_header(jar, "http://sub.example.com/") == "dom=d"  # host-only stays on its host
    assert _cookie_header(jar, "http://example.com/api/x") == "api=a; host=h; dom=d"
    assert _cookie_header(jar, "http://example.com/apix") == "host=h; dom=d"
    assert _cookie_header(jar, "https://example.com/") == "host=h; sec=s; dom=d"
    assert _cookie_header(jar, "http://localhost:8080/") == "local=l"
    assert _cookie_header(jar, "http://notexample.com/") is None


def test_cookies_from_playwright_expiry_and_bad_input() -> None:
    jar = cookies_from_playwright(
        [
            {"name": "session", "value": "1", "domain": "a.test", "expires": -1},
            {"name": "persistent", "value": "2", "domain": "a.test", "expires": 4102444800.5},
        ]
    )
    by_name = {c.name: c for c in jar.jar}
    assert by_name["session"].expires is None
    assert by_name["session"].discard
    assert by_name["persistent"].expires == 4102444800
    assert not by_name["persistent"].discard
    with pytest.raises(ValueError, match=r"cookie #1 lacks domain"):
        cookies_from_playwright([{"name": "a", "value": "b", "domain": "x"}, {"name": "a", "value": "b"}])
    with pytest.raises(TypeError, match="cookies= takes"):
        request_factory(cookies=42)  # type: ignore[arg-type]


async def test_a_stdlib_cookiejar_is_shared(server: str) -> None:
    jar = CookieJar()
    async with request_factory(base_url=server, cookies=jar) as c:
        await c.get("/set-cookie")
    assert [cookie.name for cookie in jar] == ["session"]


# -- retries ------------------------------------------------------------------------------------------


async def test_retries_a_500_then_succeeds(
    http: httpx.AsyncClient, sleeps: SleepRecorder, request: pytest.FixtureRequest
) -> None:
    k = _k(request)
    response = await http.get("/flaky", params={"k": k, "fail": 2, "status": 500})
    assert response.status_code == 200
    assert response.json()["hits"] == 3
    assert response.extensions["bk_attempts"] == 3
    assert len(sleeps.waits) == 2
    assert all(w > 0 for w in sleeps.waits)


async def test_gives_up_after_retries_and_returns_the_last_answer(
    server: str, sleeps: SleepRecorder, request: pytest.FixtureRequest
) -> None:
    k = _k(request)
    async with request_factory(base_url=server, retries=2, retry_options={"sleep": sleeps}) as c:
        response = await c.get("/flaky", params={"k": k, "fail": 10, "status": 502})
        assert response.status_code == 502
        assert c.retry_transport.retry_count == 2
    assert HITS[f"/flaky?{k}"] == 3


async def test_429_retry_after_seconds_is_honoured_and_counted(
    server: str, sleeps: SleepRecorder, request: pytest.FixtureRequest
) -> None:
    k = _k(request)
    events: list[Any] = []
    opts = {"sleep": sleeps, "on_retry": events.append}
    async with request_factory(base_url=server, retry_options=opts) as c:
        response = await c.get("/flaky", params={"k": k, "fail": 2, "status": 429, "after": 7})
        assert c.retry_transport.retry_count == 2
    assert response.status_code == 200
    assert sleeps.waits == [7.0, 7.0]
    assert [(e.status, e.attempt, e.wait) for e in events] == [(429, 1, 7.0), (429, 2, 7.0)]
    assert "k=" not in events[0].url  # the query (which may hold secrets) is not recorded


async def test_429_retry_after_http_date_and_cap(
    server: str, sleeps: SleepRecorder, request: pytest.FixtureRequest
) -> None:
    k = _k(request)
    later = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    opts = {"sleep": sleeps, "max_retry_after": 30.0}
    async with request_factory(base_url=server, retry_options=opts) as c:
        response = await c.get("/flaky", params={"k": k, "fail": 1, "status": 429, "after": later})
    assert response.status_code == 200
    assert sleeps.waits == [30.0]  # two hours asked, capped


async def test_no_retry_on_404_or_other_4xx(http: httpx.AsyncClient, request: pytest.FixtureRequest) -> None:
    k = _k(request)
    for status in (404, 400, 401, 403, 409):
        response = await http.get("/flaky", params={"k": f"{k}{status}", "fail": 5, "status": status})
        assert response.status_code == status
        assert HITS[f"/flaky?{k}{status}"] == 1
    assert (await http.get("/missing")).status_code == 404


async def test_post_is_not_retried_on_500_but_is_on_503(
    http: httpx.AsyncClient, request: pytest.FixtureRequest
) -> None:
    k = _k(request)
    first = await http.post("/flaky", params={"k": k + "a", "fail": 1, "status": 500}, json={"x": 1})
    assert first.status_code == 500
    assert HITS[f"/flaky?{k}a"] == 1
    second = await http.post("/flaky", params={"k": k + "b", "fail": 1, "status": 503}, json={"x": 1})
    assert second.status_code == 200
    assert HITS[f"/flaky?{k}b"] == 2
    third = await http.post(
        "/flaky", params={"k": k + "c", "fail": 1, "status": 500}, json={"x": 1}, extensions=retry_extension("all")
    )
    assert third.status_code == 200
    assert HITS[f"/flaky?{k}c"] == 2


async def test_a_streamed_body_is_not_replayed(http: httpx.AsyncClient, request: pytest.FixtureRequest) -> None:
    k = _k(request)

    async def body() -> AsyncIterator[bytes]:
        yield b"chunk"

    response = await http.post(
        "/flaky", params={"k": k, "fail": 1, "status": 500}, content=body(), extensions=retry_extension("all")
    )
    assert response.status_code == 500  # the chunks are gone: repeating would send an empty body
    assert HITS[f"/flaky?{k}"] == 1


async def test_timeouts_are_retried_then_raised(
    server: str, sleeps: SleepRecorder, request: pytest.FixtureRequest
) -> None:
    k = _k(request)
    async with request_factory(base_url=server, timeout=0.2, retries=1, retry_options={"sleep": sleeps}) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.get("/slow", params={"k": k, "s": 1.5})
        assert [e.error for e in c.retry_transport.events] == ["ReadTimeout"]
    assert HITS[f"/slow?{k}"] == 2


async def test_connection_errors_are_retried(sleeps: SleepRecorder) -> None:
    with BackgroundServer(APP) as srv:
        url = srv.url
    async with request_factory(retries=2, retry_options={"sleep": sleeps}) as c:  # the port is closed now
        with pytest.raises(httpx.ConnectError):
            await c.get(url + "/echo")
        assert [e.error for e in c.retry_transport.events] == ["ConnectError", "ConnectError"]


async def test_invalid_retry_policy_is_refused(http: httpx.AsyncClient) -> None:
    with pytest.raises(ValueError, match=r"extensions\['retry'\]"):
        await http.get("/echo", extensions={"retry": "sometimes"})


def test_retry_transport_refuses_negative_retries() -> None:
    with pytest.raises(ValueError, match="retries"):
        RetryTransport(retries=-1)


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 31 Dec 2025 23:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


# -- parsing ------------------------------------------------------------------------------------------


async def test_get_parsed_json(http: httpx.AsyncClient) -> None:
    body = await get_parsed(http, "/echo", parse="json")
    assert body["path"] == "/echo"


async def test_get_parsed_html_with_css_selection(server: str) -> None:
    async with request_factory(base_url=server, parse="html") as c:
        doc = await c.get_parsed("/app/page.html")
    assert doc.css("h1.t::text").get() == "Factures"
    hrefs = doc.css("a.bill::attr(href)").getall()
    assert hrefs == ["/bills/1.pdf", "bills/2.pdf"]
    base = doc.root.base_url  # the response URL: relative links resolve against it
    assert [urljoin(base, h) for h in hrefs] == [f"{server}/bills/1.pdf", f"{server}/app/bills/2.pdf"]
    assert doc.xpath("//td/text()").get() == "12,50 €"


async def test_get_html_is_typed_parsing(http: httpx.AsyncClient) -> None:
    doc = await get_html(http, "/app/page.html")
    assert doc.css("a.bill::text").getall() == ["jan", "feb"]


async def test_get_parsed_raises_on_non_2xx(http: httpx.AsyncClient) -> None:
    with pytest.raises(httpx.HTTPStatusError) as info:
        await get_parsed(http, "/nope", parse="json")
    assert info.value.response.status_code == 404


async def test_get_parsed_raw_and_bad_mode(server: str) -> None:
    async with request_factory(base_url=server, parse="json") as c:
        assert (await c.get_parsed("/echo"))["path"] == "/echo"
        raw = await c.get_parsed("/echo", parse="raw")
        assert isinstance(raw, httpx.Response)
    with pytest.raises(ValueError, match="parse must be"):
        request_factory(parse="xml")  # type: ignore[arg-type]
