"""Step 1 of each files-tree change (see ``_fileops``): check, reserve the name, record the intent.

Each ``plan_*`` runs inside the caller's write transaction and returns the :class:`~._fileops.Op` to
finish. The rules are the stack's (``model/vfs`` in cozy-stack): 404 when the folder is missing or in the
trash, 409 when the name is taken among the folder's entries, 412 on an ``If-Match`` or MD5 mismatch,
413 over the quota, 422 for a refused name. Changes that touch no file on disk (metadata, tags,
references) are single transactions here too (:func:`patch`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from browserkonnector.store._base import ROOT_DIR_ID, TRASH_DIR_ID, FileDoc, Reference, file_class, guess_mime
from browserkonnector.store._blobs import TempBlob
from browserkonnector.store._docs import make_rev, new_id
from browserkonnector.store._errors import BadRequest, Conflict, Forbidden, PreconditionFailed, QuotaExceeded
from browserkonnector.store._fileops import FileOps, Op, generation
from browserkonnector.store._names import check_name
from browserkonnector.store._sqlite import dumps
from browserkonnector.store._tree import Tree, now_iso

__all__ = ["change_refs", "patch", "plan_destroy", "plan_mkdir", "plan_move", "plan_overwrite", "plan_upload"]


def _reserve(conn: sqlite3.Connection, tree: Tree, dir_id: str, name: str, file_id: str) -> None:
    if tree.child(conn, dir_id, name) is not None:
        raise Conflict(f"a file or folder named {name!r} already exists in this folder", reason="conflict")
    conn.execute("INSERT INTO file_names (dir_id, name, file_id) VALUES (?, ?, ?)", (dir_id, name, file_id))


def _check_quota(ops: FileOps, conn: sqlite3.Connection, quota: int | None, delta: int) -> None:
    if quota is not None and delta > 0 and ops.used(conn) + delta > quota:
        raise QuotaExceeded(f"the store is full: {delta} more bytes do not fit in the quota of {quota}", reason="quota")


def _check_md5(blob: TempBlob, md5: str | None) -> None:
    if md5 is not None and md5 != blob.md5:
        raise PreconditionFailed(
            f"Content-MD5 mismatch: expected {md5}, the content's is {blob.md5}", reason="md5_mismatch"
        )


def plan_upload(
    ops: FileOps,
    conn: sqlite3.Connection,
    dir_id: str,
    name: str,
    blob: TempBlob,
    *,
    quota: int | None,
    mime: str | None,
    md5: str | None,
    metadata: Mapping[str, Any] | None,
    source_account: str | None,
    source_account_identifier: str | None,
    created_at: str | None,
    tags: Sequence[str] | None,
) -> Op:
    tree = ops.tree
    check_name(name, what="file name")
    _check_md5(blob, md5)
    tree.need_dir(conn, dir_id)
    _check_quota(ops, conn, quota, blob.size)
    file_id = new_id()
    _reserve(conn, tree, dir_id, name, file_id)
    now = now_iso()
    kind = guess_mime(name, mime)
    body = {
        "type": "file",
        "name": name,
        "dir_id": dir_id,
        "created_at": created_at or now,
        "updated_at": now,
        "size": str(blob.size),
        "md5sum": blob.md5,
        "mime": kind,
        "class": file_class(kind),
        "executable": False,
        "trashed": False,
        "encrypted": False,
        "tags": list(tags or []),
        "metadata": dict(metadata or {}),
        "referenced_by": [],
        "cozyMetadata": tree.cozy_metadata(
            upload=True, source_account=source_account, source_account_identifier=source_account_identifier, at=now
        ),
    }
    return ops.begin(
        conn,
        Op(
            file_id,
            ops.owner.id,
            "put",
            str(blob.path),
            body,
            {"rev": make_rev(1, body), "create": True, "delta": blob.size},
        ),
    )


def plan_overwrite(
    ops: FileOps,
    conn: sqlite3.Connection,
    file_id: str,
    blob: TempBlob,
    *,
    quota: int | None,
    mime: str | None,
    md5: str | None,
    metadata: Mapping[str, Any] | None,
    if_match: str | None,
    source_account: str | None,
    source_account_identifier: str | None,
) -> Op:
    """New content for a file; its id, name, folder, references and cozyMetadata's creation stay."""
    tree = ops.tree
    rev, body = tree.need(conn, file_id, what="file")
    if body.get("type") != "file":
        raise BadRequest(f"{file_id!r} is a folder: only a file's content can be overwritten")
    if if_match is not None and if_match != rev:
        raise PreconditionFailed(f"If-Match {if_match!r} is not the current revision {rev!r}", reason="if_match")
    _check_md5(blob, md5)
    old_size = int(body.get("size") or 0)
    _check_quota(ops, conn, quota, blob.size - old_size)
    kind = guess_mime(body["name"], mime)
    new = {
        **body,
        "size": str(blob.size),
        "md5sum": blob.md5,
        "mime": kind,
        "class": file_class(kind),
        "updated_at": now_iso(),
        "cozyMetadata": tree.touch_metadata(
            body.get("cozyMetadata") or {},
            upload=True,
            source_account=source_account,
            source_account_identifier=source_account_identifier,
        ),
    }
    if metadata is not None:
        new["metadata"] = dict(metadata)
    return ops.begin(
        conn,
        Op(
            file_id,
            ops.owner.id,
            "put",
            str(blob.path),
            new,
            {"rev": make_rev(generation(rev) + 1, new), "create": False, "delta": blob.size - old_size},
        ),
    )


def plan_mkdir(ops: FileOps, conn: sqlite3.Connection, parent_id: str, name: str, tags: Sequence[str] = ()) -> Op:
    tree = ops.tree
    check_name(name, what="folder name")
    _, parent = tree.need_dir(conn, parent_id)
    dir_id = new_id()
    _reserve(conn, tree, parent_id, name, dir_id)
    path = ("" if parent["path"] == "/" else parent["path"]) + "/" + name
    body = tree.dir_body(name, parent_id, path, created_at=None, tags=tags)
    return ops.begin(conn, Op(dir_id, ops.owner.id, "mkdir", None, body, {}))


def _protect(file_id: str) -> None:
    if file_id in (ROOT_DIR_ID, TRASH_DIR_ID):
        raise Forbidden(f"{file_id} cannot be moved, renamed, trashed or destroyed", reason="forbidden")


def plan_move(
    ops: FileOps,
    conn: sqlite3.Connection,
    file_id: str,
    *,
    name: str | None,
    dir_id: str | None,
    metadata: Mapping[str, Any] | None,
    tags: Sequence[str] | None,
    if_match: str | None,
    to_trash: bool = False,
) -> Op | FileDoc:
    """Rename and/or move (and trash: a move into the trash under a free name). Returns a FileDoc at once
    when nothing moves on disk (only metadata or tags change)."""
    tree = ops.tree
    _protect(file_id)
    rev, body = tree.need(conn, file_id)
    if if_match is not None and if_match != rev:
        raise PreconditionFailed(f"If-Match {if_match!r} is not the current revision {rev!r}", reason="if_match")
    new = dict(body)
    if metadata is not None:
        new["metadata"] = dict(metadata)
    if tags is not None:
        new["tags"] = list(tags)
    new["updated_at"] = now_iso()
    new["cozyMetadata"] = tree.touch_metadata(body.get("cozyMetadata") or {}, upload=False)
    old_path = tree.path_of(conn, body)
    if to_trash:
        if Tree.in_trash(old_path):
            raise BadRequest(f"{old_path!r} is already in the trash", reason="already_trashed")
        dir_id, name = TRASH_DIR_ID, _free_trash_name(conn, tree, body["name"])
        new["restore_path"] = old_path.rsplit("/", 1)[0] or "/"
    new_name = check_name(name, what="new name") if name is not None else body["name"]
    new_dir = dir_id if dir_id is not None else body["dir_id"]
    if (new_dir, new_name) == (body["dir_id"], body["name"]):
        return patch(ops, conn, file_id, rev, new)
    _, parent = tree.need_dir(conn, new_dir, writable=to_trash is False and new_dir != TRASH_DIR_ID)
    if body.get("type") == "directory" and (parent["path"] == old_path or parent["path"].startswith(old_path + "/")):
        raise BadRequest(f"cannot move the folder {old_path!r} into itself", reason="invalid_move")
    if not to_trash and not Tree.in_trash(parent["path"]):
        new.pop("restore_path", None)
    _reserve(conn, tree, new_dir, new_name, file_id)
    new.update(name=new_name, dir_id=new_dir)
    return ops.begin(conn, Op(file_id, ops.owner.id, "move", None, new, {"rev": make_rev(generation(rev) + 1, new)}))


def _free_trash_name(conn: sqlite3.Connection, tree: Tree, name: str) -> str:
    """Entries in the trash need distinct names too; on a clash the stack adds a suffix."""
    if tree.child(conn, TRASH_DIR_ID, name) is None:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    n = 2
    while True:
        candidate = f"{stem} ({n})" + (f".{ext}" if ext else "")
        if tree.child(conn, TRASH_DIR_ID, candidate) is None and len(candidate.encode()) <= 255:
            return candidate
        n += 1


def plan_destroy(ops: FileOps, conn: sqlite3.Connection, file_id: str) -> Op:
    """Delete for good: the entry and, for a folder, everything below it. Their documents become
    tombstones now (nothing new can go into a doomed folder); the names stay reserved until the disk
    entries are gone."""
    tree = ops.tree
    _protect(file_id)
    ops.check_free(conn, file_id)
    _, body = tree.need(conn, file_id)
    ids, freed = [file_id], int(body.get("size") or 0)
    if body.get("type") == "directory":
        path = body["path"]
        dirs = [file_id] + [
            str(r[0])
            for r in conn.execute(
                f"SELECT id FROM \"{tree.tbl}\" WHERE deleted = 0 AND json_extract(body, '$.path') >= ? "
                "AND json_extract(body, '$.path') < ?",
                (path + "/", path + "0"),
            )
        ]
        ids = list(dirs)
        for start in range(0, len(dirs), 500):
            chunk = dirs[start : start + 500]
            for fid, size in conn.execute(
                f"SELECT d.id, json_extract(d.body, '$.size') FROM file_names n JOIN \"{tree.tbl}\" d "
                f"ON d.id = n.file_id WHERE n.dir_id IN ({', '.join('?' * len(chunk))}) AND d.deleted = 0 "
                "AND json_extract(d.body, '$.type') = 'file'",
                chunk,
            ):
                ids.append(str(fid))
                freed += int(size or 0)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        conn.execute(
            f"UPDATE \"{tree.tbl}\" SET deleted = 1, body = '{{}}', "
            "rev = (CAST(substr(rev, 1, instr(rev, '-') - 1) AS INTEGER) + 1) || '-' || lower(hex(randomblob(16))) "
            f"WHERE id IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
    return ops.begin(
        conn,
        Op(
            file_id,
            ops.owner.id,
            "destroy",
            None,
            None,
            {"ids": ids, "parent": body["dir_id"], "name": body["name"], "freed": freed},
        ),
    )


def patch(ops: FileOps, conn: sqlite3.Connection, file_id: str, rev: str, new: dict[str, Any]) -> FileDoc:
    """A change that moves nothing on disk: one transaction, a new revision."""
    ops.check_free(conn, file_id)
    new_rev = make_rev(generation(rev) + 1, new)
    conn.execute(
        f'UPDATE "{ops.tree.tbl}" SET rev = ?, body = ? WHERE id = ? AND deleted = 0', (new_rev, dumps(new), file_id)
    )
    ops.tree.sync_refs(conn, file_id, new)
    return ops.tree.file_doc(conn, file_id, new_rev, new)


def change_refs(
    ops: FileOps, conn: sqlite3.Connection, file_id: str, refs: Sequence[Reference], *, add: bool
) -> FileDoc:
    rev, body = ops.tree.need(conn, file_id)
    current = [dict(r) for r in body.get("referenced_by") or []]
    keys = {(r.type, r.id) for r in refs}
    if add:
        have = {(r["type"], r["id"]) for r in current}
        for ref in refs:
            if (ref.type, ref.id) not in have:
                have.add((ref.type, ref.id))
                current.append(ref.to_json())
    else:
        current = [r for r in current if (r["type"], r["id"]) not in keys]
    return patch(ops, conn, file_id, rev, {**body, "referenced_by": current})
