"""An httpx client of the demo site that logs in the way the site's JavaScript does (CSRF token first,
then the login, the TOTP step for bob, then the bearer token on every API call)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import httpx
import pyotp
from demo_vendor_site import DemoSite

ALICE = ("alice@demo-energie.test", "Correct-Horse-Battery-42!")
BOB = ("bob@demo-energie.test", "B0b-Otp-Password-77&")
BOB_SECRET = "KRSXG5CTMVRXEZLUGEZDGNBVGY3TQOJQ"


class SiteClient:
    """A browser-less client of the demo site: cookies in httpx's jar, the API token kept here."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10)
        self.token: str | None = None

    def csrf(self) -> str:
        response = self.http.get("/api/session/csrf")
        assert response.status_code == 200, response.text
        return str(response.json()["csrf"])

    def post_login(self, email: str, password: str, csrf: str | None = None) -> httpx.Response:
        token = csrf if csrf is not None else self.csrf()
        return self.http.post(
            "/api/session/login", json={"email": email, "password": password}, headers={"X-CSRF-Token": token}
        )

    def login(self, user: tuple[str, str] = ALICE) -> dict[str, Any]:
        """Log in (with the TOTP step for bob) and keep the token; returns the success body."""
        csrf = self.csrf()
        response = self.post_login(*user, csrf=csrf)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] == "otp_required":
            response = self.http.post(
                "/api/session/otp",
                json={"challenge": body["challenge"], "code": pyotp.TOTP(BOB_SECRET).now()},
                headers={"X-CSRF-Token": csrf},
            )
            assert response.status_code == 200, response.text
            body = response.json()
        assert body["status"] == "ok"
        self.token = body["token"]
        return body

    def api(self, path: str, **kwargs: Any) -> httpx.Response:
        """A GET with the bearer token (and the session cookie from the jar)."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return self.http.get(path, headers=headers, **kwargs)

    def bills_page(self, page: int = 1, per_page: int | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"page": page}
        if per_page is not None:
            params["per_page"] = per_page
        response = self.api("/api/bills", params=params)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def all_bills(self, per_page: int = 100) -> list[dict[str, Any]]:
        first = self.bills_page(1, per_page)
        items: list[dict[str, Any]] = list(first["items"])
        for page in range(2, first["pages"] + 1):
            items += self.bills_page(page, per_page)["items"]
        return items

    def close(self) -> None:
        self.http.close()


#: The fixtures ``make_site(**config)`` and ``make_client(site)``.
SiteFactory: TypeAlias = Callable[..., DemoSite]
ClientFactory: TypeAlias = Callable[[DemoSite], SiteClient]
