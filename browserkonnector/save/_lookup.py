"""Where a file goes (folders, sub-folders, contract folders) and whether it is already there.

Destination (JS ``saveFiles``' first steps): ``sub = entry.contract.name or contract.name or entry.sub_path or
sub_path``; the file goes to ``folder_path/sub``. A contract folder already referenced by
``io.cozy.accounts.contracts/<id>`` (and by this account) is reused even if the user renamed it;
otherwise the folder is created (``mkdir_p``) and, with a ``source_account_identifier``, referenced
from ``io.cozy.konnectors/<slug>``, ``io.cozy.accounts.sourceAccountIdentifier/<identifier>`` and
the contract, so the Cozy apps show it as the account's folder. (The JS library never created the
sub-folder without an identifier; here it always does.)

Existing files (step 4): in *metadata mode* (``file_id_attributes``, an app slug and a
``source_account_identifier``) **one** indexed ``/files/_find`` per 500 entries asks for every
``metadata.fileIdAttributes`` key at once, on konnector-libs' own partial index (same name, so a real
Cozy reuses the index the JS connectors created). What is not found that way is looked up by path, in
one listing per folder (the JS library stat'ed each path).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from loguru import logger

from browserkonnector.save._models import Contract, FileEntry
from browserkonnector.save._util import js_string
from browserkonnector.store._base import FileDoc, Reference, Store
from browserkonnector.store._errors import NotFound, StoreError

__all__ = [
    "FILE_KEY_INDEX_FIELDS",
    "Destinations",
    "file_key",
    "file_name",
    "find_files_by_key",
    "sanitize_file_name",
]

log = logger.bind(namespace="saveFiles")

FILE_KEY_INDEX_FIELDS = [
    "cozyMetadata.createdByApp",
    "cozyMetadata.sourceAccountIdentifier",
    "metadata.fileIdAttributes",
]
_FILE_KEY_INDEX_FILTER = {"trashed": False}
_BAD_CHARS = re.compile(r'[/?<>\\:*|"\x00-\x1f\x7f]')


def sanitize_file_name(name: str) -> str:
    """The safe form of a file or folder name, documented in docs/limits.md:

    1. as the JS ``sanitizeFileName``: ``/?<>\\:*|"`` and control characters are removed (not
       replaced, so names match the ones the JS library stored);
    2. leading dots and spaces are removed: ``../escape.pdf`` is ``escape.pdf``, not the hidden
       ``..escape.pdf`` (a name starting with a dot is invisible in most file managers);
    3. a name longer than 255 bytes in UTF-8 (what Linux file systems hold) is cut to 255 bytes,
       keeping its extension and whole characters.

    An all-dots name (``.``, ``..``) becomes ``""``: no usable name, the entry fails (and so the run).
    """
    if re.fullmatch(r"\.+", name.strip()):
        return ""
    cleaned = _BAD_CHARS.sub("", name).lstrip(". ")
    return _fit(cleaned, MAX_NAME_BYTES)


MAX_NAME_BYTES = 255


def _fit(name: str, limit: int) -> str:
    if len(name.encode()) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode()) > 16:
        stem, dot, ext = name, "", ""
    room = limit - len((dot + ext).encode())
    cut = stem.encode()[:room].decode("utf-8", errors="ignore").rstrip()
    return cut + dot + ext


def file_name(entry: FileEntry) -> str:
    """The entry's file name: ``filename``, else the last segment of the URL's path; sanitised."""
    if entry.filename:
        return sanitize_file_name(entry.filename)
    if entry.fileurl:
        path = entry.fileurl.split("?", 1)[0].split("#", 1)[0]
        return sanitize_file_name(path.rstrip("/").rsplit("/", 1)[-1])
    return ""


def file_key(entry: FileEntry, attributes: Sequence[str]) -> str:
    """``metadata.fileIdAttributes``: values at the **sorted** attribute names, joined by ``####``."""
    return "####".join(js_string(entry.lookup(attr)) for attr in sorted(attributes))


async def find_files_by_key(store: Store, keys: Sequence[str], *, slug: str, identifier: str) -> dict[str, FileDoc]:
    """Stored files of this app and account whose ``metadata.fileIdAttributes`` is in ``keys``."""
    found: dict[str, FileDoc] = {}
    unique = list(dict.fromkeys(keys))
    if not unique:
        return found
    index = await store.define_index("io.cozy.files", FILE_KEY_INDEX_FIELDS, partial_filter=_FILE_KEY_INDEX_FILTER)
    counts: dict[str, int] = {}
    for start in range(0, len(unique), 500):
        selector = {
            "cozyMetadata.createdByApp": slug,
            "cozyMetadata.sourceAccountIdentifier": identifier,
            "metadata.fileIdAttributes": {"$in": unique[start : start + 500]},
            "trashed": False,
        }
        bookmark: str | None = None
        while True:
            files, page = await store.find_files(selector, limit=1000, bookmark=bookmark, use_index=index)
            for file in files:
                key = str(file.metadata.get("fileIdAttributes"))
                counts[key] = counts.get(key, 0) + 1
                found.setdefault(key, file)
            if not page.next or not files:
                break
            bookmark = page.bookmark
    for key, count in counts.items():
        if count > 1:
            log.warning(f"Found {count} files corresponding to {key}")
    return found


class Destinations:
    """Folders of one ``save_files`` call, created once each, and their listings (for path mode)."""

    def __init__(self, store: Store, folder_path: str, *, slug: str, identifier: str | None) -> None:
        self.store = store
        self.folder_path = "/" + folder_path.strip("/") if folder_path.strip("/") else "/"
        self.slug = slug
        self.identifier = identifier
        self._folders: dict[str, FileDoc] = {}
        self._listings: dict[str, dict[str, FileDoc]] = {}

    async def root(self) -> FileDoc:
        if self.folder_path not in self._folders:
            self._folders[self.folder_path] = await self.store.mkdir_p(self.folder_path)
        return self._folders[self.folder_path]

    async def folder_for(self, entry: FileEntry, *, sub_path: str | None, contract: Contract | None) -> FileDoc:
        """The folder of ``entry`` (created and referenced on first use)."""
        chosen = entry.contract or contract
        sub = (chosen.name if chosen and chosen.name else None) or entry.sub_path or sub_path
        if not sub:
            return await self.root()
        path = self.folder_path.rstrip("/") + "/" + sub.strip("/")
        cache_key = f"{path}\x00{chosen.id if chosen else ''}"
        if cache_key not in self._folders:
            self._folders[cache_key] = await self._contract_folder(chosen) or await self._create(path, chosen)
        return self._folders[cache_key]

    async def _contract_folder(self, contract: Contract | None) -> FileDoc | None:
        if not contract or not contract.id:
            return None
        try:
            referenced = await self.store.referenced_files("io.cozy.accounts.contracts", contract.id)
        except StoreError:
            return None
        mine = Reference("io.cozy.accounts.sourceAccountIdentifier", self.identifier or "")
        for file in referenced:
            if file.is_dir and not file.trashed and (not self.identifier or mine in file.referenced_by):
                return file
        return None

    async def _create(self, path: str, contract: Contract | None) -> FileDoc:
        folder = await self.store.mkdir_p(path)
        if self.identifier:
            refs = [
                Reference("io.cozy.konnectors", f"io.cozy.konnectors/{self.slug}"),
                Reference("io.cozy.accounts.sourceAccountIdentifier", self.identifier),
            ]
            if contract and contract.id:
                refs.append(Reference("io.cozy.accounts.contracts", contract.id))
            try:
                folder = await self.store.add_referenced_by(folder.id, refs)
            except StoreError as exc:  # a backend that cannot reference folders still saves the files
                log.debug(f"could not reference folder {path}: {exc}")
        return folder

    async def listing(self, folder: FileDoc) -> dict[str, FileDoc]:
        """The folder's children by name, read once (path mode, shouldReplaceName)."""
        if folder.id not in self._listings:
            children: dict[str, FileDoc] = {}
            try:
                async for child in self.store.list_dir(folder.id):
                    children[child.name] = child
            except NotFound:
                pass
            self._listings[folder.id] = children
        return self._listings[folder.id]

    def remember(self, folder: FileDoc, file: FileDoc) -> None:
        """Keep a listing current after an upload or a rename made by this call."""
        if folder.id in self._listings:
            self._listings[folder.id][file.name] = file
