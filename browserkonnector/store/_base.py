"""The :class:`Store` interface: Cozy stack semantics, two backends.

Everything above this layer (the save pipeline, the runtime) talks to a ``Store`` and never knows
whether the bytes land in the embedded :class:`~browserkonnector.store._local.LocalStore` (SQLite + a
folder) or in a real Cozy through :class:`~browserkonnector.store._cozy.CozyStackStore` (HTTP). Both
keep the stack's *observable* rules, checked by one contract suite run against both:

- documents live per doctype with ``_id`` and ``_rev`` (``N-<hash>``); every write needs the current
  ``_rev``, a stale or missing one raises :class:`~.errors.Conflict`; ``create`` with an ``_id`` is
  "create with a fixed id" (``Conflict`` if it exists);
- ``find`` takes a Mango selector, ``sort``, ``fields``, ``limit`` (absent or over 1000 → 100, as the
  stack does), ``skip`` and an opaque ``bookmark``; ``next`` is ``len(docs) >= limit``;
- files form a tree of directories (root ``io.cozy.files.root-dir``, path ``/``); a name already taken
  in a folder raises ``Conflict``; names follow the stack's rules (:class:`~.errors.InvalidName`);
  each file has ``size`` (an int here, whatever the wire says), ``md5sum`` (base64 of the digest),
  ``mime``, ``class``, ``metadata``, ``cozyMetadata`` and ``referenced_by``.

Documents are plain JSON dicts (``Doc``); file documents are :class:`FileDoc` values built from either
the raw CouchDB shape or the stack's JSON-API shape.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import os
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

import anyio

__all__ = [
    "FILES_DOCTYPE",
    "ROOT_DIR_ID",
    "TRASH_DIR_ID",
    "AppInfo",
    "BulkResult",
    "Content",
    "Doc",
    "FileDoc",
    "FindResult",
    "Reference",
    "Store",
    "file_class",
    "find_all_pages",
    "follow_bookmarks",
    "guess_mime",
    "index_name",
    "md5_base64",
]

Doc: TypeAlias = dict[str, Any]
#: What an upload takes: bytes in memory, a file on disk (streamed, never read whole), or async chunks.
Content: TypeAlias = bytes | os.PathLike[str] | AsyncIterable[bytes]

FILES_DOCTYPE = "io.cozy.files"
ROOT_DIR_ID = "io.cozy.files.root-dir"
TRASH_DIR_ID = "io.cozy.files.trash-dir"


@dataclass(frozen=True)
class AppInfo:
    """The app a store acts for: what the stack reads from the token, stamped into files' cozyMetadata."""

    slug: str
    version: str = "0.0.0"


@dataclass(frozen=True)
class Reference:
    """One entry of a file's ``referenced_by``: ``{"type": "io.cozy.bills", "id": "..."}``."""

    type: str
    id: str

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "id": self.id}


@dataclass(frozen=True)
class BulkResult:
    """One line of a ``_bulk_docs`` answer: ``ok`` with the new ``rev``, or an ``error`` (``conflict``)."""

    id: str
    ok: bool
    rev: str | None = None
    error: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class FindResult:
    """A page of a ``_find``: ``docs``, whether there may be more (``next``) and where to resume."""

    docs: list[Doc]
    next: bool
    bookmark: str
    limit: int
    warning: str | None = None


@dataclass(frozen=True)
class FileDoc:
    """An ``io.cozy.files`` document (a file or a directory), backend-neutral.

    ``size`` is always an int (the stack serialises it as a string); ``md5sum`` is the base64 of the
    16-byte digest, as the stack stores it; ``path`` is set for directories and, where known, files.
    """

    id: str
    rev: str
    type: Literal["file", "directory"]
    name: str
    dir_id: str | None
    path: str | None = None
    size: int | None = None
    md5sum: str | None = None
    mime: str | None = None
    cls: str | None = None
    trashed: bool = False
    created_at: str | None = None
    updated_at: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    cozy_metadata: dict[str, Any] = field(default_factory=dict)
    referenced_by: list[Reference] = field(default_factory=list)

    @property
    def is_dir(self) -> bool:
        return self.type == "directory"

    def to_doc(self) -> Doc:
        """The raw CouchDB shape (``_id``, ``_rev``, ``class``, ``cozyMetadata``), as ``_find`` returns it."""
        doc: Doc = {
            "_id": self.id,
            "_rev": self.rev,
            "type": self.type,
            "name": self.name,
            "dir_id": self.dir_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "tags": list(self.tags),
            "metadata": dict(self.metadata),
            "cozyMetadata": dict(self.cozy_metadata),
            "referenced_by": [r.to_json() for r in self.referenced_by],
        }
        if self.path is not None:
            doc["path"] = self.path
        if self.type == "file":
            doc.update(
                size=str(self.size) if self.size is not None else None,
                md5sum=self.md5sum,
                mime=self.mime,
                trashed=self.trashed,
            )
            doc["class"] = self.cls
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> FileDoc:
        """Build from the raw CouchDB shape (``_id``/``_rev``) or from JSON-API attributes plus ``id``."""
        size = doc.get("size")
        refs = doc.get("referenced_by") or []
        return cls(
            id=str(doc.get("_id") or doc.get("id")),
            rev=str(doc.get("_rev") or doc.get("rev") or ""),
            type="directory" if doc.get("type") == "directory" else "file",
            name=str(doc.get("name", "")),
            dir_id=doc.get("dir_id"),
            path=doc.get("path"),
            size=int(size) if size not in (None, "") else None,
            md5sum=doc.get("md5sum"),
            mime=doc.get("mime"),
            cls=doc.get("class"),
            trashed=bool(doc.get("trashed", False)),
            created_at=doc.get("created_at"),
            updated_at=doc.get("updated_at"),
            tags=list(doc.get("tags") or []),
            metadata=dict(doc.get("metadata") or {}),
            cozy_metadata=dict(doc.get("cozyMetadata") or {}),
            referenced_by=[Reference(str(r["type"]), str(r["id"])) for r in refs],
        )

    @classmethod
    def from_jsonapi(cls, data: Mapping[str, Any]) -> FileDoc:
        """Build from one JSON-API resource of the stack's ``/files`` routes (``data`` of the answer)."""
        attrs = dict(data.get("attributes") or {})
        rels = data.get("relationships") or {}
        refs = (rels.get("referenced_by") or {}).get("data") or attrs.get("referenced_by") or []
        attrs.update(_id=data["id"], _rev=(data.get("meta") or {}).get("rev", ""), referenced_by=refs)
        return cls.from_doc(attrs)


def md5_base64(data: bytes) -> str:
    """The stack's ``md5sum`` / ``Content-MD5`` form: base64 of the 16-byte digest."""
    return base64.b64encode(hashlib.md5(data).digest()).decode()


_CLASS_BY_MIME_PREFIX = {"image/": "image", "audio/": "audio", "video/": "video", "text/": "text"}
_CLASS_BY_MIME = {
    "application/pdf": "pdf",
    "application/zip": "zip",
    "application/json": "code",
    "application/javascript": "code",
    "application/vnd.oasis.opendocument.spreadsheet": "spreadsheet",
    "application/vnd.ms-excel": "spreadsheet",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "spreadsheet",
    "application/vnd.oasis.opendocument.presentation": "slide",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "slide",
    "application/msword": "text",
    "application/vnd.oasis.opendocument.text": "text",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "text",
}


def guess_mime(name: str, given: str | None = None) -> str:
    """The mime the stack would store: the given one, unless absent or ``application/octet-stream``
    (then guessed from the extension, as the stack does)."""
    if given and given.split(";")[0].strip() not in ("", "application/octet-stream"):
        return given.split(";")[0].strip().lower()
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def file_class(mime: str) -> str:
    """The stack's ``class`` of a file from its mime (``pdf``, ``image``, ``text``, ... ``files``)."""
    if mime in _CLASS_BY_MIME:
        return _CLASS_BY_MIME[mime]
    for prefix, cls in _CLASS_BY_MIME_PREFIX.items():
        if mime.startswith(prefix):
            return cls
    return "files"


def index_name(fields: Sequence[str], partial_filter: Mapping[str, Any] | None = None) -> str:
    """cozy-stack-client's index naming: ``by_<f1>_and_<f2>`` plus ``_filter_(...)`` for partial ones.

    The same name on both backends means the same ``use_index`` works on both.
    """
    name = "by_" + "_and_".join(fields)
    if partial_filter:
        name += "_filter_" + "_and_".join(_flatten_keys(partial_filter))
    return name


def _flatten_keys(selector: Mapping[str, Any], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for key, value in selector.items():
        if key.startswith("$"):
            continue
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and not all(k.startswith("$") for k in value):
            keys += _flatten_keys(value, path + ".")
        else:
            keys.append(path)
    return keys


@runtime_checkable
class Store(Protocol):
    """A Cozy, embedded or remote. All methods are coroutines; all failures are ``StoreError``\\ s.

    Use it as an async context manager (or call :meth:`close`) so connections and files are released.
    """

    # -- identity -------------------------------------------------------------------------------------
    def describe(self) -> str:
        """A short human description for logs, e.g. ``LocalStore(./bk-store)`` or ``Cozy(https://...)``.
        Never contains a token."""
        ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Store: ...

    async def __aexit__(self, *exc: object) -> None: ...

    # -- documents (``/data``) ------------------------------------------------------------------------
    async def get(self, doctype: str, doc_id: str) -> Doc:
        """One document, with ``_id``, ``_rev`` and ``_type``. ``NotFound`` if absent or deleted."""
        ...

    async def get_many(self, doctype: str, ids: Sequence[str]) -> list[Doc | None]:
        """Documents in the order of ``ids``; ``None`` where one is absent (``_all_docs`` with keys)."""
        ...

    async def create(self, doctype: str, doc: Mapping[str, Any]) -> Doc:
        """Create a document. Without ``_id`` the store picks one (``POST``); with an ``_id`` and no
        ``_rev`` it is created under that id (``PUT``), ``Conflict`` if it exists. Returns the stored
        document with its ``_id`` and ``_rev``. Other ``_``-prefixed fields are a ``BadRequest``."""
        ...

    async def update(self, doctype: str, doc: Mapping[str, Any]) -> Doc:
        """Replace a document: ``doc`` must carry ``_id`` and the current ``_rev`` (``Conflict`` if stale,
        ``BadRequest`` if one of them is missing). Returns the stored document with its new ``_rev``."""
        ...

    async def delete(self, doctype: str, doc_id: str, rev: str) -> None:
        """Delete a document at revision ``rev`` (``Conflict`` if stale, ``NotFound`` if absent)."""
        ...

    async def bulk_save(self, doctype: str, docs: Sequence[Mapping[str, Any]]) -> list[BulkResult]:
        """Create, update (with ``_rev``) or delete (``_deleted: true``) many documents in one call.
        A conflict on one document is reported in its result and does not fail the others."""
        ...

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
        """One page of a Mango query (``_find``), with the stack's ``limit``/``next`` rules."""
        ...

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
        """Every document matching ``selector``, page after page (following bookmarks)."""
        ...

    def all_docs(self, doctype: str, *, page_size: int = 1000) -> AsyncIterator[Doc]:
        """Every document of a doctype except design docs (``_normal_docs``); none if it does not exist."""
        ...

    async def define_index(
        self,
        doctype: str,
        fields: Sequence[str],
        *,
        name: str | None = None,
        partial_filter: Mapping[str, Any] | None = None,
    ) -> str:
        """Create (or find existing) an index; returns its id ``_design/<name>`` for ``use_index``.
        The default name is :func:`index_name`."""
        ...

    async def doctypes(self) -> list[str]:
        """The doctypes that hold at least one document (``/data/_all_doctypes``)."""
        ...

    # -- files (``/files``) ---------------------------------------------------------------------------
    async def stat(self, file_id: str) -> FileDoc:
        """A file or directory by id (``NotFound``)."""
        ...

    async def stat_path(self, path: str) -> FileDoc:
        """A file or directory by absolute path such as ``/Administratif/EDF/bill.pdf`` (``NotFound``)."""
        ...

    async def mkdir(self, parent_id: str, name: str) -> FileDoc:
        """Create a directory in ``parent_id`` (``Conflict`` if the name is taken)."""
        ...

    async def mkdir_p(self, path: str) -> FileDoc:
        """The directory at ``path``, created with its missing parents (``getDirectoryOrCreate``)."""
        ...

    def list_dir(self, dir_id: str) -> AsyncIterator[FileDoc]:
        """The children of a directory (not trashed)."""
        ...

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
        """Create a file in ``dir_id``. ``Conflict`` if the name is taken, ``PreconditionFailed`` if
        ``md5`` (base64) does not match the content, ``QuotaExceeded`` when the Cozy is full,
        ``InvalidName`` for a refused name, ``NotFound`` if the folder is absent. Atomic: on any failure
        no file (and no partial content) is left behind."""
        ...

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
        """Replace a file's content (and metadata, when given), keeping its id, name, folder and
        references. ``PreconditionFailed`` if ``if_match`` is not the current ``_rev``."""
        ...

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
        """Rename, move or change metadata of a file or directory (``PATCH /files/:id``)."""
        ...

    async def download(self, file_id: str) -> bytes:
        """A file's whole content."""
        ...

    def iter_download(self, file_id: str, *, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]:
        """A file's content as chunks, for large files."""
        ...

    async def trash(self, file_id: str) -> FileDoc:
        """Move to the trash (it then no longer takes a name in its folder)."""
        ...

    async def destroy(self, file_id: str) -> None:
        """Delete for good (``permanent_delete``)."""
        ...

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
        """A Mango query over ``io.cozy.files`` (``POST /files/_find``): the page as ``FileDoc``\\ s, and
        the raw page (for ``next``/``bookmark``)."""
        ...

    async def add_referenced_by(self, file_id: str, refs: Sequence[Reference]) -> FileDoc:
        """Add documents to a file's ``referenced_by`` (no duplicates)."""
        ...

    async def remove_referenced_by(self, file_id: str, refs: Sequence[Reference]) -> FileDoc:
        """Remove documents from a file's ``referenced_by``."""
        ...

    async def referenced_files(self, doctype: str, doc_id: str) -> list[FileDoc]:
        """Files referenced by a document (``GET /data/:doctype/:id/relationships/references``)."""
        ...


FindPage: TypeAlias = Callable[[str | None], Awaitable[FindResult]]


async def follow_bookmarks(find_page: FindPage) -> AsyncIterator[Doc]:
    """Every document of a paged ``_find``: ``find_page(bookmark)`` is called until a page says there is
    no next one (or repeats its bookmark, so a backend that ignores bookmarks cannot loop forever).
    Shared by both backends' ``find_all`` (through :func:`find_all_pages`) and the Cozy's ``all_docs``."""
    bookmark: str | None = None
    while True:
        page = await find_page(bookmark)
        for doc in page.docs:
            yield doc
        if not page.next or not page.docs or not page.bookmark or page.bookmark == bookmark:
            return
        bookmark = page.bookmark


def find_all_pages(
    store: Store,
    doctype: str,
    selector: Mapping[str, Any],
    *,
    sort: Sequence[Mapping[str, str] | str] | None,
    fields: Sequence[str] | None,
    use_index: str | None,
    page_size: int,
) -> AsyncIterator[Doc]:
    """``find_all`` in terms of the store's own ``find``: its pages of ``page_size``, bookmark after
    bookmark (:func:`follow_bookmarks`). Both backends' ``find_all`` is this."""

    async def find_page(bookmark: str | None) -> FindResult:
        return await store.find(
            doctype, selector, sort=sort, fields=fields, limit=page_size, bookmark=bookmark, use_index=use_index
        )

    return follow_bookmarks(find_page)


async def iter_content(content: Content, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]:
    """Chunks of any :data:`Content`, reading files lazily (a helper for backends)."""
    if isinstance(content, bytes):
        yield content
    elif isinstance(content, os.PathLike):
        async with await anyio.open_file(content, "rb") as fh:  # reads in a worker thread
            while chunk := await fh.read(chunk_size):
                yield chunk
    else:
        async for chunk in content:
            yield chunk
