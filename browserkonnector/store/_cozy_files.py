"""The ``/files`` half of :class:`~browserkonnector.store._cozy.CozyStackStore` (JSON-API routes).

Routes (the stack's /files API as cozy-stack-client calls it; docs/stack-conformance.md): upload ``POST /files/:dir``
with ``Type=file&Name&Executable=false&MetadataID&Size&SourceAccount&SourceAccountIdentifier`` and the
``Content-MD5`` / ``Content-Type`` / ``Content-Length`` headers, the metadata pre-sent through ``POST
/files/upload/metadata``; overwrite ``PUT /files/:id`` (``If-Match``); mkdir ``POST
/files/:dir?Type=directory&Name``; ``mkdir_p`` = cozy-stack-client's ``getDirectoryOrCreate`` (stat the
path, create on 404, recursively); stat ``GET /files/:id`` and ``GET /files/metadata?Path=``; listing by
the directory's ``relationships.contents`` + ``included``, page by page; ``GET /files/download/:id``;
``PATCH /files/:id``; trash ``DELETE /files/:id``; destroy = trash, then ``DELETE /files/trash/:id``
(the documented way: ``DELETE /files/trash/:id`` destroys a file that is in the trash);
``POST /files/_find``; references.
"""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from browserkonnector.store._base import FILES_DOCTYPE, Content, FileDoc, FindResult, Reference, guess_mime
from browserkonnector.store._cozy_find import find_body, run_find
from browserkonnector.store._errors import Conflict, NotFound, StoreError, StoreUnavailable
from browserkonnector.store._jsonapi import file_doc, in_trash, included_files, next_cursor, next_link
from browserkonnector.store._stack_http import StackHTTP, seg
from browserkonnector.store._upload_body import CHUNK_SIZE, UploadBody, prepare_body

__all__ = ["CozyFilesMixin"]

_T = TypeVar("_T")
_LIST_PAGE = 100


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, StoreUnavailable)


class CozyFilesMixin:
    """File methods of the Store protocol; the host class provides ``_http`` and ``retries``."""

    _http: StackHTTP
    retries: int

    async def _with_retries(self, call: Callable[[int], Awaitable[_T]]) -> _T:
        """Run ``call(attempt)`` again (fresh body each time) while it fails with a transient error."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retries + 1),
            retry=retry_if_exception(_transient),
            reraise=True,
            wait=wait_exponential_jitter(multiplier=0.5, max=8.0, jitter=0.5),
            sleep=self._http.retry.sleep,  # the transport's sleep: tests replace it to count waits
        )
        async for attempt in retrying:
            with attempt:
                return await call(attempt.retry_state.attempt_number)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- stat, list ---------------------------------------------------------------------------------

    async def stat(self, file_id: str) -> FileDoc:
        return file_doc(await self._http.json("GET", f"/files/{seg(file_id)}", params={"page[limit]": 1}))

    async def stat_path(self, path: str) -> FileDoc:
        if not path.startswith("/"):
            raise NotFound(f"stat_path({path!r}): the path must be absolute", reason="invalid_path")
        return file_doc(await self._http.json("GET", "/files/metadata", params={"Path": path, "page[limit]": 1}))

    async def list_dir(self, dir_id: str) -> AsyncIterator[FileDoc]:
        url: str | None = f"/files/{seg(dir_id)}"
        params: dict[str, Any] | None = {"page[limit]": _LIST_PAGE}
        while url:
            body = await self._http.json("GET", url, params=params)
            children = included_files(body)
            contents = ((body.get("data") or {}).get("relationships") or {}).get("contents") or {}
            for ref in contents.get("data") or []:
                child = children.get(str(ref.get("id")))
                yield child if child is not None else await self.stat(str(ref.get("id")))
            url, params = next_link(body), None

    # -- directories --------------------------------------------------------------------------------

    async def mkdir(self, parent_id: str, name: str) -> FileDoc:
        return file_doc(
            await self._http.json(
                "POST",
                f"/files/{seg(parent_id)}",
                params={"Type": "directory", "Name": name},
            )
        )

    async def mkdir_p(self, path: str) -> FileDoc:
        # cleaned like the stack cleans paths: "/a/../../etc" is "/etc", never above the root
        clean = posixpath.normpath("/" + path.strip("/")) if path.strip("/") else "/"
        try:
            return await self.stat_path(clean)
        except NotFound:
            if clean == "/":
                raise
        parent = await self.mkdir_p(posixpath.dirname(clean))
        try:
            return await self.mkdir(parent.id, posixpath.basename(clean))
        except Conflict:
            return await self.stat_path(clean)  # created meanwhile, by us (lost answer) or by another run

    # -- upload, overwrite --------------------------------------------------------------------------

    async def _send_metadata(self, metadata: Mapping[str, Any] | None) -> str | None:
        if not metadata:
            return None
        # Safe to replay: a lost answer only leaves an unused metadata object, which expires in 10 minutes.
        answer = await self._http.json(
            "POST",
            "/files/upload/metadata",
            retry="all",
            json_body={
                "data": {"type": "io.cozy.files.metadata", "attributes": dict(metadata)},
            },
        )
        return str(answer["data"]["id"])

    @staticmethod
    def _content_headers(body: UploadBody, mime: str) -> dict[str, str]:
        return {"Content-MD5": body.md5, "Content-Type": mime, "Content-Length": str(body.size)}

    @staticmethod
    def _content(body: UploadBody) -> bytes | Callable[[], AsyncIterator[bytes]]:
        # Small bytes go as they are (the transport may replay them); anything larger is streamed by
        # chunks, so the socket layer never buffers a second copy of the whole file.
        return body.data if body.data is not None and body.size <= 4 * CHUNK_SIZE else body.chunks

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
        body = await prepare_body(content, md5=md5)
        try:
            metadata_id = await self._send_metadata(metadata)
            params = {
                "Type": "file",
                "Name": name,
                "Executable": "false",
                "MetadataID": metadata_id,
                "Size": str(body.size),
                "SourceAccount": source_account,
                "SourceAccountIdentifier": source_account_identifier,
                "CreatedAt": created_at,
                "Tags": ",".join(tags) if tags else None,
            }
            headers = self._content_headers(body, guess_mime(name, mime))
            path = f"/files/{seg(dir_id)}"

            async def attempt(number: int) -> FileDoc:
                response = await self._http.send(
                    "POST", path, params=params, headers=headers, content=self._content(body), retry="unsent"
                )
                replayed = number > 1 or response.extensions.get("bk_attempts", 1) > 1
                if response.status_code == 409 and replayed:
                    mine = await self._landed(dir_id, name, body)
                    if mine is not None:
                        return mine
                if response.status_code >= 400:
                    raise self._http.error(response, "POST", path)
                return file_doc(response.json())

            return await self._with_retries(attempt)
        finally:
            await body.cleanup()

    async def _landed(self, dir_id: str, name: str, body: UploadBody) -> FileDoc | None:
        """The file now named ``name`` in ``dir_id``, if it holds our content (an earlier attempt of this
        upload landed and only its answer was lost)."""
        try:
            folder = await self.stat(dir_id)
            existing = await self.stat_path(posixpath.join(folder.path or "/", name))
        except StoreError:
            return None
        return existing if existing.md5sum == body.md5 and existing.size == body.size else None

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
        body = await prepare_body(content, md5=md5)
        try:
            metadata_id = await self._send_metadata(metadata)
            params = {
                "Type": "file",
                "Executable": "false",
                "MetadataID": metadata_id,
                "Size": str(body.size),
                "SourceAccount": source_account,
                "SourceAccountIdentifier": source_account_identifier,
            }
            headers = self._content_headers(body, mime or "application/octet-stream")
            if if_match:
                headers["If-Match"] = if_match
            path = f"/files/{seg(file_id)}"

            async def attempt(number: int) -> FileDoc:
                response = await self._http.send(
                    "PUT", path, params=params, headers=headers, content=self._content(body)
                )
                replayed = number > 1 or response.extensions.get("bk_attempts", 1) > 1
                if response.status_code == 412 and replayed and if_match:
                    current = await self.stat(file_id)
                    if current.md5sum == body.md5 and current.size == body.size:
                        return current  # our earlier attempt landed
                if response.status_code >= 400:
                    raise self._http.error(response, "PUT", path)
                return file_doc(response.json())

            return await self._with_retries(attempt)
        finally:
            await body.cleanup()

    # -- metadata, trash ----------------------------------------------------------------------------

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
        attributes: dict[str, Any] = {}
        if name is not None:
            attributes["name"] = name
        if dir_id is not None:
            attributes["dir_id"] = dir_id
        if metadata is not None:
            attributes["metadata"] = dict(metadata)
        if tags is not None:
            attributes["tags"] = list(tags)
        return await self._patch(file_id, attributes, if_match=if_match)

    async def _patch(self, file_id: str, attributes: Mapping[str, Any], *, if_match: str | None) -> FileDoc:
        # Setting attributes is idempotent, unless guarded by If-Match (a replay would meet 412).
        return file_doc(
            await self._http.json(
                "PATCH",
                f"/files/{seg(file_id)}",
                headers={"If-Match": if_match} if if_match else None,
                json_body={"data": {"type": FILES_DOCTYPE, "id": file_id, "attributes": dict(attributes)}},
                retry="unsent" if if_match else "all",
            )
        )

    async def trash(self, file_id: str) -> FileDoc:
        response = await self._http.send("DELETE", f"/files/{seg(file_id)}")
        if response.status_code == 400 and response.extensions.get("bk_attempts", 1) > 1:
            current = await self.stat(file_id)
            if in_trash(current):
                return current  # the first attempt trashed it
        if response.status_code >= 400:
            raise self._http.error(response, "DELETE", f"/files/{seg(file_id)}")
        return file_doc(response.json())

    async def destroy(self, file_id: str) -> None:
        current = await self.stat(file_id)
        if not in_trash(current):
            await self.trash(file_id)
        with contextlib.suppress(NotFound):  # a replayed DELETE whose first attempt already destroyed it
            await self._http.request("DELETE", f"/files/trash/{seg(file_id)}")

    # -- content ------------------------------------------------------------------------------------

    async def download(self, file_id: str) -> bytes:
        return (await self._http.request("GET", f"/files/download/{seg(file_id)}")).content

    async def iter_download(self, file_id: str, *, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        response = await self._http.request("GET", f"/files/download/{seg(file_id)}", stream=True)
        try:
            async for chunk in response.aiter_bytes(chunk_size):
                yield chunk
        except httpx.TransportError as exc:
            raise StoreUnavailable(
                f"the download of file {file_id} was cut: {type(exc).__name__}", reason="transport"
            ) from exc
        finally:
            await response.aclose()

    # -- queries, references ------------------------------------------------------------------------

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
        query = find_body(
            selector, sort=sort, fields=None, limit=limit, skip=skip, bookmark=bookmark, use_index=use_index
        )
        answer = await run_find(self._http, FILES_DOCTYPE, "/files/_find", query)
        files = [FileDoc.from_jsonapi(item) for item in answer.get("data") or []]
        cursor = next_cursor(answer)
        page_limit = limit if limit is not None and 0 < limit <= 1000 else 100
        return files, FindResult(
            docs=[f.to_doc() for f in files], next=cursor is not None, bookmark=cursor or "", limit=page_limit
        )

    async def _references(self, method: str, file_id: str, refs: Sequence[Reference]) -> FileDoc:
        await self._http.request(
            method,
            f"/files/{seg(file_id)}/relationships/referenced_by",
            json_body={"data": [r.to_json() for r in refs]},
            retry="all",
        )
        return await self.stat(file_id)

    async def add_referenced_by(self, file_id: str, refs: Sequence[Reference]) -> FileDoc:
        return await self._references("POST", file_id, refs)

    async def remove_referenced_by(self, file_id: str, refs: Sequence[Reference]) -> FileDoc:
        return await self._references("DELETE", file_id, refs)

    async def referenced_files(self, doctype: str, doc_id: str) -> list[FileDoc]:
        url: str | None = f"/data/{seg(doctype)}/{seg(doc_id)}/relationships/references"
        params: dict[str, Any] | None = {"include": "files", "page[limit]": 1000}
        found: list[FileDoc] = []
        while url:
            try:
                body = await self._http.json("GET", url, params=params)
            except NotFound:
                return found
            included = included_files(body)
            for ref in body.get("data") or []:
                ref_id = str(ref.get("id"))
                found.append(included[ref_id] if ref_id in included else await self.stat(ref_id))
            url, params = next_link(body), None
        return found
