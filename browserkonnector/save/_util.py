"""Small helpers shared by the save pipeline: lodash-style paths, JS-style stringification, dates.

The JS library builds its dedup keys with lodash ``get`` and ``Array.join`` and compares dates through
``new Date(x)``; these helpers give the same answers in Python so a key computed here equals the key
the JS library computed for the same document (``12`` and ``12.0`` both give ``"12"``, a missing value
gives ``""``, a date is compared at second precision).
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, TypeVar

__all__ = [
    "date_variants",
    "get_path",
    "iso",
    "js_string",
    "js_truthy",
    "maybe_await",
    "parse_datetime",
    "safe_name",
    "second_key",
]

T = TypeVar("T")
_MISSING = object()


def get_path(obj: Any, path: str, default: Any = None) -> Any:
    """lodash ``get``: ``get_path(doc, "metadata.fileIdAttributes")``; list indexes as ``a.0`` or ``a[0]``.

    Works on mappings, sequences and objects (attributes), so pydantic entries and plain dicts behave
    alike. A missing step gives ``default`` (lodash's ``undefined``).
    """
    if isinstance(obj, Mapping) and "." not in path and "[" not in path:  # the common case, kept cheap
        return obj.get(path, default)
    current = obj
    for part in path.replace("[", ".").replace("]", "").split("."):
        if part == "":
            continue
        if isinstance(current, Mapping):
            current = current.get(part, _MISSING)
        elif isinstance(current, Sequence) and not isinstance(current, str | bytes) and part.isdigit():
            index = int(part)
            current = current[index] if index < len(current) else _MISSING
        else:
            current = getattr(current, part, _MISSING)
        if current is _MISSING:
            return default
    return current


def js_string(value: Any) -> str:
    """What ``String(value)`` / ``Array.join`` gives in JavaScript, for the scalar values of dedup keys.

    ``None`` (JS ``null``/``undefined``) → ``""`` as ``join`` does; booleans → ``true``/``false``;
    integral numbers without a fraction (``12.0`` → ``"12"``); lists joined by ``,``.
    """
    if type(value) is str:  # the common case first: this runs for every key of every document
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return iso(value)
    if isinstance(value, Mapping):
        return "[object Object]"
    if isinstance(value, list | tuple):
        return ",".join(js_string(v) for v in value)
    return str(value)


def js_truthy(value: Any) -> bool:
    """JavaScript truthiness: ``""``, ``0``, ``NaN``, ``null``/``undefined`` and ``false`` are falsy;
    everything else — ``"yes"``, ``"false"``, ``1``, an empty list or object — is truthy."""
    if value is None or value is False:
        return False
    if isinstance(value, int | float):
        return value == value and value != 0
    if isinstance(value, str):
        return value != ""
    return True


def parse_datetime(value: Any) -> dt.datetime | None:
    """An aware UTC datetime from what ``new Date(value)`` accepts: datetime, date, ISO string, epoch ms.

    A naive datetime is taken as UTC (the Cozy stores UTC instants); a bare date is midnight UTC, as
    ``new Date("2024-01-15")`` is. Returns None for what JS would call an ``Invalid Date``.
    """
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return None
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        return parse_datetime(parsed)
    return None


def iso(value: Any) -> str:
    """``Date.prototype.toISOString``: ``2024-01-15T00:00:00.000Z`` (UTC, milliseconds).

    This is how a JS ``Date`` lands in a Cozy document, so bills saved here and by the JS library
    carry the same strings (and the same dedup keys). Raises ``ValueError`` for an unparseable value.
    """
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(f"{value!r} is not a date (expected a datetime, a date or an ISO 8601 string)")
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}Z"


def date_variants(value: Any) -> list[str]:
    """The spellings a stored date may have for the same second as ``value`` (for an ``$in`` query).

    Documents written by this library or by the JS one hold ``toISOString()`` strings; this also
    covers the same second without milliseconds, with a ``+00:00`` offset, and the bare day for a
    midnight. The exact, second-precision comparison is done afterwards in Python.
    """
    parsed = parse_datetime(value)
    if parsed is None:
        return []
    base = parsed.strftime("%Y-%m-%dT%H:%M:%S")
    variants = [f"{base}.{parsed.microsecond // 1000:03d}Z", f"{base}.000Z", f"{base}Z", f"{base}+00:00"]
    if base.endswith("T00:00:00"):
        variants.append(base[:10])
    return list(dict.fromkeys(variants))


def second_key(value: Any) -> str:
    """The JS ``new Date(x).toString()`` of a ``date`` key, reduced to what it compares: the second."""
    parsed = parse_datetime(value)
    return "Invalid Date" if parsed is None else str(int(parsed.timestamp() // 1))


async def maybe_await(value: T | Awaitable[T]) -> T:
    """Let hooks (``should_save``, ``progress``...) be plain functions or coroutines."""
    if inspect.isawaitable(value):
        return await value
    return value


def safe_name(value: Any, limit: int = 80) -> str:
    """A short printable description for a log line or an error message (never bytes)."""
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
