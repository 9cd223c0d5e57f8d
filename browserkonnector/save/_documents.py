"""``add_data`` and ``update_or_create``: write documents with their ``cozyMetadata``.

Deliberate differences from konnector-libs' addData and updateOrCreate, each a fix of a documented quirk:

- ``add_data`` refreshes ``updatedAt`` and this app's ``updatedByApps`` entry on an update and keeps
  ``createdAt`` (the JS spread kept the old metadata whole), and gives the new ``_id``/``_rev`` back to
  the caller's dicts (the JS put them on an internal copy). It writes with one ``bulk_save`` per batch
  instead of one request per document; a conflict raises :class:`~browserkonnector.store._errors.Conflict`.
- ``update_or_create`` finds the existing documents through an index on one of ``matching_attributes``
  (``$in`` of the incoming values, the others compared in Python) instead of ``findAll`` of the doctype; an empty
  ``matching_attributes`` is an error (the JS version matched the first document of the doctype); a
  document created earlier in the same call is found by later entries (no duplicate); a stored document
  the entry would not change is left alone (no write, same ``_rev``, same ``updatedAt``): the JS version
  rewrote every matched document on every run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any, Literal

from loguru import logger
from pydantic import BaseModel

from browserkonnector.save._hydrate import BATCH
from browserkonnector.save._metadata import get_cozy_metadata
from browserkonnector.save._util import get_path
from browserkonnector.store._base import AppInfo, Doc, Store
from browserkonnector.store._errors import Conflict, NotFound

__all__ = ["Upserted", "add_data", "update_or_create", "upsert"]

#: What :func:`upsert` did with an entry.
Upserted = Literal["created", "updated", "unchanged"]
#: Bookkeeping, not content: never a reason to rewrite a document.
_NOT_CONTENT = frozenset({"_id", "_rev", "_type", "cozyMetadata"})

#: Keys a client may not send (the store refuses ``_``-fields other than these).
_ALLOWED_UNDERSCORE = {"_id", "_rev", "_deleted"}


def _to_doc(entry: Any) -> dict[str, Any]:
    """A JSON document from a dict or a model: camelCase, no callables, no ``_type``-like fields."""
    raw = entry.model_dump(by_alias=True, exclude_none=True) if isinstance(entry, BaseModel) else entry
    if not isinstance(raw, Mapping):
        raise TypeError(f"a document must be a dict or a pydantic model, got {type(entry).__name__}")
    return {k: v for k, v in raw.items() if not callable(v) and (not k.startswith("_") or k in _ALLOWED_UNDERSCORE)}


async def add_data(
    entries: Sequence[Any],
    doctype: str,
    *,
    store: Store,
    app: AppInfo,
    source_account: str | None = None,
    source_account_identifier: str | None = None,
) -> list[Doc]:
    """Save ``entries`` as they are (JS ``addData``): create those without ``_rev``, update the others.

    Each gets ``cozyMetadata`` (see :func:`~browserkonnector.save._metadata.get_cozy_metadata`; an
    entry's own ``cozyMetadata`` is the ``existing`` one). Returns the stored documents, in input order,
    with their ``_id`` and ``_rev``; dict entries get their ``_id``/``_rev`` too.
    """
    log = logger.bind(namespace="addData")
    docs: list[dict[str, Any]] = []
    for entry in entries:
        doc = _to_doc(entry)
        doc["cozyMetadata"] = get_cozy_metadata(
            app,
            source_account=source_account,
            source_account_identifier=source_account_identifier,
            existing=doc.get("cozyMetadata"),
        )
        docs.append(doc)
    for start in range(0, len(docs), BATCH):
        batch = docs[start : start + BATCH]
        results = await store.bulk_save(doctype, batch)
        failed = [r for r in results if not r.ok]
        for doc, result in zip(batch, results, strict=True):
            if result.ok:
                doc["_id"], doc["_rev"] = result.id, result.rev
        if failed:
            first = failed[0]
            raise Conflict(
                f"addData: {len(failed)} of {len(batch)} {doctype} documents were refused "
                f"(first: {first.id}: {first.error} {first.reason or ''})".strip(),
                reason=first.reason,
            )
    for entry, doc in zip(entries, docs, strict=True):
        if isinstance(entry, MutableMapping):
            entry["_id"], entry["_rev"] = doc["_id"], doc["_rev"]
    log.debug(f"addData saved {len(docs)} {doctype} documents")
    return docs


def _same(value: Any) -> str:
    """A comparable form of an attribute value: JS ``===`` on scalars (``1 == 1.0``)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return f"n:{float(value)!r}"
    return json.dumps(value, sort_keys=True, default=str)


def _changes(found: Mapping[str, Any], doc: Mapping[str, Any]) -> bool:
    """Whether merging ``doc`` over ``found`` changes any content (``1`` and ``1.0`` are the same)."""
    return any(k not in _NOT_CONTENT and (k not in found or _same(found[k]) != _same(v)) for k, v in doc.items())


async def update_or_create(
    entries: Sequence[Any],
    doctype: str,
    matching_attributes: Sequence[str],
    *,
    store: Store,
    app: AppInfo,
    source_account: str | None = None,
    source_account_identifier: str | None = None,
) -> list[Doc]:
    """JS ``updateOrCreate``: update the stored document whose ``matching_attributes`` all equal the
    entry's (merging the entry over it, keeping ``createdAt``), else create one. In series, in order.
    A stored document the entry would not change is returned as stored, without a write."""
    done = await upsert(
        entries,
        doctype,
        matching_attributes,
        store=store,
        app=app,
        source_account=source_account,
        source_account_identifier=source_account_identifier,
    )
    return [doc for doc, _ in done]


async def upsert(
    entries: Sequence[Any],
    doctype: str,
    matching_attributes: Sequence[str],
    *,
    store: Store,
    app: AppInfo,
    source_account: str | None = None,
    source_account_identifier: str | None = None,
    on_create: Callable[[dict[str, Any]], None] | None = None,
) -> list[tuple[Doc, Upserted]]:
    """:func:`update_or_create`, telling for each entry what it did. ``on_create`` completes a document
    about to be created (a first-import date that a later run must not change)."""
    if not matching_attributes:
        raise ValueError("update_or_create needs at least one matching attribute (matching_attributes is empty)")
    log = logger.bind(namespace="updateOrCreate")
    attrs = list(matching_attributes)
    docs = [_to_doc(e) for e in entries]

    def key(doc: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(_same(get_path(doc, a)) for a in attrs)

    existing: dict[tuple[str, ...], Doc] = {}
    for start in range(0, len(docs), BATCH):
        batch = docs[start : start + BATCH]
        selector: dict[str, Any] = {}
        for attr in attrs:  # one field, the most selective (see hydrate._key_selector for why)
            values = [get_path(d, attr) for d in batch]
            if all(isinstance(v, str | int | float | bool) for v in values):
                distinct = list({_same(v): v for v in values}.values())
                if not selector or len(distinct) > len(next(iter(selector.values()))["$in"]):
                    selector = {attr: {"$in": distinct}}
        if not selector:
            raise ValueError(
                f"update_or_create: none of {attrs} has plain values to query by; "
                "give matching attributes that every entry has"
            )
        index = await store.define_index(doctype, list(selector))
        wanted = {key(d) for d in batch}
        try:
            async for stored in store.find_all(doctype, selector, use_index=index):
                k = key(stored)
                if k in wanted and k not in existing:
                    existing[k] = stored
        except NotFound:
            pass
    saved: list[tuple[Doc, Upserted]] = []
    for doc in docs:
        found = existing.get(key(doc))
        outcome: Upserted
        if found is not None and not _changes(found, doc):
            stored, outcome = found, "unchanged"
        elif found is not None:
            log.debug(f"updating {doctype} {found['_id']}")
            merged = {**found, **doc, "_id": found["_id"], "_rev": found["_rev"]}
            merged["cozyMetadata"] = get_cozy_metadata(
                app,
                source_account=source_account,
                source_account_identifier=source_account_identifier,
                existing=found.get("cozyMetadata"),
            )
            merged.pop("_type", None)
            stored, outcome = await store.update(doctype, merged), "updated"
        else:
            log.debug(f"creating {doctype}")
            if on_create is not None:
                on_create(doc)
            doc["cozyMetadata"] = get_cozy_metadata(
                app,
                source_account=source_account,
                source_account_identifier=source_account_identifier,
                existing=doc.get("cozyMetadata"),
            )
            stored, outcome = await store.create(doctype, doc), "created"
        existing[key(doc)] = stored
        saved.append((stored, outcome))
    return saved
