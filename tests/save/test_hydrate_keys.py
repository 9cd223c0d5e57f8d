"""Dedup keys as the JS library reads them: lodash bracket paths, missing values, ``null`` dates, numbers
written as strings — through the indexed query, on the embedded store and the stack emulator."""

from __future__ import annotations

from typing import Any

import pytest

from browserkonnector.save import hydrate_and_filter
from browserkonnector.save._hydrate import key_of, mango_field

pytestmark = pytest.mark.anyio
DOCTYPE = "io.cozy.things"


def test_bracket_paths_name_the_dotted_mango_field() -> None:
    assert mango_field("items[0].code") == "items.0.code"
    assert mango_field('a["b"].c') == "a.b.c"
    assert mango_field("plain") == "plain"


def test_keys_join_like_javascript() -> None:
    assert (
        key_of({"items": [{"code": "A"}]}, ["items[0].code"])
        == key_of({"items": [{"code": "A"}]}, ["items.0.code"])
        == "A"
    )
    assert key_of({}, ["ref"]) == key_of({"ref": None}, ["ref"]) == key_of({"ref": ""}, ["ref"]) == ""
    assert key_of({}, ["date"]) == "Invalid Date"  # new Date(undefined)
    assert key_of({"date": None}, ["date"]) == "0"  # new Date(null): the epoch, a real date


async def test_a_bracket_key_matches_through_the_index(store: Any) -> None:
    stored = await store.create(DOCTYPE, {"items": [{"code": "A"}]})
    await store.create(DOCTYPE, {"items": [{"code": "B"}]})
    incoming = [{"items": [{"code": "A"}]}, {"items": [{"code": "C"}]}]
    kept = await hydrate_and_filter(incoming, DOCTYPE, store=store, keys=["items[0].code"])
    assert incoming[0]["_id"] == stored["_id"]
    assert kept == [incoming[1]]


async def test_a_missing_value_with_a_selector_still_finds_the_stored_document(store: Any) -> None:
    """No key can be listed (``ref`` is missing on the incoming document): the selector alone is read,
    not ``{"$and": [{}, selector]}``."""
    stored = await store.create(DOCTYPE, {"vendor": "EDF", "other": 1})
    incoming = [{"vendor": "EDF", "other": 1}]
    kept = await hydrate_and_filter(incoming, DOCTYPE, store=store, keys=["ref", "other"], selector={"vendor": "EDF"})
    assert incoming[0]["_id"] == stored["_id"]
    assert kept == []


async def test_numbers_and_their_strings_are_one_key(store: Any) -> None:
    stored = await store.create(DOCTYPE, {"ref": "12", "amount": "10.5"})
    incoming = [{"ref": 12, "amount": 10.5}]
    assert await hydrate_and_filter(incoming, DOCTYPE, store=store, keys=["ref", "amount"]) == []
    assert incoming[0]["_id"] == stored["_id"]
