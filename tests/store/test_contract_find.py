"""Contract: ``find`` — operators, paging (bookmark, skip, the ``next`` rule, limit rules), ``fields``,
``sort`` with collation, index definitions. Backend-neutral (only the ``Store`` protocol)."""

from __future__ import annotations

from typing import Any

import pytest

from browserkonnector.store._base import Store, index_name
from browserkonnector.store._errors import BadRequest

pytestmark = pytest.mark.anyio

DT = "io.cozy.bills"


async def _seed(store: Store, docs: list[dict[str, Any]]) -> None:
    results = await store.bulk_save(DT, docs)
    assert all(r.ok for r in results)


async def _ids(store: Store, selector: dict[str, Any], **kw: Any) -> list[str]:
    page = await store.find(DT, selector, **kw)
    return [d["_id"] for d in page.docs]


BILLS = [
    {
        "_id": "b1",
        "vendor": "EDF",
        "amount": 10,
        "date": "2024-01-05",
        "tags": ["energy", "home"],
        "cozyMetadata": {"sourceAccount": "acc1"},
    },
    {
        "_id": "b2",
        "vendor": "EDF",
        "amount": 25.5,
        "date": "2024-02-05",
        "tags": ["energy"],
        "cozyMetadata": {"sourceAccount": "acc2"},
    },
    {"_id": "b3", "vendor": "Free", "amount": 30, "date": "2024-01-20", "tags": [], "isRefund": True},
    {"_id": "b4", "vendor": "Orange", "amount": None, "date": "2023-12-31"},
    {"_id": "b5", "vendor": "free", "amount": "12", "date": "2024-03-01", "tags": ["isp", "home"]},
]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ({"vendor": "EDF"}, ["b1", "b2"]),
        ({"vendor": {"$eq": "EDF"}, "amount": {"$gt": 10}}, ["b2"]),
        ({"vendor": {"$ne": "EDF"}}, ["b3", "b4", "b5"]),
        ({"amount": {"$gte": 10, "$lte": 25.5}}, ["b1", "b2"]),
        ({"amount": {"$lt": 11}}, ["b1", "b4"]),  # null sorts before numbers
        ({"amount": {"$gt": 100}}, ["b5"]),  # strings sort after numbers
        ({"vendor": {"$in": ["Free", "Orange", "nobody"]}}, ["b3", "b4"]),
        ({"vendor": {"$nin": ["EDF", "Free"]}}, ["b4", "b5"]),
        ({"isRefund": {"$exists": True}}, ["b3"]),
        ({"isRefund": {"$exists": False}}, ["b1", "b2", "b4", "b5"]),
        ({"isRefund": {"$ne": True}}, []),  # $ne never matches a missing field
        ({"vendor": {"$regex": "^[Ff]ree$"}}, ["b3", "b5"]),
        ({"$or": [{"vendor": "Orange"}, {"amount": 30}]}, ["b3", "b4"]),
        ({"$and": [{"vendor": "EDF"}, {"date": {"$lt": "2024-02-01"}}]}, ["b1"]),
        ({"$not": {"vendor": "EDF"}}, ["b3", "b4", "b5"]),
        ({"$nor": [{"vendor": "EDF"}, {"vendor": "Free"}]}, ["b4", "b5"]),
        ({"tags": {"$elemMatch": {"$eq": "home"}}}, ["b1", "b5"]),
        ({"tags": {"$all": ["home", "energy"]}}, ["b1"]),
        ({"tags": {"$size": 0}}, ["b3"]),
        ({"tags": {"$in": ["isp"]}}, ["b5"]),  # $in on an array tests its elements
        ({"cozyMetadata.sourceAccount": "acc2"}, ["b2"]),  # dotted path
        ({"cozyMetadata": {"sourceAccount": "acc1"}}, ["b1"]),  # nested object = sub-selector
        ({"amount": {"$type": "string"}}, ["b5"]),
        ({"_id": {"$gt": "b3"}}, ["b4", "b5"]),
        ({"_id": {"$gt": None}}, ["b1", "b2", "b3", "b4", "b5"]),
    ],
)
async def test_operators(store: Store, selector: dict[str, Any], expected: list[str]) -> None:
    await _seed(store, BILLS)
    assert sorted(await _ids(store, selector)) == expected


async def test_invalid_selector_is_a_bad_request(store: Store) -> None:
    await _seed(store, BILLS[:1])
    with pytest.raises(BadRequest):
        await store.find(DT, {"vendor": {"$bogus": 1}})
    with pytest.raises(BadRequest):
        await store.find(DT, {"vendor": {"$in": "EDF"}})


async def test_limit_rules_and_next(store: Store) -> None:
    await _seed(store, [{"_id": f"d{i:03d}", "n": i} for i in range(150)])
    default = await store.find(DT, {"n": {"$gte": 0}})
    assert default.limit == 100
    assert len(default.docs) == 100
    assert default.next
    over = await store.find(DT, {"n": {"$gte": 0}}, limit=5000)  # > 1000 is reset to 100, not clamped
    assert over.limit == 100
    assert len(over.docs) == 100
    exact = await store.find(DT, {"n": {"$lt": 10}}, limit=10)
    assert len(exact.docs) == 10
    assert exact.next
    after = await store.find(DT, {"n": {"$lt": 10}}, limit=10, bookmark=exact.bookmark)
    assert after.docs == []
    assert not after.next
    short = await store.find(DT, {"n": {"$lt": 5}}, limit=10)
    assert len(short.docs) == 5
    assert not short.next


async def test_bookmark_paging_visits_each_document_once(store: Store) -> None:
    await _seed(store, [{"_id": f"d{i:03d}", "n": i % 7} for i in range(53)])
    seen: list[str] = []
    bookmark = None
    while True:
        page = await store.find(DT, {"n": {"$gte": 2}}, limit=10, bookmark=bookmark)
        seen += [d["_id"] for d in page.docs]
        if not page.next:
            break
        bookmark = page.bookmark
    expected = sorted(f"d{i:03d}" for i in range(53) if i % 7 >= 2)
    assert sorted(seen) == expected
    assert len(seen) == len(set(seen))
    assert sorted([d["_id"] async for d in store.find_all(DT, {"n": {"$gte": 2}}, page_size=6)]) == expected


async def test_sorted_bookmark_paging(store: Store) -> None:
    await _seed(store, [{"_id": f"d{i:02d}", "n": i % 5, "name": f"x{i:02d}"} for i in range(23)])
    await store.define_index(DT, ["n", "name"])
    got: list[tuple[int, str]] = []
    bookmark = None
    while True:
        page = await store.find(
            DT,
            {"n": {"$gte": 0}, "name": {"$gt": None}},
            sort=[{"n": "desc"}, {"name": "desc"}],
            limit=4,
            bookmark=bookmark,
        )
        got += [(d["n"], d["name"]) for d in page.docs]
        if not page.next:
            break
        bookmark = page.bookmark
    assert got == sorted(got, reverse=True)
    assert len(got) == 23


async def test_skip(store: Store) -> None:
    await _seed(store, [{"_id": f"d{i}", "n": i} for i in range(10)])
    await store.define_index(DT, ["n"])
    page = await store.find(DT, {"n": {"$gte": 0}}, sort=["n"], skip=3, limit=4)
    assert [d["n"] for d in page.docs] == [3, 4, 5, 6]


async def test_fields_projection_keeps_id_and_rev(store: Store) -> None:
    await _seed(store, BILLS)
    page = await store.find(DT, {"_id": "b1"}, fields=["vendor", "cozyMetadata.sourceAccount"])
    (doc,) = page.docs
    assert set(doc) == {"_id", "_rev", "vendor", "cozyMetadata"}
    assert doc["cozyMetadata"] == {"sourceAccount": "acc1"}
    assert doc["vendor"] == "EDF"


async def test_sort_uses_collation_across_types(store: Store) -> None:
    values: list[Any] = ["b", 2, None, True, [1], "a", {"k": 1}, False, 1.5, []]
    await _seed(store, [{"_id": f"v{i}", "v": v} for i, v in enumerate(values)])
    await store.define_index(DT, ["v"])
    page = await store.find(DT, {"v": {"$exists": True}}, sort=[{"v": "asc"}])
    expected = [None, False, True, 1.5, 2, "a", "b", [], [1], {"k": 1}]
    assert [d["v"] for d in page.docs] == expected
    desc = await store.find(DT, {"v": {"$exists": True}}, sort=[{"v": "desc"}])
    assert [d["v"] for d in desc.docs] == expected[::-1]


async def test_mixed_sort_directions_are_refused(store: Store) -> None:
    await _seed(store, BILLS)
    await store.define_index(DT, ["vendor", "date"])
    with pytest.raises(BadRequest):
        await store.find(
            DT, {"vendor": {"$gt": None}, "date": {"$gt": None}}, sort=[{"vendor": "asc"}, {"date": "desc"}]
        )


async def test_define_index_is_idempotent_and_used(store: Store) -> None:
    await _seed(store, BILLS)
    first = await store.define_index(DT, ["vendor", "date"])
    again = await store.define_index(DT, ["vendor", "date"])
    assert first == again == f"_design/{index_name(['vendor', 'date'])}"
    named = await store.define_index(DT, ["amount"], name="by-amount")
    assert named == "_design/by-amount"
    page = await store.find(DT, {"vendor": "EDF", "date": {"$gt": "2024-01-31"}}, use_index=first)
    assert [d["_id"] for d in page.docs] == ["b2"]


async def test_partial_index(store: Store) -> None:
    await _seed(store, BILLS)
    partial = {"cozyMetadata.sourceAccount": {"$exists": True}}
    ddoc = await store.define_index(DT, ["vendor"], partial_filter=partial)
    assert ddoc == f"_design/{index_name(['vendor'], partial)}"
    page = await store.find(DT, {"vendor": "EDF", "cozyMetadata.sourceAccount": {"$exists": True}}, use_index=ddoc)
    assert sorted(d["_id"] for d in page.docs) == ["b1", "b2"]
