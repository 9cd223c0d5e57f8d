"""Mango selectors in pure Python, with CouchDB's semantics, and CouchDB collation for ``sort``.

The embedded store answers ``find`` the way the stack's CouchDB does, so the save pipeline's dedup query
finds the same documents on both backends. This module follows CouchDB's own matcher
(``src/mango/src/mango_selector.erl``, ``mango_doc.erl``) and its documentation ("Selector Syntax",
https://docs.couchdb.org/en/stable/ddocs/mango.html):

1. **Normalisation** (:func:`normalize`): a field holding several operators is an implicit ``$and``, a bare
   value is ``$eq``, a nested object is a sub-selector (``{"a": {"b": 1}}`` means ``a.b == 1``, not "a
   equals the object"), field names are pushed down to the terminals (``{"a": {"$and": [..]}}``), and
   negations (``$not``, ``$nor``) are pushed down too by De Morgan's laws and operator inversion
   (``$not $gt`` → ``$lte``, ``$not $in`` → ``$nin``). That last step is what makes
   ``{"$not": {"a": 1}}`` **not** match a document without ``a``: it becomes ``{"a": {"$ne": 1}}``.
2. **Matching** (:func:`match`): a field condition on a **missing** field is false, whatever the operator
   (``$ne``, ``$nin``, ``$lt``... included), except exactly ``{"$exists": false}``. Unlike MongoDB,
   CouchDB's ``$ne`` does not match a document that lacks the field. A path through a scalar
   (``a.b`` when ``a`` is ``5``) is a "bad path": false, even for ``$exists: false``. A path segment that
   is an integer indexes an array (``tags.0``). Comparisons use collation (3), so ``{"a": {"$gt": 5}}``
   also matches strings, arrays and objects, which sort after numbers. ``$eq`` compares whole values (an
   array equals only an equal array), while ``$in``/``$nin`` on an array field test its elements.
   ``$in: []`` never matches, ``$nin: []`` always does (on an existing field).
3. **Collation** (:func:`collate_key`): ``null < false < true < numbers < strings < arrays < objects``;
   arrays element by element then by length, objects key/value pair by pair in document order.
   **Strings compare by Unicode code point** (the order of SQLite's ``BINARY`` collation and of Python),
   not with CouchDB's ICU collation. The choice is deliberate: it lets ``find`` push string ranges down
   to SQLite indexes exactly (:mod:`browserkonnector.store._pushdown`) and gives one order everywhere.
   It agrees with ICU for what connectors sort and range on — ISO dates, ids, amounts, same-case
   names — and differs for mixed case (ICU: ``a < B < c``; here ``B < a < c``), accents and some
   punctuation.

Supported operators: ``$eq $ne $gt $gte $lt $lte $in $nin $exists $type $size $mod $regex $all
$elemMatch $allMatch $keyMapMatch $and $or $not $nor``. ``$regex`` uses Python's ``re.search``
(CouchDB uses PCRE: the common syntax is the same). Anything else is a :class:`BadRequest`, as is a
malformed argument, naming the operator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from browserkonnector.store._errors import BadRequest

__all__ = [
    "collate_key",
    "compare",
    "get_field",
    "json_type",
    "match",
    "normalize",
    "parse_field",
    "parse_sort",
    "required_fields",
]

Selector = dict[str, Any]
_MISSING = object()
_BAD_PATH = object()

_COMBINATORS = ("$and", "$or", "$nor")
_TERMINALS = ("$lt", "$lte", "$eq", "$ne", "$gte", "$gt")
_NEGATION = {
    "$lt": "$gte",
    "$lte": "$gt",
    "$eq": "$ne",
    "$ne": "$eq",
    "$gte": "$lt",
    "$gt": "$lte",
    "$in": "$nin",
    "$nin": "$in",
}
_TYPES = ("null", "boolean", "number", "string", "array", "object")


# -- collation ------------------------------------------------------------------------------------------
def collate_key(value: Any) -> tuple[Any, ...]:
    """A sort key giving CouchDB's collation order (strings by code point; see the module docstring)."""
    if value is None:
        return (0, 0)
    if value is False:
        return (1, 0)
    if value is True:
        return (2, 0)
    if isinstance(value, int | float):
        return (3, value)
    if isinstance(value, str):
        return (4, value)
    if isinstance(value, list | tuple):
        return (5, tuple(collate_key(v) for v in value))
    if isinstance(value, Mapping):
        return (6, tuple((str(k), collate_key(v)) for k, v in value.items()))
    raise BadRequest(f"cannot compare a value of type {type(value).__name__}")


def compare(a: Any, b: Any) -> int:
    """-1, 0 or 1 as ``a`` sorts before, with or after ``b``."""
    ka, kb = collate_key(a), collate_key(b)
    return (ka > kb) - (ka < kb)


def json_type(value: Any) -> str:
    """The JSON type name of a value, as Mango's ``$type`` names it (``null``, ``boolean``, ``number``,
    ``string``, ``array``, ``object``); tuples count as arrays."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object"


# -- fields ---------------------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def parse_field(field: str) -> tuple[str, ...]:
    """``"a.b\\.c"`` → ``("a", "b.c")``: dots separate, ``\\.`` is a literal dot (CouchDB's rule)."""
    parts: list[str] = []
    current: list[str] = []
    chars = iter(field)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            current.append(nxt if nxt == "." else ch + nxt)
        elif ch == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    if any(p == "" for p in parts):
        raise BadRequest(f"invalid field name {field!r} (empty segment)", reason="invalid_selector")
    return tuple(parts)


def get_field(doc: Any, field: str | tuple[str, ...]) -> Any:
    """The value at a dotted path, or the module's ``_MISSING`` / ``_BAD_PATH`` sentinels."""
    path = parse_field(field) if isinstance(field, str) else field
    value = doc
    for name in path:
        if isinstance(value, Mapping):
            if name not in value:
                return _MISSING
            value = value[name]
        elif isinstance(value, list):
            if not name.isdigit() or int(name) >= len(value):
                return _BAD_PATH
            value = value[int(name)]
        else:
            return _BAD_PATH
    return value


# -- normalisation --------------------------------------------------------------------------------------
def normalize(selector: Mapping[str, Any]) -> Selector:
    """CouchDB's three normalisation steps (operators, field paths, negations); validates as it goes."""
    if not isinstance(selector, Mapping):
        raise BadRequest("selector must be a JSON object", reason="invalid_selector")
    if not selector:
        return {}
    return _norm_negations(_norm_fields(_norm_ops(selector), ""))


def _bad_arg(op: str, arg: Any) -> BadRequest:
    return BadRequest(f"bad argument for operator {op}: {arg!r}", reason="bad_arg")


def _norm_ops(sel: Any) -> Any:
    if not isinstance(sel, Mapping) or len(sel) == 0:
        return {"$eq": sel}
    if len(sel) > 1:
        return {"$and": [_norm_ops({k: v}) for k, v in sel.items()]}
    ((op, arg),) = sel.items()
    if op in _COMBINATORS:
        if not isinstance(arg, list):
            raise _bad_arg(op, arg)
        return {op: [_norm_ops(a) for a in arg]}
    if op in ("$not", "$elemMatch", "$allMatch", "$keyMapMatch"):
        if not isinstance(arg, Mapping):
            raise _bad_arg(op, arg)
        return {op: _norm_ops(arg)}
    if op in ("$in", "$nin", "$all"):
        if not isinstance(arg, list):
            raise _bad_arg(op, arg)
        return {op: list(arg)}  # our own copy: _key_set caches by identity, a caller may mutate theirs
    if op == "$exists":
        if not isinstance(arg, bool):
            raise _bad_arg(op, arg)
        return {op: arg}
    if op == "$type":
        if arg not in _TYPES:
            raise _bad_arg(op, arg)
        return {op: arg}
    if op == "$size":
        if isinstance(arg, bool) or not isinstance(arg, int) or arg < 0:
            raise _bad_arg(op, arg)
        return {op: arg}
    if op == "$mod":
        ok = (
            isinstance(arg, list) and len(arg) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in arg)
        )
        if not ok or arg[0] == 0:
            raise _bad_arg(op, arg)
        return {op: arg}
    if op == "$regex":
        if not isinstance(arg, str):
            raise _bad_arg(op, arg)
        try:
            _regex(arg)
        except re.error as exc:
            raise BadRequest(f"bad argument for operator $regex: {arg!r} ({exc})", reason="bad_arg") from exc
        return {op: arg}
    if op in _TERMINALS:
        return {op: arg}
    if op.startswith("$"):
        raise BadRequest(f"invalid operator {op}", reason="invalid_operator")
    return {op: _norm_ops(arg)}


def _norm_fields(sel: Selector, path: str) -> Selector:
    ((op, arg),) = sel.items()
    if op in _COMBINATORS:
        return {op: [_norm_fields(a, path) for a in arg]}
    if op == "$not":
        return {op: _norm_fields(arg, path)}
    if op in ("$elemMatch", "$allMatch", "$keyMapMatch"):
        inner = _norm_fields(arg, "") if arg else arg
        return _at(path, {op: inner})
    if op.startswith("$"):
        return _at(path, sel)
    return _norm_fields(arg, op if path == "" else f"{path}.{op}")


def _at(path: str, cond: Selector) -> Selector:
    # A condition with no field above it applies to the value itself (inside $elemMatch): CouchDB keys
    # it by the empty field name, which the matcher skips.
    if path:
        parse_field(path)  # validates it: no empty segment
    return {path: cond}


def _norm_negations(sel: Selector) -> Selector:
    ((op, arg),) = sel.items()
    if op == "$not":
        return _negate(arg)
    if op == "$nor":
        return {"$and": [_negate(a) for a in arg]}
    if op in ("$and", "$or"):
        return {op: [_norm_negations(a) for a in arg]}
    if op in ("$elemMatch", "$allMatch", "$keyMapMatch"):
        return {op: _norm_negations(arg) if arg else arg}
    # A {field: condition} terminal is left as is, as CouchDB does: negations inside an ``$elemMatch``
    # that sits under a field keep their ``$not`` (and so match elements lacking the inner field).
    return sel


def _negate(sel: Selector) -> Selector:
    ((op, arg),) = sel.items()
    if op == "$not":
        return _norm_negations(arg)
    if op == "$nor":
        return {"$or": [_norm_negations(a) for a in arg]}
    if op == "$and":
        return {"$or": [_negate(a) for a in arg]}
    if op == "$or":
        return {"$and": [_negate(a) for a in arg]}
    if op in _NEGATION:
        return {_NEGATION[op]: arg}
    if op == "$exists":
        return {"$exists": not arg}
    if op.startswith("$"):
        return {"$not": sel}
    return {op: _negate(arg)}


# -- matching -------------------------------------------------------------------------------------------
_KEY_SETS: dict[int, tuple[list[Any], frozenset[tuple[Any, ...]]]] = {}


def _key_set(values: list[Any]) -> frozenset[tuple[Any, ...]]:
    """The collation keys of an ``$in`` list, hashed once per list (the dedup query matches each candidate
    against 1,000 keys: a set makes that one lookup instead of 1,000 comparisons). Collation-equal values
    have equal keys (``1`` and ``1.0`` both give ``(3, 1)``), so set membership is collation equality. The
    cache holds the list itself, so its ``id`` cannot be reused while cached."""
    cached = _KEY_SETS.get(id(values))
    if cached is not None and cached[0] is values:
        return cached[1]
    keys = frozenset(collate_key(v) for v in values)
    if len(_KEY_SETS) > 64:
        _KEY_SETS.clear()
    _KEY_SETS[id(values)] = (values, keys)
    return keys


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def match(selector: Selector, doc: Any) -> bool:
    """Whether ``doc`` matches a **normalized** selector (see :func:`normalize`)."""
    if not selector:
        return True
    return _match(selector, doc)


def _match(sel: Selector, value: Any) -> bool:
    ((op, arg),) = sel.items()
    if op == "$and":
        return all(_match(a, value) for a in arg)
    if op == "$or":
        return any(_match(a, value) for a in arg)
    if op == "$not":
        return not _match(arg, value)
    if op == "":
        return _match(arg, value)
    if not op.startswith("$"):
        sub = get_field(value, op)
        if sub is _MISSING:
            return bool(arg == {"$exists": False})
        if sub is _BAD_PATH:
            return False
        return _match(arg, sub)
    if op == "$eq":
        return compare(value, arg) == 0
    if op == "$ne":
        return compare(value, arg) != 0
    if op == "$lt":
        return compare(value, arg) < 0
    if op == "$lte":
        return compare(value, arg) <= 0
    if op == "$gt":
        return compare(value, arg) > 0
    if op == "$gte":
        return compare(value, arg) >= 0
    if op in ("$in", "$nin"):
        keys = _key_set(arg)
        candidates = value if isinstance(value, list) else [value]
        found = any(collate_key(v) in keys for v in candidates)
        return found if op == "$in" else not found
    if op == "$exists":
        return bool(arg)
    if op == "$type":
        return bool(json_type(value) == arg)
    if op == "$size":
        return isinstance(value, list) and len(value) == arg
    if op == "$mod":
        if not isinstance(value, int) or isinstance(value, bool):
            return False
        divisor, remainder = arg
        rem = abs(value) % abs(divisor)  # Erlang's rem: the sign follows the dividend
        return bool((-rem if value < 0 else rem) == remainder)
    if op == "$regex":
        return isinstance(value, str) and _regex(arg).search(value) is not None
    if op == "$all":
        if not isinstance(value, list):
            return False
        has_all = all(any(compare(v, a) == 0 for v in value) for a in arg)
        return has_all or (len(arg) == 1 and isinstance(arg[0], list) and compare(arg[0], value) == 0)
    if op == "$elemMatch":
        return isinstance(value, list) and any(match(arg, v) for v in value)
    if op == "$allMatch":
        return isinstance(value, list) and len(value) > 0 and all(match(arg, v) for v in value)
    if op == "$keyMapMatch":
        return isinstance(value, Mapping) and any(match(arg, k) for k in value)
    raise BadRequest(f"invalid operator {op}", reason="invalid_operator")


# -- sort and index coverage ----------------------------------------------------------------------------
def parse_sort(sort: Sequence[Mapping[str, str] | str] | None) -> tuple[list[str], bool]:
    """``[{"date": "desc"}, "vendor"]`` → (``["date", "vendor"]``, descending). CouchDB refuses mixed
    directions (``unsupported_mixed_sort``), and so does this."""
    if not sort:
        return [], False
    fields: list[str] = []
    directions: set[str] = set()
    for item in sort:
        if isinstance(item, str):
            fields.append(item)
            directions.add("asc")
        elif isinstance(item, Mapping) and len(item) == 1:
            ((name, direction),) = item.items()
            if direction not in ("asc", "desc"):
                raise BadRequest(
                    f"sort direction of {name!r} must be 'asc' or 'desc', got {direction!r}", reason="invalid_sort"
                )
            fields.append(name)
            directions.add(direction)
        else:
            raise BadRequest(f"invalid sort item {item!r}", reason="invalid_sort")
    if len(directions) > 1:
        raise BadRequest("sort directions must all be the same", reason="unsupported_mixed_sort")
    for name in fields:
        parse_field(name)
    return fields, directions == {"desc"}


def required_fields(selector: Selector) -> set[str]:
    """Fields every matching document must have (CouchDB's ``has_required_fields``): the fields of the
    top-level ``$and`` conditions, plus those required by every branch of an ``$or``; ``$exists: false``
    requires nothing. An index is usable only when all its fields are in this set."""
    if not selector:
        return set()
    ((op, arg),) = selector.items()
    if op == "$and":
        out: set[str] = set()
        for sub in arg:
            out |= required_fields(sub)
        return out
    if op == "$or":
        branches = [required_fields(sub) for sub in arg]
        return set.intersection(*branches) if branches else set()
    if op.startswith("$"):
        return set()
    return set() if arg == {"$exists": False} else {op}
