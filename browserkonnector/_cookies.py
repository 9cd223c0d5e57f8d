"""Cookies for :mod:`browserkonnector._request`: a browser-like jar, and Playwright's cookies turned into it.

Private helper of ``_request.py`` (which re-exports :func:`cookies_from_playwright`); kept apart so the
client module stays readable.
"""

from __future__ import annotations

import http.cookiejar
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import httpx

__all__ = ["CookiesInput", "as_cookies", "browser_jar", "cookies_from_playwright"]

#: What ``cookies=`` takes: httpx cookies, a stdlib jar, ``{name: value}``, or Playwright cookie dicts.
CookiesInput: TypeAlias = httpx.Cookies | http.cookiejar.CookieJar | Mapping[str, str] | list[dict[str, Any]]


class _BrowserCookiePolicy(http.cookiejar.DefaultCookiePolicy):
    """Send cookies as a browser would: a host-only cookie (Playwright ``domain`` without a leading dot,
    or a ``Set-Cookie`` without ``Domain``) only to its exact host, a domain cookie to the domain and its
    subdomains. The stdlib default is laxer (host-only cookies leak to subdomains) and never matches
    ``localhost``."""

    def domain_return_ok(self, domain: str, request: Any) -> bool:
        return True  # the exact check is in return_ok_domain, per cookie

    def return_ok_domain(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        host = (urlsplit(request.get_full_url()).hostname or "").lower()
        domain = cookie.domain.lower()
        if not domain:  # a bare name=value given as a dict: no scope, sent everywhere
            return True
        if domain.startswith("."):
            bare = domain[1:]
            return host == bare or host.endswith(domain)
        # cookiejar stores a dotless host as "<host>.local" (its "effective request host")
        return host == domain or ("." not in host and f"{host}.local" == domain)


def browser_jar() -> http.cookiejar.CookieJar:
    return http.cookiejar.CookieJar(policy=_BrowserCookiePolicy())


def cookies_from_playwright(cookies: Iterable[Mapping[str, Any]]) -> httpx.Cookies:
    """httpx cookies from Playwright's ``context.cookies()`` (``name``, ``value``, ``domain``, ``path``,
    ``expires`` (-1 = session), ``secure``, ``httpOnly``, ``sameSite``), with their domain and path scope.

    A ``domain`` starting with a dot is a domain cookie (sent to subdomains too); without one, the cookie
    is host-only. A cookie missing ``name``, ``value`` or ``domain`` raises ``ValueError`` naming it.
    """
    jar = httpx.Cookies(browser_jar())
    for index, item in enumerate(cookies):
        missing = [k for k in ("name", "value", "domain") if item.get(k) is None]
        if missing:
            raise ValueError(f"Playwright cookie #{index} lacks {', '.join(missing)}")
        domain = str(item["domain"])
        path = str(item.get("path") or "/")
        expires = item.get("expires")
        jar.jar.set_cookie(
            http.cookiejar.Cookie(
                version=0,
                name=str(item["name"]),
                value=str(item["value"]),
                port=None,
                port_specified=False,
                domain=domain,
                domain_specified=domain.startswith("."),
                domain_initial_dot=domain.startswith("."),
                path=path,
                path_specified=True,
                secure=bool(item.get("secure", False)),
                expires=int(expires) if isinstance(expires, int | float) and expires >= 0 else None,
                discard=not (isinstance(expires, int | float) and expires >= 0),
                comment=None,
                comment_url=None,
                rest={"HttpOnly": ""} if item.get("httpOnly") else {},
            )
        )
    return jar


def as_cookies(cookies: Any) -> httpx.Cookies:
    if cookies is None:
        return httpx.Cookies(browser_jar())
    if isinstance(cookies, httpx.Cookies):
        if isinstance(getattr(cookies.jar, "_policy", None), _BrowserCookiePolicy):
            return cookies  # shared: the caller keeps syncing into the same jar
        copied = httpx.Cookies(browser_jar())
        for cookie in cookies.jar:
            copied.jar.set_cookie(cookie)
        return copied
    if isinstance(cookies, http.cookiejar.CookieJar):
        return httpx.Cookies(cookies)
    if isinstance(cookies, Mapping):
        jar = httpx.Cookies(browser_jar())
        for name, value in cookies.items():
            jar.set(str(name), str(value))
        return jar
    if isinstance(cookies, list | tuple) and all(isinstance(c, Mapping) for c in cookies):
        return cookies_from_playwright(cookies)
    raise TypeError(
        "cookies= takes httpx.Cookies, a CookieJar, a dict of name -> value or a list of Playwright "
        f"cookie dicts, not {type(cookies).__name__}"
    )
