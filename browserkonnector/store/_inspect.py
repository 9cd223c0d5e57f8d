"""Data for ``browserkonnector store ls | export | show``: what a person asks of their local store.

Functions return data or strings; the CLI prints them. They open the store themselves, read-only:
looking never writes (no crash recovery, no lock file), so they work on a read-only disk, a copy, or a
disk too full to write; they take the store's root folder.

- :func:`ls` — doctypes with their document counts (and, for ``io.cozy.files``, files and bytes);
- :func:`export` — the documents of one doctype as JSON lines, in ``_id`` order, streamed;
- :func:`show` — one document; for a file, also where its content is on disk.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from browserkonnector.store._base import FILES_DOCTYPE
from browserkonnector.store._errors import NotFound
from browserkonnector.store._local import LocalStore

__all__ = ["DoctypeCount", "export", "format_ls", "ls", "show"]


@dataclass(frozen=True)
class DoctypeCount:
    doctype: str
    documents: int
    files: int | None = None  # for io.cozy.files: entries that are files
    bytes: int | None = None  # for io.cozy.files: their total size


def _need_store(root: str | os.PathLike[str]) -> Path:
    path = Path(root)
    if not (path / "store.sqlite3").is_file():
        raise NotFound(f"no local store at {path} (no store.sqlite3 there)", reason="no_store")
    return path


async def ls(root: str | os.PathLike[str]) -> list[DoctypeCount]:
    """Every doctype holding documents, with counts."""
    async with LocalStore(_need_store(root), readonly=True) as store:
        out = []
        with store.db.read() as conn:
            for doctype, tbl in store.db.all_doctypes():
                n = conn.execute(f'SELECT COUNT(*) FROM "{tbl}" WHERE deleted = 0').fetchone()[0]
                if not n:
                    continue
                if doctype == FILES_DOCTYPE:
                    files, size = conn.execute(
                        f"SELECT COUNT(*), COALESCE(SUM(CAST(json_extract(body, '$.size') AS INTEGER)), 0) "
                        f"FROM \"{tbl}\" WHERE deleted = 0 AND json_extract(body, '$.type') = 'file'"
                    ).fetchone()
                    out.append(DoctypeCount(doctype, int(n), int(files), int(size)))
                else:
                    out.append(DoctypeCount(doctype, int(n)))
        return out


def format_ls(counts: list[DoctypeCount]) -> str:
    """A table for the terminal."""
    if not counts:
        return "(empty store)"
    width = max(len(c.doctype) for c in counts)
    lines = []
    for c in counts:
        line = f"{c.doctype:<{width}}  {c.documents:>8} docs"
        if c.files is not None:
            line += f"  ({c.files} files, {c.bytes} bytes)"
        lines.append(line)
    return "\n".join(lines)


async def export(root: str | os.PathLike[str], doctype: str) -> AsyncIterator[str]:
    """The documents of a doctype, one JSON object per line (no trailing newline), streamed. An unknown
    doctype raises ``NotFound`` naming the doctypes the store has."""
    async with LocalStore(_need_store(root), readonly=True) as store:
        if store.db.table(doctype) is None:
            known = ", ".join(d for d, _ in store.db.all_doctypes()) or "none"
            raise NotFound(f"no doctype {doctype!r} in the store {root} (its doctypes: {known})", reason="no_doctype")
        async for doc in store.all_docs(doctype, page_size=500):
            yield json.dumps(doc, ensure_ascii=False, sort_keys=True)


async def show(root: str | os.PathLike[str], doctype: str, doc_id: str) -> dict[str, Any]:
    """One document as stored; a file also gets ``disk_path`` (where to open it) and ``path``."""
    async with LocalStore(_need_store(root), readonly=True) as store:
        doc = await store.get(doctype, doc_id)
        if doctype == FILES_DOCTYPE:
            stat = await store.stat(doc_id)
            doc["path"] = stat.path
            if stat.type == "file":
                doc["disk_path"] = str(store.disk_path(doc_id))
            else:
                doc["disk_path"] = str(store.tree.disk(str(stat.path)))
        return doc
