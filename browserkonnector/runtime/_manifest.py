"""The connector's ``manifest.konnector``: what the Cozy stack and the Home app know of it.

The file is the Cozy format (JSON): ``slug``, ``name``, ``version``, ``vendor_link``, ``fields`` (what the
Home app asks the user: ``{"login": {"type": "text"}, "password": {"type": "password"}}``),
``parameters``, ``permissions``, ``folders``, ``banksTransactionRegExp``... Unknown keys are kept.
The runtime reads the slug and version from it (they are stamped into ``cozyMetadata``), the secret
fields (redacted from every log line), and ``banksTransactionRegExp`` (bank-operation matching).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from browserkonnector.runtime._jsonc import JsoncError, load_file

__all__ = ["SECRET_NAME", "Manifest", "ManifestError", "load_manifest"]

#: Field names treated as secret even when nothing declares them so: a safety net for logs.
SECRET_NAME = re.compile(r"pass(word|phrase)?|secret|token|otp|totp|pin|cookie|credential", re.IGNORECASE)


class ManifestError(ValueError):
    """``manifest.konnector`` is unreadable or misses what the runtime needs; the message names the file."""


class ManifestField(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = "text"
    encrypted: bool | None = None
    isRequired: bool | None = None


class Manifest(BaseModel):
    """The parts of ``manifest.konnector`` the runtime uses; every other key is kept as is."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str | None = None
    version: str = "0.0.0"
    vendor_link: str | None = None
    type: str = "konnector"
    language: str | None = None
    fields: dict[str, ManifestField] = Field(default_factory=dict)
    parameters: dict[str, Any] = Field(default_factory=dict)
    permissions: dict[str, Any] = Field(default_factory=dict)
    banks_transaction_regexp: str | None = Field(default=None, alias="banksTransactionRegExp")

    @property
    def secret_fields(self) -> set[str]:
        """Fields the manifest marks secret (``type: password`` or ``encrypted``), plus secret-looking names."""
        return {
            name
            for name, spec in self.fields.items()
            if spec.type == "password" or spec.encrypted or SECRET_NAME.search(name)
        }

    @property
    def required_fields(self) -> set[str]:
        return {name for name, spec in self.fields.items() if spec.isRequired is not False}


def load_manifest(path: Path) -> Manifest:
    """Read and check a manifest; errors name the file and the offending key."""
    try:
        raw = load_file(path)
    except (OSError, JsoncError) as exc:
        raise ManifestError(f"cannot read {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise ManifestError(f"{path}: a manifest is a JSON object, not {type(raw).__name__}")
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ManifestError(f"{path}: {problems}") from None
