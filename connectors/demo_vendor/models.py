"""The demo site's API answers, validated: a changed answer fails here, loudly, not later."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class Fields(BaseModel):
    """What the connector needs: the account's credentials and where the site is."""

    login: str = Field(min_length=3)
    password: SecretStr
    base_url: str = Field(pattern=r"^https?://")
    otp_secret: SecretStr | None = None  # TOTP seed, for accounts with a second factor
    ui_downloads: bool = False  # click through the UI for files instead of the session's HTTP


class Links(BaseModel):
    pdf: str | None
    detail: str
    print: str


class ApiBill(BaseModel):
    """One bill as ``GET /api/bills`` lists it."""

    model_config = ConfigDict(extra="ignore")

    id: str
    vendor_ref: str = Field(alias="vendorRef")
    date: date
    amount: float
    currency: str
    label: str
    kind: Literal["download", "inline", "blob", "html"]
    links: Links


class BillsPage(BaseModel):
    items: list[ApiBill]
    page: int
    per_page: int
    total: int
    pages: int


class LoginAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["ok", "otp_required"]
    token: str | None = None
    challenge: str | None = None
