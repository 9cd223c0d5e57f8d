"""Where a run's fields and secrets come from, and their validation before the browser opens.

Precedence, highest first (a field is taken from the first source that has it):

1. the command line: ``--field key=value`` then ``--fields FILE`` (JSON, comments allowed);
2. the Cozy job: the account's ``auth`` (and ``oauth``) read from ``io.cozy.accounts`` for the account
   named in ``COZY_FIELDS``, plus ``folderPath`` — added by the runtime once the store is open;
3. ``konnector-dev-config.json`` in the connector's folder (``fields``; its ``COZY_PARAMETERS`` too).

``COZY_PARAMETERS`` (the manifest's parameters, with ``secret`` from the account type) comes from the
environment, else from the dev config; the stack sends ``null`` for a manifest without parameters,
read as ``{}``. A field that is missing or invalid stops the run *before* the
browser starts, with an error naming the field and every place it was looked for.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from browserkonnector import _errors as errors
from browserkonnector._errors import InvalidFields
from browserkonnector.runtime._jsonc import JsoncError, load_file
from browserkonnector.runtime._manifest import SECRET_NAME

__all__ = [
    "DEV_CONFIG_NAME",
    "FieldSource",
    "Fields",
    "FieldsError",
    "collect_sources",
    "merge_sources",
    "secret_values",
    "validate_fields",
]

DEV_CONFIG_NAME = "konnector-dev-config.json"


class FieldsError(InvalidFields):
    """The fields are missing or invalid; ``detail`` names each field and where it was looked for.

    Its code tells the stack the user must act (fix the account) rather than retry.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(errors.INVALID_FIELDS, detail)


class Fields(dict[str, Any]):
    """Fields of a connector without a fields model: a dict that also reads as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no field {name!r} (fields given: {', '.join(sorted(self)) or 'none'})") from None


@dataclass(frozen=True)
class FieldSource:
    """One place fields come from, named for error messages (``--fields ./x.json``, ``COZY_FIELDS``...)."""

    name: str
    values: Mapping[str, Any]
    parameters: Mapping[str, Any] | None = None


@dataclass
class CollectedConfig:
    """Fields sources in precedence order, and the parameters (``COZY_PARAMETERS``)."""

    sources: list[FieldSource]
    parameters: dict[str, Any] = field(default_factory=dict)
    parameters_origin: str = "none"

    def with_source(self, source: FieldSource, *, before: str | None = None) -> CollectedConfig:
        """A copy with ``source`` inserted before the first source whose name starts with ``before``."""
        index = next((i for i, s in enumerate(self.sources) if before and s.name.startswith(before)), len(self.sources))
        sources = [*self.sources[:index], source, *self.sources[index:]]
        return CollectedConfig(sources, self.parameters, self.parameters_origin)


def _parse_cli_fields(pairs: Sequence[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise FieldsError(f"--field {pair!r}: expected key=value")
        values[key.strip()] = value
    return values


def _load_json_object(path: Path, what: str) -> dict[str, Any]:
    try:
        data = load_file(path)
    except FileNotFoundError:
        raise FieldsError(f"{what} {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise FieldsError(
            f"{what} {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}): save it as UTF-8"
        ) from None
    except (OSError, JsoncError) as exc:
        raise FieldsError(f"{what} {path}: {exc}") from None
    if not isinstance(data, dict):
        raise FieldsError(f"{what} {path}: expected a JSON object, found {type(data).__name__}")
    return data


def _env_json(environ: Mapping[str, str], name: str) -> dict[str, Any] | None:
    """``name`` parsed as a JSON object; ``None`` when it is absent or empty.

    The stack's konnector worker marshals the manifest's ``parameters`` as they are, so a manifest
    without any sends the JSON ``null``: that means "no parameters", the empty object, not an error.
    """
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise FieldsError(f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FieldsError(f"{name}: expected a JSON object, found {type(data).__name__}")
    return data


def collect_sources(
    folder: Path | None,
    *,
    fields_file: Path | None = None,
    cli_fields: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> CollectedConfig:
    """Gather the field sources that need no store (the account's ``auth`` is added later)."""
    environ = os.environ if environ is None else environ
    sources: list[FieldSource] = []
    if cli_fields:
        sources.append(FieldSource("--field", _parse_cli_fields(cli_fields)))
    if fields_file is not None:
        data = _load_json_object(fields_file, "--fields")
        # A --fields file may be a bare object of fields or a dev config ({"fields": {...}}).
        values = data.get("fields", data) if isinstance(data.get("fields"), dict) else data
        sources.append(FieldSource(f"--fields {fields_file}", values, data.get("COZY_PARAMETERS")))
    dev_config = folder / DEV_CONFIG_NAME if folder is not None else None
    dev_params: dict[str, Any] | None = None
    if dev_config is not None and dev_config.is_file():
        data = _load_json_object(dev_config, "dev config")
        dev_fields = data.get("fields", {})
        if not isinstance(dev_fields, dict):
            raise FieldsError(f"dev config {dev_config}: 'fields' must be an object")
        dev_params = data.get("COZY_PARAMETERS")
        sources.append(FieldSource(str(dev_config), dev_fields, dev_params))
    elif dev_config is not None:
        sources.append(FieldSource(f"{dev_config} (absent)", {}))
    env_params = _env_json(environ, "COZY_PARAMETERS")
    if env_params is not None:
        return CollectedConfig(sources, env_params, "COZY_PARAMETERS")
    for source in sources:
        if source.parameters is not None:
            if not isinstance(source.parameters, dict):
                raise FieldsError(f"{source.name}: COZY_PARAMETERS must be an object")
            return CollectedConfig(sources, dict(source.parameters), source.name)
    return CollectedConfig(sources)


def merge_sources(sources: Sequence[FieldSource]) -> tuple[dict[str, Any], dict[str, str]]:
    """The merged fields and, for each, the name of the source it came from."""
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for source in sources:
        for key, value in source.values.items():
            if key not in merged:
                merged[key] = value
                origin[key] = source.name
    return merged, origin


def _where(sources: Sequence[FieldSource]) -> str:
    return "; ".join(s.name for s in sources) or "no source"


def validate_fields(
    model: type[BaseModel] | None,
    sources: Sequence[FieldSource],
    *,
    required: set[str] | frozenset[str] = frozenset(),
) -> tuple[BaseModel | Fields, dict[str, Any]]:
    """Validate the merged fields against ``model`` (or just check ``required`` names without one).

    Returns the validated fields and the merged raw dict. Raises :class:`FieldsError` naming each field
    at fault and where it was looked for — never the value (it may be a password).
    """
    merged, origin = merge_sources(sources)
    if model is None:
        missing = sorted(name for name in required if merged.get(name) in (None, ""))
        if missing:
            raise FieldsError(
                f"missing field{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}; "
                f"looked in: {_where(sources)}"
            )
        return Fields(merged), merged
    try:
        validated = model.model_validate(merged)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "(fields)"
            if error["type"] == "missing":
                problems.append(f"missing field {name!r}")
            else:
                came = origin.get(str(error["loc"][0]), "?") if error["loc"] else "?"
                problems.append(f"field {name!r} (from {came}): {error['msg']}")
        raise FieldsError(f"{'; '.join(problems)}; looked in: {_where(sources)}") from None
    # An empty secret is never a credential: say so now, not when the browser fails to type it.
    values = {name: getattr(validated, name, None) for name in type(validated).model_fields}
    empty = [name for name, value in values.items() if isinstance(value, SecretStr) and not value.get_secret_value()]
    if empty:
        raise FieldsError(
            "; ".join(f"field {name!r} (from {origin.get(name, '?')}) is empty" for name in empty)
            + f"; looked in: {_where(sources)}"
        )
    return validated, merged


def secret_values(
    fields: BaseModel | Mapping[str, Any],
    raw: Mapping[str, Any],
    *,
    secret_names: set[str],
    parameters: Mapping[str, Any],
) -> list[str]:
    """Every value that must never be logged: secret-named or manifest-secret fields, ``SecretStr``
    fields of the model, and everything under ``COZY_PARAMETERS.secret``."""
    values: list[str] = []
    for name, value in raw.items():
        if name in secret_names or SECRET_NAME.search(name):
            values += _leaf_strings(value)
    if isinstance(fields, BaseModel):
        for name in type(fields).model_fields:
            value = getattr(fields, name, None)
            if isinstance(value, SecretStr):
                values.append(value.get_secret_value())
    values += _leaf_strings(parameters.get("secret"))
    return [v for v in values if v]


def _leaf_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, SecretStr):
        return [value.get_secret_value()]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _leaf_strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _leaf_strings(v)]
    return []
