"""What the shop connector needs from the account."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class Fields(BaseModel):
    login: str = Field(min_length=3)
    password: SecretStr
    base_url: str = Field(pattern=r"^https?://")
