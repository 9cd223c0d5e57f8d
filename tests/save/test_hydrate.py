"""Ports of hydrateAndFilter.spec.js on a real LocalStore, and the indexed-query behaviour."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from browserkonnector.save import hydrate_and_filter
from browserkonnector.save._hydrate import find_existing, key_of

pytestmark = pytest.mark.anyio

DOCTYPE = "io.cozy.simpsons"
BASIC = [{"name": "Marge"}, {"name": "Homer"}, {"name": "Bart"}, {"name": "Lisa"}, {"name": "Maggie"}]


@pytest.fixture
async def simpsons(store: Any) -> dict[str, dict[str, Any]]:
    marge = await store.create(DOCTYPE, {"name": "Marge"})
    homer = await store.create(DOCTYPE, {"name": "Homer"})
    return {"Marge": marge, "Homer": homer}


async def test_hydrates_entries_with_info_from_db(store: Any, simpsons: dict[str, dict[str, Any]]) -> None:
    """hydrateAndFilter.spec 'should hydrate entries with info from db'."""
    entries = copy.deepcopy(BASIC)
    filtered = await hydrate_and_filter(entries, DOCTYPE, store=store, keys=["name"])
    assert entries[0]["_id"] == simpsons["Marge"]["_id"]
    assert entries[0]["_rev"] == simpsons["Marge"]["_rev"]
    assert entries[1]["_id"] == simpsons["Homer"]["_id"]
    assert entries[1]["_rev"] == simpsons["Homer"]["_rev"]
    assert len(filtered) == 3


async def test_should_save_and_should_update_as_options(store: Any, simpsons: dict[str, Any]) -> None:
    """hydrateAndFilter.spec 'should support shouldSave / shouldUpdate as options'."""
    filtered = await hydrate_and_filter(
        copy.deepcopy(BASIC),
        DOCTYPE,
        store=store,
        keys=["name"],
        should_save=lambda e: e["name"] != "Bart",
        should_update=lambda e, db: e["name"] == "Marge",
    )
    assert [x["name"] for x in filtered if x["name"] == "Bart"] == []
    assert [x["name"] for x in filtered if x["name"] == "Marge"] == ["Marge"]


class Simpson(dict[str, Any]):
    """The JS test's ``class Simpson extends Document`` with shouldSave/shouldUpdate methods."""

    def should_save(self) -> bool:
        return bool(self["name"] != "Bart")

    def should_update(self, existing: dict[str, Any]) -> bool:
        return bool(self["name"] == "Marge")


async def test_should_save_and_should_update_in_the_entries(store: Any, simpsons: dict[str, Any]) -> None:
    """hydrateAndFilter.spec 'should support shouldSave / shouldUpdate in the entries'."""
    entries = [Simpson(x) for x in copy.deepcopy(BASIC)]
    filtered = await hydrate_and_filter(entries, DOCTYPE, store=store, keys=["name"])
    names = [x["name"] for x in filtered]
    assert "Bart" not in names
    assert names.count("Marge") == 1


async def test_entry_level_hook_beats_the_option_and_may_be_async(store: Any, simpsons: dict[str, Any]) -> None:
    async def keep_none(entry: dict[str, Any]) -> bool:
        return False

    entries = [{"name": "Lisa", "shouldSave": lambda e: True}, {"name": "Bart"}]
    filtered = await hydrate_and_filter(entries, DOCTYPE, store=store, keys=["name"], should_save=keep_none)
    assert [x["name"] for x in filtered] == ["Lisa"]


async def test_doctype_is_mandatory(store: Any) -> None:
    with pytest.raises(ValueError, match="Doctype is mandatory"):
        await hydrate_and_filter([{"a": 1}], "", store=store)


async def test_default_key_is_id(store: Any, simpsons: dict[str, Any]) -> None:
    entries = [{"_id": simpsons["Homer"]["_id"], "name": "Homer J."}, {"_id": "nope", "name": "Ned"}]
    filtered = await hydrate_and_filter(entries, DOCTYPE, store=store)
    assert [x["name"] for x in filtered] == ["Ned"]
    assert entries[0]["_rev"] == simpsons["Homer"]["_rev"]


async def test_dates_compared_at_second_precision(store: Any) -> None:
    """JS: a ``date`` key goes through ``new Date(x)``: a datetime and its ISO string match, milliseconds
    of difference do not matter, another spelling of the same instant matches."""
    import datetime as dt

    await store.create("io.cozy.bills", {"date": "2024-01-15T10:00:00.000Z", "amount": 12, "vendor": "EDF"})
    await store.create("io.cozy.bills", {"date": "2024-02-15T00:00:00Z", "amount": 13.5, "vendor": "EDF"})
    incoming = [
        {"date": dt.datetime(2024, 1, 15, 10, 0, 0, 400000, tzinfo=dt.UTC), "amount": 12.0, "vendor": "EDF"},
        {"date": "2024-02-15", "amount": 13.5, "vendor": "EDF"},
        {"date": "2024-03-15", "amount": 13.5, "vendor": "EDF"},
        {"date": "2024-01-15T10:00:00.000Z", "amount": 12, "vendor": "Engie"},
    ]
    filtered = await hydrate_and_filter(incoming, "io.cozy.bills", store=store, keys=["date", "amount", "vendor"])
    assert [x.get("_id") is not None for x in incoming] == [True, True, False, False]
    assert len(filtered) == 2


async def test_only_matching_documents_are_read(store: Any) -> None:
    """The fix of the full-doctype scan: the query asks only for the incoming keys, through an index."""
    await store.bulk_save(
        "io.cozy.bills", [{"date": f"2020-01-{d:02d}T00:00:00.000Z", "amount": d, "vendor": "V"} for d in range(1, 29)]
    )
    seen: list[dict[str, Any]] = []
    real_find_all = store.find_all

    def spy(doctype: str, selector: Any, **kwargs: Any) -> Any:
        seen.append({"selector": selector, **kwargs})
        return real_find_all(doctype, selector, **kwargs)

    store.find_all = spy
    wanted = [{"date": "2020-01-03T00:00:00.000Z", "amount": 3, "vendor": "V"}]
    found = await find_existing(store, "io.cozy.bills", wanted, ["date", "amount", "vendor"])
    assert list(found) == [key_of(wanted[0], ["date", "amount", "vendor"])]
    assert len(seen) == 1
    assert seen[0]["use_index"] == "_design/by_date"  # one field: the most selective key
    assert list(seen[0]["selector"]) == ["date"]
    assert "2020-01-03T00:00:00.000Z" in seen[0]["selector"]["date"]["$in"]


async def test_missing_doctype_means_nothing_saved(store: Any) -> None:
    filtered = await hydrate_and_filter([{"k": "a"}], "io.cozy.nothing.yet", store=store, keys=["k"])
    assert filtered == [{"k": "a"}]


async def test_models_are_accepted(store: Any) -> None:
    from browserkonnector.save import Bill

    await store.create("io.cozy.bills", {"date": "2024-01-15T00:00:00.000Z", "amount": 12, "vendor": "EDF"})
    bills = [Bill(vendor="EDF", date="2024-01-15", amount=12), Bill(vendor="EDF", date="2024-01-16", amount=12)]
    filtered = await hydrate_and_filter(bills, "io.cozy.bills", store=store, keys=["date", "amount", "vendor"])
    assert [x["date"] for x in filtered] == ["2024-01-16T00:00:00.000Z"]
