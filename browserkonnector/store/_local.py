"""``LocalStore``: the embedded Cozy — SQLite for documents and files' metadata, a folder for contents.

A connector run without a Cozy saves here, with the stack's observable rules (see
:mod:`browserkonnector.store._base`), so the same code saves into a real Cozy unchanged. The layout is
meant to be opened by a person::

    <root>/store.sqlite3     documents of every doctype, io.cozy.files included (WAL mode)
    <root>/files/            the Cozy tree: /Administratif/EDF/2024-01.pdf is files/Administratif/EDF/2024-01.pdf
    <root>/files/.cozy_trash the trash
    <root>/.tmp/             content being written (never a partial file under files/)
    <root>/.locks/           one lock file per open store (tells a crashed writer from a live one)

How the parts fit: documents (``_docs``) and Mango queries (``_find`` = ``_pushdown`` + ``mango``) over
one table per doctype (``_sqlite``); the files tree (``_tree``) changes through an intent log with
roll-forward recovery (``_fileplans`` then ``_fileops``: the crash analysis is there), the changes in
flight written together by ``_commit`` (a group commit), content streamed and fsynced by ``_blobs``.
Names follow :mod:`.names` (the stack's rules, plus what a Linux disk needs);
since every name is checked and ``.``/``..`` refused, no path can leave ``<root>/files``.

Several stores (processes or threads) may use one root at the same time: writes are ``BEGIN IMMEDIATE``
transactions, names are reserved in the database before a file moves, and a writer finishing a change
first completes those of crashed writers. SQLite calls are short and run inline; fsync-heavy steps
(writing content, moving files into place) run in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import os
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from browserkonnector.store import _docs, _fileplans
from browserkonnector.store._base import (
    FILES_DOCTYPE,
    ROOT_DIR_ID,
    AppInfo,
    BulkResult,
    Content,
    Doc,
    FileDoc,
    FindResult,
    Reference,
    find_all_pages,
    index_name,
)
from browserkonnector.store._blobs import Owner, TempBlob, remove_quietly, write_temp
from browserkonnector.store._commit import Committer
from browserkonnector.store._errors import Conflict, NotFound
from browserkonnector.store._fileops import Busy, FileOps, Op
from browserkonnector.store._find import find as _find
from browserkonnector.store._names import split_path
from browserkonnector.store._sqlite import Database
from browserkonnector.store._tree import Tree

__all__ = ["LocalStore"]

T = TypeVar("T")


class LocalStore:
    """The embedded store. ``LocalStore(root)`` opens lazily; ``await LocalStore.open(root)`` or
    ``async with LocalStore(root) as store:`` open at once (and recover after a crash).

    ``quota_bytes`` makes uploads beyond it fail with ``QuotaExceeded`` (413), as a full Cozy does.
    ``strict_indexes`` makes ``find`` raise ``NoIndex`` when no defined index serves a query, like the
    stack; by default such a query runs anyway (with CouchDB's warning). ``readonly`` opens without
    writing anything (no recovery, no lock file; SQLite in read-only mode): for looking into a store on
    a read-only disk, a copy, or a full disk; any write then raises ``Forbidden``.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        app: AppInfo | None = None,
        quota_bytes: int | None = None,
        strict_indexes: bool = False,
        readonly: bool = False,
    ) -> None:
        self.root = Path(root)
        self.readonly = readonly
        self.app = app
        self.quota_bytes = quota_bytes
        self.strict_indexes = strict_indexes
        self._db: Database | None = None
        self._owner: Owner | None = None
        self._tree: Tree | None = None
        self._ops: FileOps | None = None
        self._committers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Committer] = weakref.WeakKeyDictionary()

    @classmethod
    async def open(cls, root: str | os.PathLike[str], **kwargs: Any) -> LocalStore:
        store = cls(root, **kwargs)
        await anyio.to_thread.run_sync(store._ready)
        return store

    def _ready(self) -> FileOps:
        if self._ops is not None:
            return self._ops
        if self.readonly:  # reading never writes: no folders, no lock file, no crash recovery
            self._owner = Owner.reader()
            self._db = Database(self.root / "store.sqlite3", readonly=True)
            self._tree = Tree(self._db, self.root, self.app)
            self._ops = FileOps(self._db, self._tree, self.root, self._owner)
            return self._ops
        for sub in ("files", ".tmp", ".locks"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._owner = Owner(self.root / ".locks")
        self._db = Database(self.root / "store.sqlite3")
        self._tree = Tree(self._db, self.root, self.app)
        ops = FileOps(self._db, self._tree, self.root, self._owner)
        ops.recover()
        self._ops = ops
        return ops

    @property
    def db(self) -> Database:
        self._ready()
        assert self._db is not None
        return self._db

    @property
    def tree(self) -> Tree:
        self._ready()
        assert self._tree is not None
        return self._tree

    def describe(self) -> str:
        return f"LocalStore({self.root})"

    def __repr__(self) -> str:
        return f"<{self.describe()}>"

    async def close(self) -> None:
        if self._db is not None:
            self._db.close()
        if self._owner is not None:
            self._owner.release()
        self._db = self._owner = self._tree = self._ops = None

    async def __aenter__(self) -> LocalStore:
        await anyio.to_thread.run_sync(self._ready)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- documents ------------------------------------------------------------------------------------
    async def get(self, doctype: str, doc_id: str) -> Doc:
        return _docs.get_doc(self.db, doctype, doc_id)

    async def get_many(self, doctype: str, ids: Sequence[str]) -> list[Doc | None]:
        return _docs.get_many(self.db, doctype, list(ids))

    def _write(self, doctype: str, doc: Mapping[str, Any], mode: _docs.Mode) -> Doc:
        self.db.check_doctype(doctype)
        prepared = _docs.prepare(doctype, doc, mode)
        with self.db.write() as conn:
            doc_id, rev, body = _docs.write_prepared(self.db, conn, doctype, prepared, self._stamp(doctype))
        return {"_id": doc_id, "_rev": rev, **body, "_type": doctype}

    async def create(self, doctype: str, doc: Mapping[str, Any]) -> Doc:
        return self._write(doctype, doc, "create")

    async def update(self, doctype: str, doc: Mapping[str, Any]) -> Doc:
        return self._write(doctype, doc, "update")

    async def delete(self, doctype: str, doc_id: str, rev: str) -> None:
        self._write(doctype, {"_id": doc_id, "_rev": rev}, "delete")

    async def bulk_save(self, doctype: str, docs: Sequence[Mapping[str, Any]]) -> list[BulkResult]:
        self.db.check_doctype(doctype)
        return _docs.bulk(self.db, doctype, list(docs), self._stamp(doctype))

    def _stamp(self, doctype: str) -> _docs.Stamp | None:
        """The stack adds cozyMetadata itself to ``io.cozy.accounts`` (on create, or when absent)."""
        if doctype != _docs.ACCOUNTS_DOCTYPE:
            return None

        def stamp(body: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
            if body.get("cozyMetadata"):
                return body
            meta = self.tree.cozy_metadata(upload=False)
            meta.pop("doctypeVersion", None)
            if previous and isinstance(previous.get("cozyMetadata"), dict):
                meta["createdAt"] = previous["cozyMetadata"].get("createdAt", meta["createdAt"])
            return {**body, "cozyMetadata": meta}

        return stamp

    async def find(
        self,
        doctype: str,
        selector: Mapping[str, Any],
        *,
        sort: Sequence[Mapping[str, str] | str] | None = None,
        fields: Sequence[str] | None = None,
        limit: int | None = None,
        skip: int = 0,
        bookmark: str | None = None,
        use_index: str | None = None,
    ) -> FindResult:
        return _find(
            self.db,
            doctype,
            selector,
            sort=sort,
            fields=fields,
            limit=limit,
            skip=skip,
            bookmark=bookmark,
            use_index=use_index,
            strict=self.strict_indexes,
        )

    def find_all(
        self,
        doctype: str,
        selector: Mapping[str, Any],
        *,
        sort: Sequence[Mapping[str, str] | str] | None = None,
        fields: Sequence[str] | None = None,
        use_index: str | None = None,
        page_size: int = 1000,
    ) -> AsyncIterator[Doc]:
        return find_all_pages(
            self, doctype, selector, sort=sort, fields=fields, use_index=use_index, page_size=page_size
        )

    async def all_docs(self, doctype: str, *, page_size: int = 1000) -> AsyncIterator[Doc]:
        after = ""
        while True:
            with self.db.read() as conn:
                tbl = self.db.table(doctype)
                if tbl is None:
                    return
                rows = conn.execute(
                    f'SELECT id, rev, body FROM "{tbl}" WHERE deleted = 0 AND id > ? ORDER BY id LIMIT ?',
                    (after, page_size),
                ).fetchall()
            for doc_id, rev, body in rows:
                yield {"_id": doc_id, "_rev": rev, **_loads(body)}
            if len(rows) < page_size:
                return
            after = rows[-1][0]

    async def define_index(
        self,
        doctype: str,
        fields: Sequence[str],
        *,
        name: str | None = None,
        partial_filter: Mapping[str, Any] | None = None,
    ) -> str:
        return (await self.ensure_index(doctype, fields, name=name, partial_filter=partial_filter))[0]

    async def ensure_index(
        self,
        doctype: str,
        fields: Sequence[str],
        *,
        name: str | None = None,
        partial_filter: Mapping[str, Any] | None = None,
    ) -> tuple[str, bool]:
        """Like :meth:`define_index`, also telling whether it was ``created`` (else it ``exists``), for
        the stack emulator's ``_index`` answer."""
        name = name or index_name(list(fields), partial_filter)
        created = self.db.define_index(doctype, list(fields), name, partial_filter)
        return f"_design/{name}", created

    async def doctypes(self) -> list[str]:
        with self.db.read() as conn:
            return [
                d
                for d, tbl in self.db.all_doctypes()
                if conn.execute(f'SELECT 1 FROM "{tbl}" WHERE deleted = 0 LIMIT 1').fetchone()
            ]

    # -- files: reading -------------------------------------------------------------------------------
    async def stat(self, file_id: str) -> FileDoc:
        with self.db.read() as conn:
            rev, body = self.tree.need(conn, file_id)
            return self.tree.file_doc(conn, file_id, rev, body)

    async def stat_path(self, path: str) -> FileDoc:
        """The entry at ``path``. A name taken by an upload still in flight (its intent committed, its
        document not yet) is waited for, briefly: the stack answers such a stat once the upload is done,
        and a concurrent uploader that just got a 409 for that name stats it next."""
        parts = split_path(path)
        clean = "/" + "/".join(parts)
        tree = self.tree
        delay = 0.002
        for _ in range(40):  # ~2 s at most: an upload's last step takes milliseconds
            with self.db.read() as conn:
                found = tree.dir_by_path(conn, clean)
                if found is not None:
                    return tree.file_doc(conn, *found)
                parent = tree.dir_by_path(conn, "/" + "/".join(parts[:-1])) if parts else None
                file_id = tree.child(conn, parent[0], parts[-1]) if parent else None
                got = tree.row(conn, file_id) if file_id else None
                if file_id is not None and got is not None and got[1].get("name") == parts[-1]:
                    return tree.file_doc(conn, file_id, *got)
                in_flight = (
                    file_id is not None
                    and got is None
                    and conn.execute("SELECT 1 FROM pending WHERE file_id = ?", (file_id,)).fetchone() is not None
                )
            if not in_flight:
                break
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.1)
        raise NotFound(f"no file or folder at {clean!r}", reason="missing")

    async def list_dir(self, dir_id: str) -> AsyncIterator[FileDoc]:
        after: str | None = ""
        while after is not None:
            with self.db.read() as conn:
                self.tree.need_dir(conn, dir_id, writable=False)
                items, after = self.tree.list_page(conn, dir_id, after, 200)
                docs = [self.tree.file_doc(conn, *item) for item in items]
            for doc in docs:
                yield doc

    def _disk_path(self, file_id: str) -> Path:
        with self.db.read() as conn:
            _, body = self.tree.need(conn, file_id, what="file")
            if body.get("type") != "file":
                raise NotFound(f"{file_id!r} is a folder, not a file", reason="not_a_file")
            return self.tree.disk(self.tree.path_of(conn, body))

    def disk_path(self, file_id: str) -> Path:
        """Where a file's content lives on disk (for people and ``browserkonnector store show``)."""
        return self._disk_path(file_id)

    async def download(self, file_id: str) -> bytes:
        return b"".join([chunk async for chunk in self.iter_download(file_id)])

    async def iter_download(self, file_id: str, *, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]:
        for attempt in (1, 2):
            try:
                fh = await anyio.to_thread.run_sync(self._disk_path(file_id).open, "rb")
                break
            except FileNotFoundError:
                if attempt == 2:  # a concurrent move finishes between the document read and the open
                    raise NotFound(f"the content of {file_id!r} is missing", reason="missing") from None
        try:
            while chunk := await anyio.to_thread.run_sync(fh.read, chunk_size):
                yield chunk
        finally:
            fh.close()

    async def find_files(
        self,
        selector: Mapping[str, Any],
        *,
        sort: Sequence[Mapping[str, str] | str] | None = None,
        limit: int | None = None,
        skip: int = 0,
        bookmark: str | None = None,
        use_index: str | None = None,
    ) -> tuple[list[FileDoc], FindResult]:
        page = await self.find(
            FILES_DOCTYPE, selector, sort=sort, limit=limit, skip=skip, bookmark=bookmark, use_index=use_index
        )
        with self.db.read() as conn:
            return self.tree.file_docs(conn, page.docs), page

    async def referenced_files(self, doctype: str, doc_id: str) -> list[FileDoc]:
        with self.db.read() as conn:
            return self.tree.referencing(conn, doctype, doc_id)

    # -- files: writing -------------------------------------------------------------------------------
    async def _change(self, plan: Callable[..., Op | FileDoc], *args: Any, **kwargs: Any) -> FileDoc:
        """Run step 1 (retrying while another live writer holds the entry) then step 2, in a thread,
        batched with the other changes in flight on this event loop (``_commit``: a group commit)."""
        committer = self._committer()
        delay = 0.005
        for _ in range(300):
            try:
                return await committer.change(plan, *args, **kwargs)
            except Busy:
                await anyio.sleep(delay)
                delay = min(delay * 2, 0.1)
        raise Conflict("another writer kept this file busy for too long", reason="busy")

    def _committer(self) -> Committer:
        """This event loop's queue of changes (a store may be used from several loops, e.g. the stack
        emulator's server thread)."""
        ops = self._ready()
        loop = asyncio.get_running_loop()
        committer = self._committers.get(loop)
        if committer is None or committer.ops is not ops:
            committer = self._committers[loop] = Committer(ops)
        return committer

    async def _room(self, extra: int = 0) -> int | None:
        if self.quota_bytes is None:
            return None
        with self.db.read() as conn:
            return self.quota_bytes - self._ready().used(conn) + extra

    async def _with_blob(
        self, content: Content, room: int | None, plan: Callable[..., Op | FileDoc], *args: Any, **kwargs: Any
    ) -> FileDoc:
        blob: TempBlob = await write_temp(self.root / ".tmp", self._owner_or_open(), content, max_bytes=room)
        try:
            return await self._change(plan, *args, blob, **kwargs)  # success: the blob was moved into place
        except BaseException:
            # On failure before step 1 committed, ours to remove. After step 1 committed it is referenced
            # by an intent, which recovery finishes instead.
            with self.db.read() as conn:
                referenced = conn.execute("SELECT 1 FROM pending WHERE tmp = ?", (str(blob.path),)).fetchone()
            if not referenced:
                remove_quietly(blob.path)
            raise

    def _owner_or_open(self) -> Owner:
        self._ready()
        assert self._owner is not None
        return self._owner

    async def upload(
        self,
        dir_id: str,
        name: str,
        content: Content,
        *,
        mime: str | None = None,
        md5: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        source_account: str | None = None,
        source_account_identifier: str | None = None,
        created_at: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> FileDoc:
        with self.db.read() as conn:  # fail before reading any content when the folder is wrong
            self.tree.need_dir(conn, dir_id)
        return await self._with_blob(
            content,
            await self._room(),
            _fileplans.plan_upload,
            dir_id,
            name,
            quota=self.quota_bytes,
            mime=mime,
            md5=md5,
            metadata=metadata,
            source_account=source_account,
            source_account_identifier=source_account_identifier,
            created_at=created_at,
            tags=tags,
        )

    async def overwrite(
        self,
        file_id: str,
        content: Content,
        *,
        mime: str | None = None,
        md5: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        if_match: str | None = None,
        source_account: str | None = None,
        source_account_identifier: str | None = None,
    ) -> FileDoc:
        current = await self.stat(file_id)
        return await self._with_blob(
            content,
            await self._room(current.size or 0),
            _fileplans.plan_overwrite,
            file_id,
            quota=self.quota_bytes,
            mime=mime,
            md5=md5,
            metadata=metadata,
            if_match=if_match,
            source_account=source_account,
            source_account_identifier=source_account_identifier,
        )

    async def update_file(
        self,
        file_id: str,
        *,
        name: str | None = None,
        dir_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        if_match: str | None = None,
    ) -> FileDoc:
        return await self._change(
            _fileplans.plan_move, file_id, name=name, dir_id=dir_id, metadata=metadata, tags=tags, if_match=if_match
        )

    async def trash(self, file_id: str) -> FileDoc:
        return await self._change(
            _fileplans.plan_move,
            file_id,
            name=None,
            dir_id=None,
            metadata=None,
            tags=None,
            if_match=None,
            to_trash=True,
        )

    async def destroy(self, file_id: str) -> None:
        ops = self._ready()
        for _ in range(300):
            try:

                def run() -> None:
                    with ops.db.write() as conn:
                        op = _fileplans.plan_destroy(ops, conn, file_id)
                    ops.finish(op)

                await anyio.to_thread.run_sync(run)
                return
            except Busy:
                await anyio.sleep(0.02)
        raise Conflict("another writer kept this file busy for too long", reason="busy")

    async def mkdir(self, parent_id: str, name: str) -> FileDoc:
        return await self._change(_fileplans.plan_mkdir, parent_id, name)

    async def mkdir_p(self, path: str) -> FileDoc:
        current = await self.stat(ROOT_DIR_ID)
        for name in split_path(path):
            with self.db.read() as conn:
                child = self.tree.child(conn, current.id, name)
                got = self.tree.row(conn, child) if child else None
            if got is not None and got[1].get("name") == name:
                if got[1].get("type") != "directory":
                    raise Conflict(f"{name!r} in {current.path!r} is a file, not a folder", reason="conflict")
                current = await self.stat(str(child))
                continue
            try:
                current = await self.mkdir(current.id, name)
            except Conflict:  # created meanwhile by another writer: use it
                current = await self.stat_path(("" if current.path == "/" else str(current.path)) + "/" + name)
        return current

    async def add_referenced_by(self, file_id: str, refs: Sequence[Reference]) -> FileDoc:
        return await self._change(_fileplans.change_refs, file_id, list(refs), add=True)

    async def remove_referenced_by(self, file_id: str, refs: Sequence[Reference]) -> FileDoc:
        return await self._change(_fileplans.change_refs, file_id, list(refs), add=False)

    # -- for tools and tests --------------------------------------------------------------------------
    async def used_bytes(self) -> int:
        """Bytes of file content stored (trash included), what the quota counts."""
        with self.db.read() as conn:
            return self._ready().used(conn)


def _loads(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(text)
    return loaded
