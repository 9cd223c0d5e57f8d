"""The connector's fields, validated before the browser starts."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr


class Fields(BaseModel):
    password: SecretStr
    base_url: str
