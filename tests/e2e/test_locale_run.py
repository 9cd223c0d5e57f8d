"""A run's browser and its ``ctx.http`` speak one language, the one the run chose (real Chromium, a real
server on loopback that records each request's ``Accept-Language``)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_vendor_site import DemoSite
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from browserkonnector.testing._server import BackgroundServer

from .conftest import run_args, run_cli

pytestmark = pytest.mark.browser

CONNECTOR = textwrap.dedent("""
    from browserkonnector import Konnector, RunContext

    konnector = Konnector(browser=True{declared})

    @konnector.main
    async def start(ctx: RunContext) -> None:
        base = ctx.fields["base_url"]
        await ctx.page.goto(base + "/page")
        language, zone = await ctx.page.evaluate(
            "[navigator.language, Intl.DateTimeFormat().resolvedOptions().timeZone]")
        answer = (await ctx.http.get(base + "/api")).json()
        ctx.log.info("page {{}} {{}} / api saw {{}}", language, zone, answer["accept_language"])
""")


@pytest.fixture
def echo() -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    seen: list[tuple[str, str | None]] = []

    async def page(request: Request) -> Response:
        seen.append(("page", request.headers.get("accept-language")))
        return HTMLResponse("<!doctype html><title>x</title><p>hello</p>")

    async def api(request: Request) -> Response:
        value = request.headers.get("accept-language")
        seen.append(("api", value))
        return JSONResponse({"accept_language": value})

    with BackgroundServer(Starlette(routes=[Route("/page", page), Route("/api", api)])) as server:
        yield server.url, seen


def run(tmp_path: Path, url: str, *extra: str, declared: str = "", env: dict[str, str] | None = None) -> str:
    connector = tmp_path / "lang_konnector.py"
    connector.write_text(CONNECTOR.format(declared=declared))
    done = run_cli(
        [
            "run",
            str(connector),
            "--store",
            str(tmp_path / "store"),
            "--artifacts",
            str(tmp_path / "a"),
            "--offline-dns",
            "--field",
            f"base_url={url}",
            *extra,
        ],
        env=env,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    [line] = [m for m in done.messages("info") if m.startswith("page ")]
    return line


def test_the_option_reaches_the_page_and_ctx_http_alike(tmp_path: Path, echo: tuple[str, list]) -> None:
    url, seen = echo
    line = run(tmp_path, url, "--locale", "de-DE", "--timezone", "Asia/Tokyo", env={"LANG": "C.UTF-8"})
    assert line == "page de-DE Asia/Tokyo / api saw de-DE"
    assert seen == [("page", "de-DE"), ("api", "de-DE")]


def test_the_connector_declaration_then_the_machine(tmp_path: Path, echo: tuple[str, list]) -> None:
    url, seen = echo
    line = run(
        tmp_path, url, declared=', locale="en-GB", timezone="America/Denver"', env={"LANG": "fr_FR.UTF-8", "TZ": "UTC"}
    )
    assert line == "page en-GB America/Denver / api saw en-GB"
    seen.clear()
    line = run(tmp_path, url, env={"LANG": "it_IT.UTF-8", "TZ": "Europe/Rome"})
    assert line == "page it-IT Europe/Rome / api saw it-IT"
    assert seen == [("page", "it-IT"), ("api", "it-IT")]


def test_a_c_locale_forces_nothing_and_both_paths_send_no_language(tmp_path: Path, echo: tuple[str, list]) -> None:
    url, seen = echo
    run(tmp_path, url, env={"LANG": "C.UTF-8", "LC_ALL": "", "TZ": "UTC"})
    assert seen == [("page", None), ("api", None)]


@pytest.mark.site(bills=3)
def test_the_readme_command_runs_the_demo_connector_in_english(site: DemoSite, tmp_path: Path) -> None:
    done = run_cli(
        [*run_args(site, tmp_path, extra=["--locale", "en-GB", "--timezone", "UTC"]), "--log-level", "debug"]
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert any("browser language en-GB (from --locale), time zone UTC (from --timezone)" in m for m in done.messages())
    refused = run_cli(["run", "connectors/demo_vendor", "--timezone", "Paris"])
    assert refused.returncode == 2
    assert "--timezone: 'Paris' is not an IANA time zone such as 'UTC' or 'Europe/Berlin'" in refused.stderr
