"""Our URL glob matcher agrees with Playwright's documented semantics, and with Playwright's own routing.

Every case is checked twice: against the expected answer (the documentation's examples, and the patterns
the connectors use), and against what a real Chromium routed by Playwright decides for that glob
(``context.route(glob)``), so that a Playwright release that changed the semantics would show here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from browserkonnector.browser._urlmatch import glob_to_regex, url_matches

CASES = [
    # Playwright's documentation: "*" stops at "/", "**" does not
    ("https://example.com/*.js", "https://example.com/file.js", True),
    ("https://example.com/*.js", "https://example.com/path/file.js", False),
    ("**/*.js", "https://example.com/file.js", True),
    ("**/*.js", "https://example.com/path/file.js", True),
    # "{}" alternatives
    ("**/*.{png,jpg,jpeg}", "https://example.com/a/b.jpeg", True),
    ("**/*.{png,jpg,jpeg}", "https://example.com/a/b.gif", False),
    # "?" is a literal question mark
    ("https://example.com/?page=1", "https://example.com/?page=1", True),
    ("https://example.com/?page=1", "https://example.com/", False),
    ("**/search?q=*", "https://example.com/search?q=x", True),
    ("**/search?q=*", "https://example.com/searchXq=x", False),
    # the patterns of this repository's connectors and tests
    ("**/api/bills*", "http://127.0.0.1:8000/api/bills?month=2024-01", True),
    ("**/api/bills?*", "http://127.0.0.1:8000/api/bills?month=1", True),
    ("**/api/bills?*", "http://127.0.0.1:8000/api/bills", False),
    ("**/api/*", "http://127.0.0.1:8000/api/bills", True),
    ("**/api/*", "http://127.0.0.1:8000/api/v1/bills", False),
    ("**/spa/done", "http://127.0.0.1:8000/spa/done", True),
    # the origin is compared as the browser reports it: lower case, no default port
    ("https://Example.COM:443/x", "https://example.com/x", True),
    ("http://example.com:8080/x", "http://example.com/x", False),
    # escapes and a literal comma
    ("**/a\\*b", "https://example.com/a*b", True),
    ("**/a\\*b", "https://example.com/aXb", False),
    ("**/foo,bar", "https://example.com/foo,bar", True),
    # anchored at both ends
    ("**/file.js", "https://example.com/file.js.map", False),
]


@pytest.mark.parametrize(("glob", "url", "expected"), CASES)
def test_globs_match_as_documented(glob: str, url: str, expected: bool) -> None:
    assert url_matches(url, glob) is expected


def test_regexes_search_and_functions_decide() -> None:
    assert url_matches("https://example.com/api/bills", re.compile(r"/api/bills"))
    assert not url_matches("https://example.com/api/other", re.compile(r"/api/bills$"))
    assert url_matches("https://example.com/x", lambda u: u.endswith("/x"))
    assert not url_matches("not a url", lambda u: True)  # a function only sees URLs
    assert url_matches("https://example.com/anything", None)
    assert url_matches("https://example.com/anything", "")


@pytest.mark.parametrize("glob", ["**/{a,{b,c}}", "**/a}", "**/{a,b"])
def test_a_malformed_glob_is_named(glob: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(glob))):
        glob_to_regex(glob)


@pytest.mark.anyio
@pytest.mark.browser
async def test_playwrights_routing_decides_the_same(browser_session: Any) -> None:
    """Each glob as a real context route: the request it catches answers "hit", any other "miss"."""
    context = await browser_session.browser.new_context()
    try:
        cors = {"access-control-allow-origin": "*", "content-type": "text/plain"}

        async def miss(route: Any) -> None:
            await route.fulfill(status=200, headers=cors, body="miss")

        await context.route("**/*", miss)
        page = await context.new_page()
        await page.goto("http://127.0.0.1:8000/")
        for glob, url, expected in CASES:

            async def hit(route: Any) -> None:
                await route.fulfill(status=200, headers=cors, body="hit")

            await context.route(glob, hit)
            answer = await page.evaluate("url => fetch(url).then(r => r.text())", url)
            await context.unroute(glob, hit)
            assert (answer == "hit") is expected, (glob, url, answer)
            assert url_matches(url, glob) is (answer == "hit"), (glob, url)
    finally:
        await context.close()
