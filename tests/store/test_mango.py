"""Mango semantics: a table of cases from CouchDB's documentation and matcher, and property tests.

Sources: "Selector Syntax" and "Sort Syntax" of https://docs.couchdb.org/en/stable/ddocs/mango.html
(cited as [docs §…]) and CouchDB's matcher ``src/mango/src/mango_selector.erl`` / ``mango_doc.erl``
(cited as [erl …]), which decides where the docs are silent (missing fields, arrays).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from browserkonnector.store._errors import BadRequest
from browserkonnector.store._local import LocalStore
from browserkonnector.store._mango import collate_key, compare, match, normalize, parse_sort

DOC = {
    "_id": "d1",
    "name": "Paul",
    "age": 42,
    "tags": ["a", "b"],
    "nested": {"x": 1, "y": None},
    "scores": [{"s": 80}, {"s": 95}],
    "flag": False,
    "empty": [],
}

CASES: list[tuple[str, dict[str, Any], bool]] = [
    # [docs §Selector Basics] a field and a value means equality; several fields are an implicit $and
    ("implicit $eq", {"name": "Paul"}, True),
    ("implicit $and", {"name": "Paul", "age": 41}, False),
    # [docs §Subfields] nested objects and dotted paths are the same query
    ("subfield object", {"nested": {"x": 1}}, True),
    ("dotted path", {"nested.x": 1}, True),
    ("null value is a value", {"nested.y": None}, True),
    ("$exists on a null value", {"nested.y": {"$exists": True}}, True),
    # [erl match/3, not_found] a condition on a missing field is false, except $exists:false
    ("missing field $eq", {"missing": None}, False),
    ("missing field $ne", {"missing": {"$ne": 1}}, False),  # unlike MongoDB
    ("missing field $nin", {"missing": {"$nin": [1]}}, False),
    ("missing field $lt", {"missing": {"$lt": 1}}, False),
    ("missing field $exists:false", {"missing": {"$exists": False}}, True),
    # [erl norm_negations] $not is pushed down: {"$not": {"f": v}} is {"f": {"$ne": v}}, false if missing
    ("$not on missing field", {"$not": {"missing": 1}}, False),
    ("$not on present field", {"$not": {"age": 1}}, True),
    ("$not $exists true", {"$not": {"missing": {"$exists": True}}}, True),
    ("$nor", {"$nor": [{"age": 1}, {"name": "Jo"}]}, True),
    ("field $not", {"age": {"$not": {"$gt": 50}}}, True),
    # [erl mango_doc:get_field] a path through a scalar is a bad path: false even for $exists:false
    ("bad path $exists:false", {"age.sub": {"$exists": False}}, False),
    ("array index in path", {"tags.1": "b"}, True),
    ("array index out of range", {"tags.5": {"$exists": False}}, False),
    # [docs §Combination Operators] $and $or $elemMatch $allMatch
    ("$or", {"$or": [{"age": 1}, {"name": "Paul"}]}, True),
    ("$and list", {"$and": [{"age": {"$gt": 40}}, {"age": {"$lt": 43}}]}, True),
    ("$elemMatch scalar", {"tags": {"$elemMatch": {"$eq": "b"}}}, True),
    ("$elemMatch object", {"scores": {"$elemMatch": {"s": {"$gt": 90}}}}, True),
    ("$elemMatch none", {"scores": {"$elemMatch": {"s": {"$gt": 99}}}}, False),
    ("$allMatch", {"scores": {"$allMatch": {"s": {"$gte": 80}}}}, True),
    ("$allMatch empty array", {"empty": {"$allMatch": {"$eq": 1}}}, False),
    # [docs §Condition Operators] equality compares whole values: an array equals only an array
    ("$eq array element", {"tags": "a"}, False),
    ("$eq whole array", {"tags": {"$eq": ["a", "b"]}}, True),
    # [erl match $in] $in on an array field tests its elements; $in [] never, $nin [] always
    ("$in array field", {"tags": {"$in": ["b", "z"]}}, True),
    ("$nin array field", {"tags": {"$nin": ["b"]}}, False),
    ("$in empty", {"age": {"$in": []}}, False),
    ("$nin empty", {"age": {"$nin": []}}, True),
    ("$all", {"tags": {"$all": ["b", "a"]}}, True),
    ("$all missing element", {"tags": {"$all": ["a", "z"]}}, False),
    ("$size", {"tags": {"$size": 2}}, True),
    ("$size on non-array", {"age": {"$size": 2}}, False),
    ("$type", {"nested": {"$type": "object"}}, True),
    ("$type boolean", {"flag": {"$type": "boolean"}}, True),
    ("$mod", {"age": {"$mod": [5, 2]}}, True),
    ("$regex", {"name": {"$regex": "^P.u"}}, True),
    ("$regex on non-string", {"age": {"$regex": "4"}}, False),
    # [docs §Collation] comparisons follow collation: strings > numbers > booleans > null
    ("string > number", {"name": {"$gt": 1000}}, True),
    ("number > false", {"age": {"$gt": False}}, True),
    ("false > null", {"flag": {"$gt": None}}, True),
    ("1 == 1.0", {"age": 42.0}, True),
    ("array > string", {"tags": {"$gt": "zzz"}}, True),
    ("object > array", {"nested": {"$gt": [9]}}, True),
]


@pytest.mark.parametrize(("selector", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_selector_table(selector: dict[str, Any], expected: bool) -> None:
    assert match(normalize(selector), DOC) is expected


@pytest.mark.parametrize(
    "selector",
    [
        {"a": {"$unknown": 1}},
        {"a": {"$in": 1}},
        {"a": {"$exists": "yes"}},
        {"a": {"$size": -1}},
        {"a": {"$regex": "("}},
        {"$or": {"a": 1}},
        {"a": {"$mod": [0, 1]}},
        {"a": {"$type": "date"}},
        {"a..b": 1},
        {"$and": "x"},
    ],
)
def test_invalid_selectors_are_bad_requests(selector: dict[str, Any]) -> None:
    with pytest.raises(BadRequest):
        normalize(selector)


def test_collation_order_of_types() -> None:
    # [docs §Sort Syntax / CouchDB views collation] null < false < true < numbers < strings < arrays < objects
    ordered = [
        None,
        False,
        True,
        -1,
        0,
        0.5,
        1,
        "",
        "A",
        "B",
        "a",
        "é",
        [],
        [None],
        [1],
        [1, 2],
        [2],
        {},
        {"a": 1},
        {"a": 2},
        {"b": 0},
    ]
    for a, b in itertools.pairwise(ordered):
        assert compare(a, b) < 0, (a, b)
    assert compare(1, 1.0) == 0
    assert compare({"a": [1]}, {"a": [1.0]}) == 0


def test_sort_spec() -> None:
    assert parse_sort([{"date": "desc"}, {"vendor": "desc"}]) == (["date", "vendor"], True)
    assert parse_sort(["date", {"vendor": "asc"}]) == (["date", "vendor"], False)
    with pytest.raises(BadRequest):
        parse_sort([{"date": "asc"}, {"vendor": "desc"}])  # [docs §Sort Syntax] one direction only


# -- properties -------------------------------------------------------------------------------------------
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.5, -1.5]),
    st.sampled_from(["", "a", "b", "B", "ab", "[x"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["c", "d"]), inner, max_size=2)
    ),
    max_leaves=5,
)
docs = st.dictionaries(st.sampled_from(["a", "b"]), values, max_size=2)
FIELDS = st.sampled_from(["a", "b", "a.c"])
ops = st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"])


def _field_conds() -> st.SearchStrategy[dict[str, Any]]:
    cmp = st.builds(lambda f, o, v: {f: {o: v}}, FIELDS, ops, values)
    member = st.builds(
        lambda f, o, vs: {f: {o: vs}}, FIELDS, st.sampled_from(["$in", "$nin"]), st.lists(values, max_size=3)
    )
    exists = st.builds(lambda f, b: {f: {"$exists": b}}, FIELDS, st.booleans())
    return st.one_of(cmp, member, exists)


selectors = st.recursive(
    _field_conds(),
    lambda inner: st.one_of(
        st.builds(lambda xs: {"$and": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"$or": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"$nor": xs}, st.lists(inner, min_size=1, max_size=2)),
        st.builds(lambda x: {"$not": x}, inner),
    ),
    max_leaves=6,
)

_ABSENT, _BAD = object(), object()


def _lookup(doc: Any, field: str) -> Any:
    for part in field.split("."):
        if not isinstance(doc, dict):
            return _BAD  # a path through a scalar or an array (with a non-integer name)
        if part not in doc:
            return _ABSENT
        doc = doc[part]
    return doc


def _oracle(sel: dict[str, Any], doc: dict[str, Any], negate: bool = False) -> bool:
    """An independent reading of CouchDB's rules, written without normalisation: a negated field
    condition still needs the field (only ``$exists`` flips), De Morgan for the combinators."""
    ((key, arg),) = sel.items()
    if key in ("$and", "$or"):
        parts = [_oracle(s, doc, negate) for s in arg]
        return all(parts) if (key == "$and") != negate else any(parts)
    if key == "$nor":
        return _oracle({"$or": arg}, doc, not negate)
    if key == "$not":
        return _oracle(arg, doc, not negate)
    ((op, ref),) = arg.items()
    value = _lookup(doc, key)
    if value is _BAD:
        return False
    if op == "$exists":
        return (value is not _ABSENT) == (ref != negate)
    if value is _ABSENT:
        return False
    k, elements = collate_key(value), value if isinstance(value, list) else [value]
    member = any(collate_key(v) == collate_key(r) for r in ref for v in elements) if op in ("$in", "$nin") else False
    result = {
        "$eq": lambda: k == collate_key(ref),
        "$ne": lambda: k != collate_key(ref),
        "$gt": lambda: k > collate_key(ref),
        "$gte": lambda: k >= collate_key(ref),
        "$lt": lambda: k < collate_key(ref),
        "$lte": lambda: k <= collate_key(ref),
        "$in": lambda: member,
        "$nin": lambda: not member,
    }[op]()
    return result != negate


@settings(max_examples=400, deadline=None)
@given(sel=selectors, doc=docs)
def test_matcher_agrees_with_an_independent_oracle(sel: dict[str, Any], doc: dict[str, Any]) -> None:
    assert match(normalize(sel), doc) == _oracle(sel, doc)


@settings(max_examples=300, deadline=None)
@given(items=st.lists(values, max_size=8))
def test_collate_key_is_a_total_order_consistent_with_compare(items: list[Any]) -> None:
    ordered = sorted(items, key=collate_key)
    for a, b in itertools.pairwise(ordered):
        assert compare(a, b) <= 0


@pytest.mark.anyio
async def test_sql_pushdown_returns_what_python_matching_returns(tmp_path: Path) -> None:
    """Whatever SQL narrows, ``find`` on SQLite (with and without indexes) equals the evaluator."""
    async with LocalStore(tmp_path / "s") as store:
        counter = itertools.count()

        @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
        @given(batch=st.lists(docs, min_size=1, max_size=8), sel=selectors, indexed=st.booleans())
        def run(batch: list[dict[str, Any]], sel: dict[str, Any], indexed: bool) -> None:
            doctype = f"io.cozy.prop{next(counter)}"
            expected = sorted(f"d{i}" for i, d in enumerate(batch) if match(normalize(sel), d))
            import anyio.from_thread

            async def check() -> None:
                await store.bulk_save(doctype, [{"_id": f"d{i}", **d} for i, d in enumerate(batch)])
                if indexed:
                    await store.define_index(doctype, ["a"])
                    await store.define_index(doctype, ["a.c", "b"])
                got = sorted(d["_id"] for d in (await store.find(doctype, sel, limit=1000)).docs)
                assert got == expected, (sel, batch)

            anyio.from_thread.run(check)

        import anyio.to_thread

        await anyio.to_thread.run_sync(run)


@pytest.mark.anyio
async def test_documents_round_trip(tmp_path: Path) -> None:
    async with LocalStore(tmp_path / "s") as store:
        bodies = st.dictionaries(
            st.text(st.characters(blacklist_characters="_", codec="utf-8"), min_size=1, max_size=5).filter(
                lambda k: not k.startswith("_")
            ),
            values,
            max_size=4,
        )

        @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
        @given(body=bodies)
        def run(body: dict[str, Any]) -> None:
            import anyio.from_thread

            async def check() -> None:
                created = await store.create("io.cozy.roundtrip", body)
                got = await store.get("io.cozy.roundtrip", created["_id"])
                assert {k: v for k, v in got.items() if not k.startswith("_")} == body

            anyio.from_thread.run(check)

        import anyio.to_thread

        await anyio.to_thread.run_sync(run)
