"""What is saved already, in one indexed query: the values of one attribute across a doctype.

An incremental run should do no work for an item it saved before — not even fetch its detail page.
``save_bills`` deduplicates only *after* everything was fetched (the whole list is its input). Reading
the set of known values first lets a connector skip a known order straight from the list page::

    known = await saved_values(store, "io.cozy.bills", "vendorRef", where={"vendor": "Acme"})
    new = [row for row in rows if row.number not in known]

One ``_find`` on an index of ``attribute`` (``{attribute: {"$gt": null}}``: every document that has a
value, through the index on the stack and in the local store alike), reading that one field only. Scope
it with ``where`` the way the save helper will deduplicate: with ``keys=["vendorRef"]`` a bill of
another vendor with the same reference counts as saved, so ``where={"vendor": ...}`` errs on the safe
side (a value it misses is fetched once more, then found unchanged by ``save_bills``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from browserkonnector.save._util import get_path, js_string
from browserkonnector.store._base import Store

__all__ = ["saved_values"]


async def saved_values(
    store: Store, doctype: str, attribute: str, *, where: Mapping[str, Any] | None = None
) -> set[str]:
    """The values of ``attribute`` (a dotted path) of the documents of ``doctype`` matching ``where``,
    as strings (``String()`` of the JS library: ``12`` and ``"12"`` agree)."""
    if not attribute or attribute.startswith("$"):
        raise ValueError(f"saved_values: attribute must be a field path such as 'vendorRef', got {attribute!r}")
    index = await store.define_index(doctype, [attribute])
    selector: dict[str, Any] = {attribute: {"$gt": None}}
    if where:
        selector = {"$and": [selector, dict(where)]}
    fields = [attribute, *(where or {})]
    values: set[str] = set()
    async for doc in store.find_all(doctype, selector, fields=fields, use_index=index):
        value = get_path(doc, attribute)
        if value is not None:
            values.add(js_string(value))
    return values
