"""Read JSON with comments and trailing commas (``konnector-dev-config.json``).

cozy-konnector-libs documents comments in ``konnector-dev-config.json`` but parses it with plain
``JSON.parse``, so a commented file crashes its standalone mode. Here comments (``//`` and ``/* */``) and
trailing commas are accepted; everything else is strict JSON, and an error names the file, line and column.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["JsoncError", "load_file", "loads"]


class JsoncError(ValueError):
    """The file is not valid JSON (after comments are removed); the message says where."""


def _strip(text: str) -> str:
    """Blank out comments (keeping line breaks, so positions stay right) and drop trailing commas."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        ch = text[i]
        if in_string:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if ch == '"':
                in_string = False
            i += 1
        elif ch == '"':
            in_string = True
            out.append(ch)
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end == -1 else end
            out.append(" " * (end - i))
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end == -1:
                raise JsoncError("a /* comment is never closed")
            out.append("".join(c if c == "\n" else " " for c in text[i : end + 2]))
            i = end + 2
        else:
            out.append(ch)
            i += 1
    return _drop_trailing_commas("".join(out))


def _drop_trailing_commas(text: str) -> str:
    out = list(text)
    in_string = False
    last_comma: int | None = None
    i = 0
    while i < len(out):
        ch = out[i]
        if in_string:
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            last_comma = None
        elif ch == ",":
            last_comma = i
        elif ch in "}]":
            if last_comma is not None:
                out[last_comma] = " "
            last_comma = None
        elif not ch.isspace():
            last_comma = None
        i += 1
    return "".join(out)


def loads(text: str, *, source: str = "<string>") -> Any:
    """Parse JSON-with-comments; errors name ``source`` with line and column."""
    try:
        return json.loads(_strip(text))
    except json.JSONDecodeError as exc:
        raise JsoncError(f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except JsoncError as exc:
        raise JsoncError(f"{source}: {exc}") from None


def load_file(path: Path) -> Any:
    return loads(path.read_text(encoding="utf-8"), source=str(path))
