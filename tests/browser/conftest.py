"""A small local vendor site and the shared browser for the browser-layer tests.

The site is a real Starlette app on 127.0.0.1:0 (``BackgroundServer``) with exactly the cases the
browser layer has to survive: a JS page whose XHR is followed by a navigation away, attachment / inline /
``blob:`` PDFs, a login form that posts a password and gets back a session cookie and a bearer token,
images/fonts/media to block, a slow page and a noisy page (console errors, page errors, 404s).

One Chromium (the headless shell) is shared by the whole test session; every test gets a fresh context.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest
from pypdf import PdfWriter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from browserkonnector.browser import BrowserOptions, BrowserSession
from browserkonnector.testing._server import BackgroundServer

PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def make_pdf(title: str) -> bytes:
    """A valid one-page PDF whose metadata title tells the fixtures apart."""
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@dataclass
class SiteState:
    """What the site knows: the account's password and the session values it hands out."""

    username: str = "alice@example.org"
    # Space, slash, plus, ampersand, quote, euro: every encoding differs from the plain form.
    password: str = 'Hunter2 s€cret/+&"q'
    session_cookie: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    token: str = field(default_factory=lambda: secrets.token_hex(20))
    #: The login form's hidden anti-forgery token (Django-style: not the value of any cookie).
    form_csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    pdfs: dict[str, bytes] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)

    def pdf(self, name: str) -> bytes:
        if name not in self.pdfs:
            self.pdfs[name] = make_pdf(name)
        return self.pdfs[name]


def _page(body: str, title: str = "Test", head: str = "") -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>{head}</head>"
        f"<body>{body}</body></html>"
    )


def build_app(state: SiteState) -> Starlette:
    def hit(name: str) -> None:
        state.hits[name] = state.hits.get(name, 0) + 1

    async def spa(request: Request) -> Response:
        wait = request.query_params.get("wait", "json")
        # wait=json: read the body, then leave; wait=headers: leave as soon as the headers are in.
        js = (
            "const r = await fetch('/api/bills?month=2024-01');"
            + (
                "const j = await r.json(); document.querySelector('#out').textContent = j.items.length;"
                if wait == "json"
                else ""
            )
            + "location.href = '/spa/done';"
        )
        return _page(f"<div id='out'>loading</div><script type='module'>{js}</script>", "SPA")

    async def spa_done(request: Request) -> Response:
        return _page("<h1 id='done'>done</h1>", "Done")

    async def api_bills(request: Request) -> Response:
        hit("api_bills")
        month = request.query_params.get("month", "")
        items = [{"id": f"b{i}", "amount": 10.5 + i, "month": month, "label": "Ünïcödé € é"} for i in range(3)]
        return JSONResponse({"items": items, "month": month})

    async def api_other(request: Request) -> Response:
        return JSONResponse({"other": True})

    async def api_text(request: Request) -> Response:
        return Response("not json", media_type="application/json")

    async def images(request: Request) -> Response:
        n = int(request.query_params.get("n", "40"))
        delay = request.query_params.get("delay", "0")
        imgs = "".join(f"<img src='/img/{i}.png?delay={delay}' width=10 height=10>" for i in range(n))
        head = (
            "<link rel=stylesheet href='/style.css'>"
            "<style>@font-face{font-family:Vendor;src:url('/font.woff2') format('woff2')}"
            "body{font-family:Vendor, sans-serif}</style>"
        )
        body = (
            f"<p>text</p>{imgs}<img id=noext src='/img/raw?delay={delay}' width=10 height=10>"
            "<video id=v src='/media/clip.mp4' autoplay muted></video>"
            "<div id='data'>…</div><script>fetch('/api/bills').then(r=>r.json())"
            ".then(j=>{document.querySelector('#data').textContent='items:'+j.items.length})</script>"
        )
        return _page(body, "Images", head)

    async def img(request: Request) -> Response:
        hit("img")
        delay = float(request.query_params.get("delay", "0"))
        if delay:
            await asyncio.sleep(delay)
        return Response(PNG_1PX, media_type="image/png")

    async def font(request: Request) -> Response:
        hit("font")
        return Response(b"wOF2" + b"\0" * 64, media_type="font/woff2")

    async def media(request: Request) -> Response:
        hit("media")
        return Response(b"\0" * 256, media_type="video/mp4")

    async def style(request: Request) -> Response:
        return Response("p{color:#333}", media_type="text/css")

    def pdf_response(name: str, disposition: str | None) -> Response:
        headers = {"Content-Disposition": disposition} if disposition else {}
        return Response(state.pdf(name), media_type="application/pdf", headers=headers)

    async def attach_pdf(request: Request) -> Response:
        hit("attach")
        return pdf_response("attach", 'attachment; filename="facture-2024-01.pdf"')

    async def inline_pdf(request: Request) -> Response:
        hit("inline")
        return pdf_response("inline", 'inline; filename="inline-bill.pdf"')

    async def noext_pdf(request: Request) -> Response:
        hit("noext")
        return pdf_response("noext", None)

    async def utf8_pdf(request: Request) -> Response:
        return pdf_response("utf8", "attachment; filename*=UTF-8''facture%20%C3%A9t%C3%A9.pdf")

    async def protected_pdf(request: Request) -> Response:
        if request.cookies.get("session") != state.session_cookie:
            return JSONResponse({"error": "login required"}, status_code=401)
        return pdf_response("protected", 'inline; filename="protected.pdf"')

    async def downloads(request: Request) -> Response:
        b64 = base64.b64encode(state.pdf("blob")).decode()
        body = f"""
<a id=attach href='/files/attach.pdf'>attachment</a>
<a id=inline href='/files/inline.pdf'>inline (same page)</a>
<a id=popup href='/files/inline.pdf' target=_blank>inline (popup)</a>
<a id=noext-popup href='/files/noext' target=_blank>no extension (popup)</a>
<button id=blob-download>blob download</button>
<button id=blob-open>blob popup</button>
<a id=html-link href='/spa/done'>an HTML page, no file</a>
<a id=blob-anchor>blob anchor</a>
<a id=blob-nav>blob link (same page)</a>
<script>
const B64 = '{b64}';
function makeBlob() {{
  const bytes = Uint8Array.from(atob(B64), c => c.charCodeAt(0));
  return URL.createObjectURL(new Blob([bytes], {{type: 'application/pdf'}}));
}}
document.getElementById('blob-download').onclick = () => {{
  const a = document.createElement('a'); a.href = makeBlob(); a.download = 'blob-bill.pdf';
  document.body.appendChild(a); a.click();
}};
document.getElementById('blob-open').onclick = () => {{ window.open(makeBlob()); }};
document.getElementById('blob-anchor').href = makeBlob();
document.getElementById('blob-nav').href = makeBlob();
</script>"""
        return _page(body, "Downloads")

    async def embeds(request: Request) -> Response:
        # Its own page: the headless shell turns a framed PDF into a download event, which would
        # otherwise land in the middle of the get_file races of /downloads.
        return _page(
            "<iframe id=frame src='/files/inline.pdf' width=100 height=100></iframe>"
            "<embed id=embed src='/files/noext' type='application/pdf' width=100 height=100>",
            "Embeds",
        )

    async def login_page(request: Request) -> Response:
        body = """
<form id=login>
  <input id=username name=username autocomplete=off>
  <input id=password name=password type=password autocomplete=off>
  <button type=submit>Sign in</button>
</form>
<div id=welcome></div>
<script>
document.getElementById('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await fetch('/api/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({username: username.value, password: password.value})});
  if (!r.ok) { document.getElementById('welcome').textContent = 'refused'; return; }
  const j = await r.json();
  sessionStorage.setItem('token', j.token);
  sessionStorage.setItem('theme', 'dark');
  const me = await fetch('/api/me', {headers: {Authorization: 'Bearer ' + sessionStorage.getItem('token')}});
  const who = await me.json();
  document.getElementById('welcome').textContent = 'Welcome ' + who.name;
});
</script>"""
        return _page(body, "Login")

    async def api_login(request: Request) -> Response:
        data = await request.json()
        if data.get("username") != state.username or data.get("password") != state.password:
            return JSONResponse({"error": "bad credentials"}, status_code=403)
        response = JSONResponse({"token": state.token})
        response.set_cookie("session", state.session_cookie, httponly=True, path="/")
        return response

    async def login_form_post(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))  # no python-multipart needed
        if form.get("csrfmiddlewaretoken") != state.form_csrf:
            return _page("forbidden (CSRF)", "Forbidden")
        if form.get("password") != state.password:
            return _page("refused", "Refused")
        response = RedirectResponse("/spa/done", status_code=303)
        response.set_cookie("session", state.session_cookie, httponly=True, path="/")
        return response

    async def login_form(request: Request) -> Response:
        return _page(
            "<form method=post action='/login-form'>"
            f"<input type=hidden name=csrfmiddlewaretoken value='{state.form_csrf}'>"
            "<input id=password name=password type=password>"
            "<button type=submit>Go</button></form>",
            "Form login",
        )

    async def api_me(request: Request) -> Response:
        ok = (
            request.cookies.get("session") == state.session_cookie
            and request.headers.get("authorization") == f"Bearer {state.token}"
        )
        if not ok:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return JSONResponse({"name": "Alice"})

    async def echo_cookies(request: Request) -> Response:
        return JSONResponse({"cookies": dict(request.cookies), "headers": dict(request.headers)})

    async def set_cookie(request: Request) -> Response:
        response = JSONResponse({"ok": True})
        name = request.query_params["name"]
        response.set_cookie(name, request.query_params["value"], path="/")
        return response

    async def slow(request: Request) -> Response:
        await asyncio.sleep(float(request.query_params.get("s", "3")))
        return _page("<p id=slow>finally</p>", "Slow")

    async def noisy(request: Request) -> Response:
        body = """<p>noisy</p><script>
console.log('hello from the page');
console.error('token=' + new URLSearchParams(location.search).get('token'));
fetch('/missing?token=' + new URLSearchParams(location.search).get('token'));
fetch('http://127.0.0.1:9/refused').catch(() => {});
setTimeout(() => { throw new Error('boom in page'); }, 0);
</script>"""
        return _page(body, "Noisy")

    async def missing(request: Request) -> Response:
        return JSONResponse({"error": "not here"}, status_code=404)

    async def bill_html(request: Request) -> Response:
        n = request.path_params["n"]
        rows = "".join(f"<tr><td>Ligne {i}</td><td>{i}.00 €</td></tr>" for i in range(10))
        body = (
            f"<h2>Facture n°{n}</h2><p class=u>Ünïcödé € é</p><img src='/img/logo.png'>"
            f"<table style='background:#eee'>{rows}</table>"
        )
        return _page(body, f"Facture {n}")

    async def blank(request: Request) -> Response:
        return _page("<p>blank</p>", "Blank")

    routes = [
        Route("/spa", spa),
        Route("/spa/done", spa_done),
        Route("/api/bills", api_bills),
        Route("/api/other", api_other),
        Route("/api/text", api_text),
        Route("/images", images),
        Route("/img/{name}", img),
        Route("/font.woff2", font),
        Route("/media/clip.mp4", media),
        Route("/style.css", style),
        Route("/files/attach.pdf", attach_pdf),
        Route("/files/inline.pdf", inline_pdf),
        Route("/files/noext", noext_pdf),
        Route("/files/utf8", utf8_pdf),
        Route("/files/protected.pdf", protected_pdf),
        Route("/downloads", downloads),
        Route("/embeds", embeds),
        Route("/login", login_page),
        Route("/api/login", api_login, methods=["POST"]),
        Route("/login-form", login_form),
        Route("/login-form", login_form_post, methods=["POST"]),
        Route("/api/me", api_me),
        Route("/api/echo-cookies", echo_cookies),
        Route("/api/set-cookie", set_cookie),
        Route("/slow", slow),
        Route("/noisy", noisy),
        Route("/missing", missing),
        Route("/bill/{n}", bill_html),
        Route("/blank", blank),
    ]
    return Starlette(routes=routes)


@dataclass
class Site:
    url: str
    state: SiteState

    def __call__(self, path: str) -> str:
        return self.url + path


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    state = SiteState()
    with BackgroundServer(build_app(state)) as server:
        yield Site(server.url, state)


@pytest.fixture(scope="session")
async def browser_session(anyio_backend: str) -> AsyncIterator[BrowserSession]:
    """One headless-shell Chromium for the whole session (launching costs ~0.2–0.5 s)."""
    async with BrowserSession(BrowserOptions()) as session:
        yield session


@pytest.fixture
async def ctx(browser_session: BrowserSession) -> AsyncIterator[Any]:
    """A fresh context of the shared browser (named so as not to shadow pytest-playwright's ``context``)."""
    context = await browser_session.new_context()
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture
async def tab(ctx: Any) -> Any:
    """A page of :func:`ctx`."""
    return await ctx.new_page()


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def dumps(value: Any) -> str:
    return json.dumps(value)
