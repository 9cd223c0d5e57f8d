"""Shapes of the cozy-stack wire format: error bodies, JSON-API file documents, pagination links.

Kept apart from the HTTP client so the parsing rules (JSON-API for /files, CouchDB-like for /data) are read in one
place:

- errors come as CouchDB-style ``{"status": "409", "error": "conflict", "reason": "Document update
  conflict."}`` (status is a *string*), as stack-side ``{"error": "<message>"}``, or as JSON-API
  ``{"errors": [{"status", "title", "detail", "source"}]}``;
- ``/files`` answers JSON-API resources (``{"data": {"type", "id", "meta": {"rev"}, "attributes",
  "relationships"}}``), turned into :class:`FileDoc` by :meth:`FileDoc.from_jsonapi`;
- JSON-API pagination gives the next page as a relative URL in ``links.next``, whose ``page[cursor]``
  is the bookmark.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from browserkonnector.store._base import TRASH_DIR_ID, FileDoc

__all__ = ["error_info", "file_doc", "in_trash", "included_files", "next_cursor", "next_link"]

TRASH_PATH = "/.cozy_trash"
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_INDEX_ERRORS = frozenset({"no_index", "no_usable_index"})


def _code(text: object) -> str | None:
    """A machine reason from a title such as ``Precondition Failed`` → ``precondition_failed``."""
    if not isinstance(text, str) or not text or len(text.split()) > 3:
        return None  # a sentence is a message, not a code
    candidate = text.strip().lower().replace(" ", "_")
    return candidate if _CODE.match(candidate) else None


def _index_error(error: Mapping[str, Any]) -> str | None:
    """``no_index`` / ``no_usable_index`` wherever a JSON-API error names it (cozy-stack-client matches
    the text too)."""
    text = " ".join(str(error.get(k) or "") for k in ("code", "title", "detail"))
    return next((code for code in ("no_usable_index", "no_index") if code in text), None)


def error_info(body: Any) -> tuple[str, str | None]:
    """``(message, reason)`` of a stack error body, whatever its shape.

    ``reason`` is the machine-readable part the typed errors carry: ``no_index`` / ``no_usable_index``
    for a ``_find`` that needs an index, CouchDB's short reason (``missing``, ``deleted``,
    ``wrong_doctype``) when there is one, else the error code or the JSON-API title as a snake-case word.
    """
    if not isinstance(body, Mapping):
        return "", None
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        first = errors[0]
        title, detail = first.get("title"), first.get("detail")
        message = str(detail or title or "")
        source = first.get("source")
        if isinstance(source, Mapping) and str(source.get("parameter", "")).lower() == "name":
            return message, "invalid_name"  # the stack's 422 on a name its rules refuse
        return message, _index_error(first) or _code(first.get("code")) or _code(title) or _code(detail)
    error, reason = body.get("error"), body.get("reason")
    if isinstance(error, str) and error in _INDEX_ERRORS:
        return f"{error}: {reason}" if reason else error, error
    message = ": ".join(str(p) for p in (error, reason) if p)
    return message, _code(reason) or _code(error)


def in_trash(doc: FileDoc) -> bool:
    """Whether a file *or directory* is in the trash: only files carry ``trashed``; a trashed directory
    shows it by living under ``/.cozy_trash``."""
    return doc.trashed or doc.dir_id == TRASH_DIR_ID or (doc.path or "").startswith(TRASH_PATH + "/")


def file_doc(body: Mapping[str, Any]) -> FileDoc:
    """The :class:`FileDoc` of a single-resource answer (``{"data": {...}}``)."""
    data = body.get("data")
    if not isinstance(data, Mapping) or "id" not in data:
        raise ValueError("the Cozy answered a /files request without a JSON-API 'data' resource")
    return FileDoc.from_jsonapi(data)


def included_files(body: Mapping[str, Any]) -> dict[str, FileDoc]:
    """The ``io.cozy.files`` resources of ``included``, by id."""
    found: dict[str, FileDoc] = {}
    for item in body.get("included") or []:
        if isinstance(item, Mapping) and item.get("type") == "io.cozy.files" and "id" in item:
            found[str(item["id"])] = FileDoc.from_jsonapi(item)
    return found


def next_link(body: Mapping[str, Any]) -> str | None:
    """``links.next`` (a URL relative to the instance), or None on the last page."""
    links = body.get("links")
    link = links.get("next") if isinstance(links, Mapping) else None
    return str(link) if link else None


def next_cursor(body: Mapping[str, Any]) -> str | None:
    """The ``page[cursor]`` of ``links.next``: the bookmark of the next page."""
    link = next_link(body)
    if not link:
        return None
    values = parse_qs(urlsplit(link).query).get("page[cursor]")
    return values[0] if values else None
