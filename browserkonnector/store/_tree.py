"""The files tree of a LocalStore, read side: ``io.cozy.files`` documents, paths, names, cozyMetadata.

Files and directories are ``io.cozy.files`` documents in the doctype table of ``_sqlite`` (so ``find``
and ``find_files`` query them with Mango like any doctype), in the raw CouchDB shape the stack stores:
``type``, ``name``, ``dir_id``, ``created_at``, ``updated_at``, ``tags``, ``metadata``, ``cozyMetadata``,
``referenced_by``; directories hold their ``path``; files hold ``size`` (a string, as the stack's
CouchDB documents do — :class:`FileDoc` turns it into an int), ``md5sum``, ``mime``, ``class``,
``trashed``, ``executable``, ``encrypted``. A file's path is its folder's path plus its name.

Side tables, kept in step by every write:

- ``file_names(dir_id, name, file_id)`` — the name of every entry in its folder, and the names
  *reserved* by an operation in progress. Its primary key is what makes a name taken in a folder a
  ``Conflict`` atomically, across processes, before any file moves on disk.
- ``file_refs(file_id, type, id)`` — ``referenced_by`` flattened and indexed, so
  ``referenced_files`` does not scan every file.
"""

from __future__ import annotations

import json
import posixpath
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from browserkonnector.store._base import FILES_DOCTYPE, ROOT_DIR_ID, TRASH_DIR_ID, AppInfo, FileDoc
from browserkonnector.store._docs import make_rev
from browserkonnector.store._errors import NotFound
from browserkonnector.store._sqlite import Database, run_script

__all__ = ["TRASH_NAME", "Tree", "now_iso"]

TRASH_NAME = ".cozy_trash"
DOCTYPE_VERSION = "1"  # cozy-stack's vfs.DocTypeVersion


def now_iso() -> str:
    """RFC 3339 in UTC with milliseconds, as the stack writes dates."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Tree:
    """Read helpers over the ``io.cozy.files`` table; all run inside the caller's transaction."""

    def __init__(self, db: Database, root: Path, app: AppInfo | None) -> None:
        self.db = db
        self.files_root = root / "files"
        self.app = app
        if db.readonly:  # a reader creates nothing: the table exists once any writer opened the store
            self.tbl = str(db.table(FILES_DOCTYPE) or db.table_name(FILES_DOCTYPE))
            return
        with db.write() as conn:
            self.tbl = str(db.table(FILES_DOCTYPE, create=True))
            run_script(
                conn,
                f"""
                CREATE INDEX IF NOT EXISTS files_by_path ON "{self.tbl}" (json_extract(body, '$.path'))
                    WHERE deleted = 0;
                CREATE TABLE IF NOT EXISTS file_refs (
                    file_id TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL,
                    PRIMARY KEY (type, id, file_id)) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS file_refs_by_file ON file_refs (file_id);
            """,
            )
            if self.row(conn, ROOT_DIR_ID) is None:
                self._insert_special(conn, ROOT_DIR_ID, "", None, "/")
            if self.row(conn, TRASH_DIR_ID) is None:
                self._insert_special(conn, TRASH_DIR_ID, TRASH_NAME, ROOT_DIR_ID, "/" + TRASH_NAME)
                conn.execute(
                    "INSERT OR IGNORE INTO file_names (dir_id, name, file_id) VALUES (?, ?, ?)",
                    (ROOT_DIR_ID, TRASH_NAME, TRASH_DIR_ID),
                )
        (self.files_root / TRASH_NAME).mkdir(parents=True, exist_ok=True)

    def _insert_special(self, conn: sqlite3.Connection, doc_id: str, name: str, dir_id: str | None, path: str) -> None:
        body = self.dir_body(name, dir_id, path, created_at=None)
        conn.execute(
            f'INSERT INTO "{self.tbl}" (id, rev, deleted, body) VALUES (?, ?, 0, ?)',
            (doc_id, make_rev(1, body), json.dumps(body, ensure_ascii=False)),
        )

    # -- documents ------------------------------------------------------------------------------------
    def cozy_metadata(
        self,
        *,
        upload: bool,
        source_account: str | None = None,
        source_account_identifier: str | None = None,
        at: str | None = None,
    ) -> dict[str, Any]:
        """The ``cozyMetadata`` the stack writes on a new file or folder for the token's app."""
        now = at or now_iso()
        meta: dict[str, Any] = {
            "doctypeVersion": DOCTYPE_VERSION,
            "metadataVersion": 1,
            "createdAt": now,
            "updatedAt": now,
        }
        if self.app is not None:
            meta.update(
                createdByApp=self.app.slug,
                createdByAppVersion=self.app.version,
                updatedByApps=[{"slug": self.app.slug, "date": now, "version": self.app.version}],
            )
        if upload:
            meta["uploadedAt"] = now
            if self.app is not None:
                meta["uploadedBy"] = {"slug": self.app.slug, "version": self.app.version}
        if source_account:
            meta["sourceAccount"] = source_account
        if source_account_identifier:
            meta["sourceAccountIdentifier"] = source_account_identifier
        return meta

    def touch_metadata(
        self,
        meta: Mapping[str, Any],
        *,
        upload: bool,
        source_account: str | None = None,
        source_account_identifier: str | None = None,
    ) -> dict[str, Any]:
        """cozyMetadata after a change by the token's app: ``updatedAt``, ``updatedByApps`` (one entry per
        slug, the latest last) and, for new content, ``uploadedAt``/``uploadedBy``."""
        now = now_iso()
        out = dict(meta) or self.cozy_metadata(upload=upload)
        out["updatedAt"] = now
        if self.app is not None:
            entries = [e for e in out.get("updatedByApps") or [] if e.get("slug") != self.app.slug]
            out["updatedByApps"] = [*entries, {"slug": self.app.slug, "date": now, "version": self.app.version}]
        if upload:
            out["uploadedAt"] = now
            if self.app is not None:
                out["uploadedBy"] = {"slug": self.app.slug, "version": self.app.version}
        if source_account:
            out["sourceAccount"] = source_account
        if source_account_identifier:
            out["sourceAccountIdentifier"] = source_account_identifier
        return out

    def dir_body(
        self, name: str, dir_id: str | None, path: str, *, created_at: str | None, tags: Sequence[str] = ()
    ) -> dict[str, Any]:
        now = now_iso()
        return {
            "type": "directory",
            "name": name,
            "dir_id": dir_id,
            "path": path,
            "created_at": created_at or now,
            "updated_at": now,
            "tags": list(tags),
            "metadata": {},
            "cozyMetadata": self.cozy_metadata(upload=False),
            "referenced_by": [],
        }

    # -- reading --------------------------------------------------------------------------------------
    def row(self, conn: sqlite3.Connection, doc_id: str) -> tuple[str, dict[str, Any]] | None:
        """``(rev, body)`` of a live entry, or ``None``."""
        got = conn.execute(f'SELECT rev, body FROM "{self.tbl}" WHERE id = ? AND deleted = 0', (doc_id,)).fetchone()
        return None if got is None else (str(got[0]), json.loads(got[1]))

    def need(
        self, conn: sqlite3.Connection, doc_id: str, *, what: str = "file or folder"
    ) -> tuple[str, dict[str, Any]]:
        got = self.row(conn, doc_id)
        if got is None:
            raise NotFound(f"{what} {doc_id!r} not found", reason="missing")
        return got

    def need_dir(self, conn: sqlite3.Connection, dir_id: str, *, writable: bool = True) -> tuple[str, dict[str, Any]]:
        """A folder that can receive entries: it exists, is a directory and (for writes) is not in the
        trash — the stack answers 404 for all three."""
        rev, body = self.need(conn, dir_id, what="folder")
        if body.get("type") != "directory":
            raise NotFound(f"{dir_id!r} is a file, not a folder", reason="not_a_directory")
        if writable and dir_id != ROOT_DIR_ID and (dir_id == TRASH_DIR_ID or self.in_trash(body["path"])):
            raise NotFound(f"folder {body['path']!r} is in the trash", reason="trashed")
        return rev, body

    @staticmethod
    def in_trash(path: str) -> bool:
        return path == "/" + TRASH_NAME or path.startswith("/" + TRASH_NAME + "/")

    def path_of(self, conn: sqlite3.Connection, body: Mapping[str, Any]) -> str:
        if body.get("type") == "directory":
            return str(body["path"])
        parent = self.need(conn, str(body["dir_id"]), what="folder")[1]
        return posixpath.join(str(parent["path"]), str(body["name"]))

    def disk(self, path: str) -> Path:
        """The on-disk place of a Cozy path (names were checked by ``names.check_name`` on the way in)."""
        return self.files_root.joinpath(*[p for p in path.split("/") if p])

    def child(self, conn: sqlite3.Connection, dir_id: str, name: str) -> str | None:
        got = conn.execute("SELECT file_id FROM file_names WHERE dir_id = ? AND name = ?", (dir_id, name)).fetchone()
        return None if got is None else str(got[0])

    def dir_by_path(self, conn: sqlite3.Connection, path: str) -> tuple[str, str, dict[str, Any]] | None:
        got = conn.execute(
            f"SELECT id, rev, body FROM \"{self.tbl}\" WHERE deleted = 0 AND json_extract(body, '$.path') = ?", (path,)
        ).fetchone()
        return None if got is None else (str(got[0]), str(got[1]), json.loads(got[2]))

    def file_doc(self, conn: sqlite3.Connection, doc_id: str, rev: str, body: Mapping[str, Any]) -> FileDoc:
        doc = {**body, "_id": doc_id, "_rev": rev}
        if body.get("type") != "directory":
            doc["path"] = self.path_of(conn, body)
        return FileDoc.from_doc(doc)

    def file_docs(self, conn: sqlite3.Connection, docs: Sequence[Mapping[str, Any]]) -> list[FileDoc]:
        """Raw documents (``_find`` results) as FileDocs, with files' paths from one batched lookup."""
        parents = {str(d["dir_id"]) for d in docs if d.get("type") != "directory" and d.get("dir_id")}
        paths: dict[str, str] = {}
        ids = sorted(parents)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for pid, ppath in conn.execute(
                f"SELECT id, json_extract(body, '$.path') FROM \"{self.tbl}\" "
                f"WHERE deleted = 0 AND id IN ({', '.join('?' * len(chunk))})",
                chunk,
            ):
                paths[pid] = ppath
        out = []
        for d in docs:
            doc = dict(d)
            if d.get("type") != "directory" and str(d.get("dir_id")) in paths:
                doc["path"] = posixpath.join(paths[str(d["dir_id"])], str(d.get("name", "")))
            out.append(FileDoc.from_doc(doc))
        return out

    def list_page(
        self, conn: sqlite3.Connection, dir_id: str, after: str, n: int
    ) -> tuple[list[tuple[str, str, dict[str, Any]]], str | None]:
        """Live, non-trashed children of a folder among the next ``n`` names after ``after``, by name,
        and the last name looked at (``None`` when the folder has no more)."""
        rows = conn.execute(
            f'SELECT d.id, d.rev, d.body, n.name FROM file_names n JOIN "{self.tbl}" d ON d.id = n.file_id '
            "WHERE n.dir_id = ? AND n.name > ? AND d.deleted = 0 "
            "AND json_extract(d.body, '$.dir_id') = n.dir_id AND json_extract(d.body, '$.name') = n.name "
            "ORDER BY n.name LIMIT ?",
            (dir_id, after, n),
        ).fetchall()
        out = []
        for doc_id, rev, body, _ in rows:
            parsed = json.loads(body)
            if not parsed.get("trashed"):
                out.append((str(doc_id), str(rev), parsed))
        return out, (str(rows[-1][3]) if len(rows) == n else None)

    def sync_refs(self, conn: sqlite3.Connection, file_id: str, body: Mapping[str, Any] | None) -> None:
        conn.execute("DELETE FROM file_refs WHERE file_id = ?", (file_id,))
        for ref in (body or {}).get("referenced_by") or []:
            conn.execute(
                "INSERT OR IGNORE INTO file_refs (file_id, type, id) VALUES (?, ?, ?)",
                (file_id, str(ref["type"]), str(ref["id"])),
            )

    def referencing(self, conn: sqlite3.Connection, doctype: str, doc_id: str) -> list[FileDoc]:
        rows = conn.execute(
            f'SELECT d.id, d.rev, d.body FROM file_refs r JOIN "{self.tbl}" d ON d.id = r.file_id '
            "WHERE r.type = ? AND r.id = ? AND d.deleted = 0 ORDER BY d.id",
            (doctype, doc_id),
        ).fetchall()
        return self.file_docs(conn, [{**json.loads(b), "_id": i, "_rev": r} for i, r, b in rows])
