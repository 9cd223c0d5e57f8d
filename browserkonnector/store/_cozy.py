"""``CozyStackStore``: the :class:`~browserkonnector.store._base.Store` of a real Cozy, over HTTP.

A connector saves into a real Cozy with no change to its code: this class speaks the routes that
cozy-stack-client calls (docs/stack-conformance.md lists them), with the stack's rules.
It is tested, in CI, against :mod:`browserkonnector.testing._emulator`, an emulator of the *documented*
protocol, not against a real stack (none runs on the CI machines); ``tests/store`` also has a ``live``
backend for a developer who has a test instance.

**Retries and idempotence.** Transient failures (5xx, timeouts, dropped connections) are retried by the
transport with backoff — but retrying a write whose answer was lost can apply it twice. So:

- ``POST /data/:doctype/`` (create with a server-chosen id), ``_bulk_docs``, ``mkdir`` and the metadata
  pre-send are retried only when the server surely did not act (connection refused, 429, 503): a
  repeated POST after a lost answer would create a duplicate document. A caller who wants retry-safe
  creation gives an ``_id`` (``PUT``, below);
- ``PUT`` (update, create-with-id) is retried; if a retry then meets ``409``, the first attempt may have
  landed: the document is read back and, if it holds exactly what was sent, the write is reported as
  done instead of as a conflict;
- uploads are retried by this class with a fresh body (a stream cannot be replayed); a retry meeting
  ``409`` (name taken) checks whether the file there is ours (same md5 and size) — file names are
  unique per folder, so a retried or re-run upload never creates a duplicate.

The token never appears in ``describe()``, logs or error messages (see ``_stack_http``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import httpx

from browserkonnector._redact import Redactor
from browserkonnector.store._base import AppInfo, BulkResult, Doc, FindResult, find_all_pages, follow_bookmarks
from browserkonnector.store._cozy_files import CozyFilesMixin
from browserkonnector.store._cozy_find import define_index, find_body, run_find
from browserkonnector.store._errors import BadRequest, NotFound, StoreError
from browserkonnector.store._stack_http import StackCredentials, StackHTTP, seg

__all__ = ["CozyStackStore", "StackCredentials"]

_GET_MANY_CHUNK = 1000


def _strip(doc: Mapping[str, Any], *keys: str) -> Doc:
    return {k: v for k, v in doc.items() if k not in keys}


class CozyStackStore(CozyFilesMixin):
    """A remote Cozy. ``credentials`` is the ``COZY_CREDENTIALS`` text (token or dev-mode OAuth JSON) or
    :class:`StackCredentials`. ``app`` is informative here (the stack reads the app from the token)."""

    def __init__(
        self,
        url: str,
        credentials: str | StackCredentials,
        *,
        app: AppInfo | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_options: Mapping[str, Any] | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        creds = credentials if isinstance(credentials, StackCredentials) else StackCredentials.parse(credentials)
        self.app = app
        self.retries = retries
        self._http = StackHTTP(
            url,
            creds,
            timeout=timeout,
            retries=retries,
            transport=transport,
            retry_options=retry_options,
            redactor=redactor,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> CozyStackStore:
        """From ``COZY_URL`` and ``COZY_CREDENTIALS`` (what the stack gives a konnector job)."""
        env = os.environ if environ is None else environ
        url, creds = env.get("COZY_URL", "").strip(), env.get("COZY_CREDENTIALS", "")
        if not url:
            raise ValueError("COZY_URL is not set: it must hold the Cozy's address")
        if not creds.strip():
            raise ValueError("COZY_CREDENTIALS is not set: it must hold the konnector token")
        return cls(url, creds, **kwargs)

    @property
    def url(self) -> str:
        return self._http.base_url

    @property
    def http(self) -> StackHTTP:
        """The underlying client (its ``retry`` transport counts retries, for tests and metrics)."""
        return self._http

    def describe(self) -> str:
        return f"Cozy({self._http.base_url})"

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> CozyStackStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- documents ----------------------------------------------------------------------------------

    async def get(self, doctype: str, doc_id: str) -> Doc:
        if not doc_id:
            raise NotFound(f"get({doctype!r}, ''): empty document id", reason="missing")
        doc: Doc = await self._http.json("GET", f"/data/{seg(doctype)}/{seg(doc_id)}")
        return doc

    async def get_many(self, doctype: str, ids: Sequence[str]) -> list[Doc | None]:
        found: dict[str, Doc] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), _GET_MANY_CHUNK):
            keys = unique[start : start + _GET_MANY_CHUNK]
            try:
                answer = await self._http.json(
                    "POST",
                    f"/data/{seg(doctype)}/_all_docs",
                    params={"include_docs": "true"},
                    json_body={"keys": keys},
                    retry="all",
                )
            except NotFound:
                return [None] * len(ids)  # the doctype has no database yet
            for row in answer.get("rows") or []:
                doc = row.get("doc") if isinstance(row, Mapping) else None
                if isinstance(doc, dict) and not row.get("error"):
                    doc.setdefault("_type", doctype)
                    found[str(row.get("id") or doc.get("_id"))] = doc
        return [found.get(i) for i in ids]

    async def create(self, doctype: str, doc: Mapping[str, Any]) -> Doc:
        body = _strip(doc, "_type")
        if "_rev" in body:
            raise BadRequest(
                f"create({doctype!r}) got a '_rev': use update() for an existing document", reason="bad_request"
            )
        doc_id = body.pop("_id", None)
        if doc_id is None:
            # POST: retried only if the server surely did not act (see the module docstring).
            answer = await self._http.json("POST", f"/data/{seg(doctype)}/", json_body=body)
            return self._written(answer, doctype)
        return await self._put(doctype, str(doc_id), body, sent_rev=None)

    async def update(self, doctype: str, doc: Mapping[str, Any]) -> Doc:
        body = _strip(doc, "_type")
        missing = [k for k in ("_id", "_rev") if not body.get(k)]
        if missing:
            raise BadRequest(f"update({doctype!r}) needs {' and '.join(missing)} in the document", reason="bad_request")
        return await self._put(doctype, str(body["_id"]), body, sent_rev=str(body["_rev"]))

    async def _put(self, doctype: str, doc_id: str, body: Doc, *, sent_rev: str | None) -> Doc:
        path = f"/data/{seg(doctype)}/{seg(doc_id)}"
        response = await self._http.send("PUT", path, json_body=body)
        if response.status_code == 409 and response.extensions.get("bk_attempts", 1) > 1:
            echoed = await self._echo_of_lost_write(doctype, doc_id, body, sent_rev)
            if echoed is not None:
                return echoed
        if response.status_code >= 400:
            raise self._http.error(response, "PUT", path)
        return self._written(response.json(), doctype)

    async def _echo_of_lost_write(self, doctype: str, doc_id: str, body: Doc, sent_rev: str | None) -> Doc | None:
        """After a retried PUT met 409: the stored document, if it is exactly what we sent one revision on
        (our first attempt landed and only its answer was lost); else None."""
        try:
            stored = await self.get(doctype, doc_id)
        except StoreError:
            return None
        expected_gen = int(sent_rev.split("-")[0]) + 1 if sent_rev else 1
        if not str(stored.get("_rev", "")).startswith(f"{expected_gen}-"):
            return None
        if _strip(stored, "_rev", "_type", "_id") != _strip(body, "_rev", "_type", "_id"):
            return None
        return stored

    @staticmethod
    def _written(answer: Mapping[str, Any], doctype: str) -> Doc:
        data = answer.get("data")
        doc: Doc = dict(data) if isinstance(data, Mapping) else {}
        doc["_id"] = answer.get("id", doc.get("_id"))
        doc["_rev"] = answer.get("rev", doc.get("_rev"))
        doc.setdefault("_type", doctype)
        return doc

    async def delete(self, doctype: str, doc_id: str, rev: str) -> None:
        if not rev:
            raise BadRequest(f"delete({doctype!r}, {doc_id!r}) needs the document's current rev", reason="bad_request")
        await self._http.request("DELETE", f"/data/{seg(doctype)}/{seg(doc_id)}", params={"rev": rev})

    async def bulk_save(self, doctype: str, docs: Sequence[Mapping[str, Any]]) -> list[BulkResult]:
        if not docs:
            return []
        answer = await self._http.json(
            "POST", f"/data/{seg(doctype)}/_bulk_docs", json_body={"docs": [_strip(d, "_type") for d in docs]}
        )
        results: list[BulkResult] = []
        for row in answer if isinstance(answer, list) else []:
            error = row.get("error")
            results.append(
                BulkResult(
                    id=str(row.get("id")),
                    ok=not error and bool(row.get("ok", True)),
                    rev=row.get("rev"),
                    error=error,
                    reason=row.get("reason"),
                )
            )
        return results

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
        query = find_body(
            selector, sort=sort, fields=fields, limit=limit, skip=skip, bookmark=bookmark, use_index=use_index
        )
        try:
            answer = await run_find(self._http, doctype, f"/data/{seg(doctype)}/_find", query)
        except NotFound as exc:
            if exc.reason in ("wrong_doctype", "no_db_file") or "does not exist" in exc.message.lower():
                return FindResult(docs=[], next=False, bookmark="", limit=limit or 100)
            raise
        return FindResult(
            docs=list(answer.get("docs") or []),
            next=bool(answer.get("next")),
            bookmark=str(answer.get("bookmark") or ""),
            limit=int(answer.get("limit") or limit or 100),
            warning=answer.get("warning"),
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
        limit = max(1, min(page_size, 1000))

        async def normal_docs_page(bookmark: str | None) -> FindResult:
            try:
                answer = await self._http.json(
                    "GET", f"/data/{seg(doctype)}/_normal_docs", params={"limit": limit, "bookmark": bookmark}
                )
            except NotFound:  # a doctype never written to
                return FindResult(docs=[], next=False, bookmark="", limit=limit)
            rows = list(answer.get("rows") or [])
            return FindResult(docs=rows, next=len(rows) >= limit, bookmark=answer.get("bookmark") or "", limit=limit)

        async for doc in follow_bookmarks(normal_docs_page):
            yield doc

    async def define_index(
        self,
        doctype: str,
        fields: Sequence[str],
        *,
        name: str | None = None,
        partial_filter: Mapping[str, Any] | None = None,
    ) -> str:
        return await define_index(self._http, doctype, fields, name=name, partial_filter=partial_filter)

    async def doctypes(self) -> list[str]:
        answer = await self._http.json("GET", "/data/_all_doctypes")
        return sorted(str(d) for d in answer) if isinstance(answer, list) else []
