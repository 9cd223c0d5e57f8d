"""Changes to the files tree of a LocalStore, crash-safe: an intent log, then roll forward.

Every change that touches the disk (create, overwrite, mkdir, rename/move/trash, destroy) runs in two
steps, each one SQLite transaction:

1. **begin** — checks (folder exists, name free, ``If-Match``, quota), *reserves* the destination name in
   ``file_names`` (so no other writer, in this process or another, can take it), and records the intent
   in ``pending``: the operation, the temp file holding the new content (already complete and fsynced,
   see ``_blobs``), the document as it will be. Nothing visible has changed yet.
2. **finish** — under the write lock: the disk change (``os.replace`` of the temp file onto the final
   path, ``os.rename`` of the entry, ``mkdir``, ``rmtree``), fsync of the directory, then the document
   change and the removal of the intent, committed together. Several intents may be finished in one
   transaction (:meth:`FileOps.finish_many`, the group commit of ``_commit``): every disk change, then
   each directory touched fsynced once, then one commit — the order per intent is the same.

**Crash analysis.** Killed before (1) commits: only a temp file in ``.tmp/`` (removed by recovery),
nothing else. Killed after (1), before the disk change: the intent is there and its temp file is
complete; recovery redoes (2). Killed after the disk change, before (2) commits: the intent is still
there; recovery sees the disk change done (the temp file is gone, or the source no longer exists) and
only writes the document. In every case the entry ends *fully new*, with a document matching its
content (md5, size); a document never points to a missing or partial file, because a new document is
committed only after its file is in place, and an overwrite's intent holds the new md5/size from the
moment the new bytes can appear. During (2) of a live overwrite, another process may briefly read the new
bytes under the old document: the window of one ``os.replace`` + commit.

**Recovery** runs when a store opens, and before each finish for intents of *dead* owners only (see
``_blobs.Owner``): a live writer's work in progress is never touched. Everything in (2) is idempotent.
An intent that can no longer complete (its folder was destroyed meanwhile) is undone instead: its temp
file removed, its reservation released.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from browserkonnector.store._base import FileDoc
from browserkonnector.store._blobs import Owner, fsync_dir, owner_is_dead, remove_quietly
from browserkonnector.store._docs import make_rev
from browserkonnector.store._errors import Conflict, NotFound
from browserkonnector.store._sqlite import Database, dumps
from browserkonnector.store._tree import Tree

__all__ = ["Busy", "FileOps", "Op"]


class Busy(Conflict):
    """Another live writer has an operation in progress on this entry (retried by the caller)."""


@dataclass
class Op:
    """One intent: a row of ``pending``."""

    file_id: str
    owner: str
    op: str  # put | mkdir | move | destroy
    tmp: str | None = None
    doc: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Op:
        return cls(
            row[0], row[1], row[2], row[3], json.loads(row[4]) if row[4] else None, json.loads(row[5]) if row[5] else {}
        )


_OP_COLUMNS = "file_id, owner, op, tmp, doc, extra"


def generation(rev: str) -> int:
    head = rev.partition("-")[0]
    return int(head) if head.isdigit() else 0


class FileOps:
    """Begin/finish/recover of the operations described in the module docstring."""

    def __init__(self, db: Database, tree: Tree, root: Path, owner: Owner) -> None:
        self.db, self.tree, self.owner = db, tree, owner
        self.tmp_dir = root / ".tmp"
        self.locks_dir = root / ".locks"
        self._dead: set[str] = set()
        #: While :meth:`finish_many` runs (under the write lock): the folders to fsync before its commit.
        self._deferred: set[Path] | None = None

    # -- the intent log -------------------------------------------------------------------------------
    def begin(self, conn: sqlite3.Connection, op: Op) -> Op:
        """Record an intent in the caller's transaction; ``Busy`` if a live writer holds the entry."""
        self.heal(conn)
        try:
            conn.execute(
                f"INSERT INTO pending ({_OP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (op.file_id, op.owner, op.op, op.tmp, dumps(op.doc) if op.doc is not None else None, dumps(op.extra)),
            )
        except sqlite3.IntegrityError as exc:
            raise Busy(f"{op.file_id} is being changed by another writer", reason="busy") from exc
        return op

    def check_free(self, conn: sqlite3.Connection, file_id: str) -> None:
        """For single-transaction changes: refuse while an intent on the entry is in progress."""
        self.heal(conn)
        if conn.execute("SELECT 1 FROM pending WHERE file_id = ?", (file_id,)).fetchone():
            raise Busy(f"{file_id} is being changed by another writer", reason="busy")

    def heal(self, conn: sqlite3.Connection) -> int:
        """Finish the intents of dead owners (inside the caller's write transaction)."""
        rows = conn.execute(f"SELECT {_OP_COLUMNS} FROM pending WHERE owner != ?", (self.owner.id,)).fetchall()
        done = 0
        for row in rows:
            op = Op.from_row(row)
            if op.owner in self._dead or owner_is_dead(self.locks_dir, op.owner):
                self._dead.add(op.owner)
                self._finish_in(conn, op)
                done += 1
        return done

    def finish(self, op: Op) -> FileDoc | None:
        """Complete one of this owner's intents; ``None`` if it had to be undone (folder gone)."""
        done = self.finish_many([op])[0]
        if isinstance(done, BaseException):
            raise done
        return done

    def finish_many(self, ops: list[Op]) -> list[FileDoc | Exception | None]:
        """Complete several of this owner's intents in **one** transaction (a group commit): each disk
        change made, then every folder touched fsynced **once**, then the documents committed together.

        The crash analysis of the module docstring holds for each intent: its document still becomes
        visible only with the commit, after its file is in place and its folder fsynced; a crash before
        the commit leaves every intent of the batch to recovery, as it would leave one. An intent that
        fails on its own is rolled back to its savepoint (its intent stays, for recovery) and its
        exception is its result; the others are committed.
        """
        results: list[FileDoc | Exception | None] = []
        with self.db.write() as conn:
            self._deferred = set()
            try:
                self.heal(conn)
                for op in ops:
                    conn.execute("SAVEPOINT bk_finish")
                    try:
                        results.append(self._finish_in(conn, op))
                    except Exception as exc:
                        if isinstance(exc, sqlite3.DatabaseError):
                            raise  # the transaction itself is gone: the whole batch fails
                        conn.execute("ROLLBACK TO bk_finish")
                        results.append(exc)
                    conn.execute("RELEASE bk_finish")
                for folder in sorted(self._deferred):
                    fsync_dir(folder)
            finally:
                self._deferred = None
        return results

    def _sync_dir(self, path: Path) -> None:
        """fsync ``path`` now, or once at the end of the batch being finished (before its commit)."""
        if self._deferred is not None:
            self._deferred.add(path)
        else:
            fsync_dir(path)

    def recover(self) -> int:
        """On open: finish dead owners' intents, then remove their temp and lock files."""
        with self.db.write() as conn:
            done = self.heal(conn)
            live_tmps = {str(r[0]) for r in conn.execute("SELECT tmp FROM pending WHERE tmp IS NOT NULL")}
            for path in self.tmp_dir.glob("*.part"):
                owner = path.name.split(".", 1)[0]
                if (
                    str(path) not in live_tmps
                    and owner != self.owner.id
                    and (owner in self._dead or owner_is_dead(self.locks_dir, owner))
                ):
                    remove_quietly(path)
            for lock in self.locks_dir.glob("*.lock"):
                if lock.stem != self.owner.id and owner_is_dead(self.locks_dir, lock.stem):
                    remove_quietly(lock)
        return done

    # -- finishing ------------------------------------------------------------------------------------
    def _finish_in(self, conn: sqlite3.Connection, op: Op) -> FileDoc | None:
        row = conn.execute("SELECT owner FROM pending WHERE file_id = ?", (op.file_id,)).fetchone()
        if row is None or row[0] != op.owner:
            return None  # already finished (by a recovery)
        try:
            result: FileDoc | None = getattr(self, f"_finish_{op.op}")(conn, op)
        except NotFound:
            self._undo(conn, op)  # its folder vanished meanwhile: the intent cannot complete
            return None
        conn.execute("DELETE FROM pending WHERE file_id = ?", (op.file_id,))
        return result

    def _undo(self, conn: sqlite3.Connection, op: Op) -> None:
        if op.tmp:
            remove_quietly(Path(op.tmp))
        if op.op in ("put", "mkdir") and op.extra.get("create", True):
            conn.execute("DELETE FROM file_names WHERE file_id = ?", (op.file_id,))
        elif op.op == "move" and op.doc is not None:
            conn.execute(
                "DELETE FROM file_names WHERE file_id = ? AND dir_id = ? AND name = ?",
                (op.file_id, op.doc["dir_id"], op.doc["name"]),
            )
        conn.execute("DELETE FROM pending WHERE file_id = ?", (op.file_id,))

    def _store(self, conn: sqlite3.Connection, file_id: str, rev: str, body: dict[str, Any]) -> FileDoc:
        tbl = self.tree.tbl
        conn.execute(
            f'INSERT INTO "{tbl}" (id, rev, deleted, body) VALUES (?, ?, 0, ?) '
            "ON CONFLICT (id) DO UPDATE SET rev = excluded.rev, deleted = 0, body = excluded.body",
            (file_id, rev, dumps(body)),
        )
        self.tree.sync_refs(conn, file_id, body)
        return self.tree.file_doc(conn, file_id, rev, body)

    def _add_used(self, conn: sqlite3.Connection, delta: int) -> None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('used_bytes', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
            (delta,),
        )

    def used(self, conn: sqlite3.Connection) -> int:
        got = conn.execute("SELECT value FROM meta WHERE key = 'used_bytes'").fetchone()
        return int(got[0]) if got else 0

    def _finish_put(self, conn: sqlite3.Connection, op: Op) -> FileDoc:
        assert op.doc is not None
        assert op.tmp is not None
        dst = self.tree.disk(self.tree.path_of(conn, op.doc))  # the folder's path *now*
        tmp = Path(op.tmp)
        if tmp.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, dst)
            self._sync_dir(dst.parent)
        self._add_used(conn, int(op.extra.get("delta", 0)))
        return self._store(conn, op.file_id, op.extra["rev"], op.doc)

    def _finish_mkdir(self, conn: sqlite3.Connection, op: Op) -> FileDoc:
        assert op.doc is not None
        parent = self.tree.need(conn, str(op.doc["dir_id"]), what="folder")[1]
        op.doc["path"] = _join(parent["path"], op.doc["name"])
        dst = self.tree.disk(op.doc["path"])
        dst.mkdir(parents=True, exist_ok=True)
        self._sync_dir(dst.parent)
        return self._store(conn, op.file_id, make_rev(1, op.doc), op.doc)

    def _finish_move(self, conn: sqlite3.Connection, op: Op) -> FileDoc:
        assert op.doc is not None
        old_body = self.tree.need(conn, op.file_id)[1]
        old_path = self.tree.path_of(conn, old_body)
        new_parent = self.tree.need(conn, str(op.doc["dir_id"]), what="folder")[1]
        new_path = _join(new_parent["path"], op.doc["name"])
        src, dst = self.tree.disk(old_path), self.tree.disk(new_path)
        if os.path.lexists(src) and not os.path.lexists(dst):
            os.rename(src, dst)
            self._sync_dir(dst.parent)
            if src.parent != dst.parent:
                self._sync_dir(src.parent)
        body = dict(op.doc)
        is_dir = body.get("type") == "directory"
        if is_dir:
            body["path"] = new_path
        else:
            body["trashed"] = Tree.in_trash(new_parent["path"])
        if (old_body["dir_id"], old_body["name"]) != (body["dir_id"], body["name"]):
            conn.execute(
                "DELETE FROM file_names WHERE dir_id = ? AND name = ? AND file_id = ?",
                (old_body["dir_id"], old_body["name"], op.file_id),
            )
        result = self._store(conn, op.file_id, make_rev(generation(op.extra["rev"]), body), body)
        if is_dir and old_path != new_path:
            self._rewrite_subtree(conn, op.file_id, old_path, new_path)
        return result

    def _rewrite_subtree(self, conn: sqlite3.Connection, dir_id: str, old: str, new: str) -> None:
        """After a folder moved: its sub-folders' paths, and ``trashed`` of the files below if the move
        crossed the trash's border. Each changed document gets a new revision, as on the stack."""
        tbl = self.tree.tbl
        dir_ids = [dir_id]
        for sub_id, rev, text in conn.execute(
            f"SELECT id, rev, body FROM \"{tbl}\" WHERE deleted = 0 AND json_extract(body, '$.path') >= ? "
            "AND json_extract(body, '$.path') < ?",
            (old + "/", old + "0"),
        ).fetchall():
            body = json.loads(text)
            body["path"] = new + body["path"][len(old) :]
            conn.execute(
                f'UPDATE "{tbl}" SET rev = ?, body = ? WHERE id = ?',
                (make_rev(generation(rev) + 1, body), dumps(body), sub_id),
            )
            dir_ids.append(sub_id)
        trashed = Tree.in_trash(new)
        if trashed == Tree.in_trash(old):
            return
        for start in range(0, len(dir_ids), 500):
            chunk = dir_ids[start : start + 500]
            for fid, rev, text in conn.execute(
                f'SELECT d.id, d.rev, d.body FROM file_names n JOIN "{tbl}" d ON d.id = n.file_id '
                f"WHERE n.dir_id IN ({', '.join('?' * len(chunk))}) AND d.deleted = 0 "
                "AND json_extract(d.body, '$.type') = 'file'",
                chunk,
            ).fetchall():
                body = json.loads(text)
                body["trashed"] = trashed
                conn.execute(
                    f'UPDATE "{tbl}" SET rev = ?, body = ? WHERE id = ?',
                    (make_rev(generation(rev) + 1, body), dumps(body), fid),
                )

    def _finish_destroy(self, conn: sqlite3.Connection, op: Op) -> None:
        parent = self.tree.row(conn, str(op.extra["parent"]))
        if parent is not None:  # else the parent's own destroy removes the subtree from disk
            target = self.tree.disk(_join(parent[1]["path"], op.extra["name"]))
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target, ignore_errors=True)
            else:
                remove_quietly(target)
            self._sync_dir(target.parent)
        ids = list(op.extra["ids"])
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            conn.execute(f"DELETE FROM file_names WHERE file_id IN ({marks})", chunk)
            conn.execute(f"DELETE FROM file_refs WHERE file_id IN ({marks})", chunk)
        self._add_used(conn, -int(op.extra.get("freed", 0)))


def _join(parent: str, name: str) -> str:
    return ("" if parent == "/" else parent) + "/" + name
