"""File and folder names: the stack's rules, konnector-libs' ``normalizeFilename``, and vendor names.

Three different jobs, kept apart on purpose:

- :func:`check_name` is the *store's* gate (upload, mkdir, rename). The stack refuses an empty name,
  ``.``, ``..`` and any name holding ``/``, NUL, CR or LF with a 422 (``model/vfs`` in cozy-stack). The
  embedded store is a little stricter, because its names become real paths on a Linux disk: it also
  refuses every other control character (C0 and DEL: they make unreadable, sometimes unprintable file
  names, and no vendor bill needs them) and names longer than 255 bytes in UTF-8 (``NAME_MAX`` on Linux,
  the very limit a stack with its local-disk backend hits). Everything else the stack accepts is kept
  as is on disk, so ``<store>/files/`` reads exactly like the Cozy tree.
- :func:`normalize_filename` is konnector-libs' ``normalizeFilename``: what a connector does to a name it
  builds, before saving. Every run of ``<>:"/\\|?*``, NUL or whitespace becomes one space, then trimmed.
- :func:`sanitize_filename` is for names that come from a vendor (``Content-Disposition``, a link text):
  it never refuses, it always returns a name :func:`check_name` accepts.

:func:`split_path` turns a Cozy absolute path into checked names, so ``mkdir_p("/a/../b")`` fails
instead of walking out of ``<store>/files``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from browserkonnector.store._errors import InvalidName

__all__ = ["MAX_NAME_BYTES", "check_name", "normalize_filename", "sanitize_filename", "split_path"]

#: Linux ``NAME_MAX``: one path component, in bytes.
MAX_NAME_BYTES = 255

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LIBS_RUN = re.compile(r'[<>:"/\\|?*\x00\s]+')


def check_name(name: object, *, what: str = "name") -> str:
    """Return ``name`` if the store accepts it, else raise :class:`InvalidName` saying why.

    ``what`` names the offending argument in the message (``"folder name"``, ``"path segment"``...).
    """
    if not isinstance(name, str):
        raise InvalidName(f"{what} must be a string, got {type(name).__name__}", reason="invalid_name")
    if name in ("", ".", ".."):
        raise InvalidName(f"{what} {name!r} is not allowed (empty, '.' or '..')", reason="invalid_name")
    if "/" in name:
        raise InvalidName(f"{what} {name!r} contains '/'", reason="invalid_name")
    bad = _CONTROL.search(name)
    if bad:
        raise InvalidName(f"{what} {name!r} contains the control character {bad.group()!r}", reason="invalid_name")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidName(f"{what} {name!r} is not valid Unicode text", reason="invalid_name") from exc
    if size > MAX_NAME_BYTES:
        raise InvalidName(
            f"{what} is {size} bytes long in UTF-8, more than the {MAX_NAME_BYTES} a file name may hold",
            reason="invalid_name",
        )
    return name


def split_path(path: str) -> list[str]:
    """The names of an absolute Cozy path (``/a/b`` → ``["a", "b"]``; ``/`` → ``[]``), each checked.

    Repeated or trailing slashes are tolerated (``//a/b/``), as the stack's path cleaning does; ``.``
    and ``..`` segments are refused rather than resolved, so a path can never climb out of the tree.
    """
    if not isinstance(path, str) or not path.startswith("/"):
        raise InvalidName(f"path {path!r} must be absolute (start with '/')", reason="invalid_path")
    return [check_name(part, what="path segment") for part in path.split("/") if part != ""]


def normalize_filename(name: str, ext: str | None = None) -> str:
    """konnector-libs' ``normalizeFilename``: runs of ``<>:"/\\|?*``, NUL or whitespace → one space,
    trimmed; an empty result raises ``ValueError``; ``ext`` gets a leading dot if missing."""
    cleaned = _LIBS_RUN.sub(" ", name).strip()
    if not cleaned:
        raise ValueError(f"normalize_filename: {name!r} is empty once cleaned")
    if ext:
        cleaned += ext if ext.startswith(".") else f".{ext}"
    return cleaned


def sanitize_filename(name: str, *, default: str = "file", max_bytes: int = MAX_NAME_BYTES) -> str:
    """A name :func:`check_name` accepts, made from an untrusted one (a vendor's file name).

    Applies :func:`normalize_filename` (which also removes every path separator, so ``../../etc/passwd``
    becomes ``.. .. etc passwd``), drops remaining control characters and Unicode format characters
    (bidi overrides that disguise an extension), never returns ``.``/``..``/empty (``default`` instead)
    and shortens over-long names on a character boundary, keeping the extension and adding a short hash
    of the original so two long names stay distinct.
    """
    text = "".join(ch for ch in name if not _CONTROL.match(ch) and unicodedata.category(ch) not in ("Cf", "Cs"))
    try:
        cleaned = normalize_filename(text)
    except ValueError:
        cleaned = default
    if cleaned.strip(".") == "":
        cleaned = default
    if len(cleaned.encode("utf-8")) > max_bytes:
        cleaned = _shorten(cleaned, name, max_bytes)
    return check_name(cleaned)


def _shorten(cleaned: str, original: str, max_bytes: int) -> str:
    stem, dot, ext = cleaned.rpartition(".")
    if not dot or not stem or len(ext.encode("utf-8")) > 16:
        stem, ext = cleaned, ""
    suffix = "~" + hashlib.sha1(original.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    suffix += f".{ext}" if ext else ""
    budget = max_bytes - len(suffix.encode("utf-8"))
    cut = stem.encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip()
    return (cut or "file") + suffix
