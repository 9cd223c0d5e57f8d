"""The part of a Mango selector SQLite can evaluate, so ``find`` reads only candidate rows.

Documents are stored as JSON text in a ``body`` column; an index on field ``a.b`` is a SQLite
expression index on ``json_extract(body, '$.a.b')`` (:func:`field_expr`). For SQLite to use it, the
query must contain that *same* expression, so both are built here.

**The rule that keeps this correct: every SQL predicate is a superset of its Mango condition.** SQL
narrows the candidates; the full selector is then evaluated in Python (:mod:`.mango`) on each candidate,
so a too-wide SQL filter only costs time, never correctness, and a query returns the same documents
whether or not an index exists. Only the conjuncts of a top-level ``$and`` are pushed (an ``$or`` is left
to Python). What ``json_extract`` returns decides each translation: ``null`` and a missing field → SQL
``NULL``; ``false``/``true`` → ``0``/``1``; numbers → numbers; strings → text; arrays and objects →
their JSON text (``'[...]'``, ``'{...}'``). SQLite orders ``NULL < numbers < text`` and compares text
bytewise — code-point order, the string order :mod:`.mango` uses — so:

=====================  ==================================================================================
``$eq`` scalar         ``E = v`` (``E IS NULL`` for null; booleans as 0/1 also let numbers 0/1 through)
``$in`` scalars        ``E IN (...)``, plus ``E IS NULL`` for a null, plus the JSON-text range of arrays
                       (an array field matches ``$in`` when one element does; Python decides)
``$gt``/``$gte`` num   ``E > n`` (text — strings, arrays, objects — sorts above numbers in both worlds)
``$gt``/``$gte`` str   ``E > s``, plus the text ranges of arrays (``[``) and objects (``{``)
``$lt``/``$lte`` num   ``E < n``, plus ``E IS NULL`` and ``E IN (0, 1)`` (null and booleans sort first)
``$lt``/``$lte`` str   ``E < s`` or ``E IS NULL`` (numbers and booleans are below any text already)
``$gt``/``$gte`` null  ``E IS NOT NULL`` for ``$gt`` (anything but null); nothing for ``$gte``
or boolean
``$exists``            ``json_type(body, path) IS [NOT] NULL`` (``json_type`` tells null from missing)
``_id``                the ``id`` column, for string arguments
=====================  ==================================================================================

Anything else (``$ne``, ``$regex``, arrays or objects as arguments, numeric path segments that may index
an array, keys SQLite's JSON paths cannot spell) stays in Python.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from browserkonnector.store._mango import Selector, parse_field

__all__ = ["Pushed", "conjuncts", "field_expr", "json_path", "literal", "push_down"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
#: JSON texts of arrays start with '[' (0x5B), objects with '{' (0x7B): the next code points close them.
_ARRAY_RANGE = "{e} >= '[' AND {e} < '\\'"
_OBJECT_RANGE = "{e} >= '{{' AND {e} < '|'"


@dataclass
class Pushed:
    """What SQL can check. Each term is a list of *alternatives* ``(sql, params)``, OR-ed; the terms are
    AND-ed. A term with several alternatives is not written ``(a OR b)``: SQLite then gives up the index
    and scans (measured: 650 ms instead of 10 ms on 100,000 documents). :meth:`where` writes it
    ``id IN (SELECT id ... a UNION ALL SELECT id ... b)``, where each branch uses the index."""

    terms: list[list[tuple[str, list[Any]]]] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)

    def where(self, table: str, extra: Sequence[str] = ()) -> tuple[str, list[Any]]:
        """``WHERE`` body and parameters; ``extra`` terms (a partial index's filter) go into the main
        query and into each ``UNION`` branch, so the partial index can serve every branch."""
        sql: list[str] = ["deleted = 0", *extra]
        params: list[Any] = []
        for alternatives in self.terms:
            if len(alternatives) == 1:
                sql.append(alternatives[0][0])
                params += alternatives[0][1]
                continue
            branches = []
            for alt_sql, alt_params in alternatives:
                head = " AND ".join(["deleted = 0", *extra, alt_sql])
                branches.append(f'SELECT id FROM "{table}" WHERE {head}')
                params += alt_params
            sql.append("id IN (" + " UNION ALL ".join(branches) + ")")
        return " AND ".join(sql), params

    def inline(self) -> str:
        """The terms as one literal expression (for an index's ``WHERE``; no parameters there)."""
        return (
            " AND ".join(
                "(" + " OR ".join(a for a, _ in alts) + ")" if len(alts) > 1 else alts[0][0] for alts in self.terms
            )
            or "1"
        )


def json_path(name: str) -> str | None:
    """SQLite's JSON path for a Mango field name, or ``None`` when it cannot be spelt exactly."""
    parts = []
    for part in parse_field(name):
        if part.isdigit() or '"' in part:
            return None  # may index an array (CouchDB) / unquotable in SQLite's path syntax
        parts.append(part if _IDENT.fullmatch(part) else f'"{part}"')
    return "$." + ".".join(parts)


def field_expr(name: str) -> str | None:
    """The SQL expression of a field, identical in index definitions and in queries."""
    if name == "_id":
        return "id"
    path = json_path(name)
    if path is None:
        return None
    return "json_extract(body, " + literal(path) + ")"


def literal(value: Any) -> str:
    """A SQL literal for a scalar (partial-index ``WHERE`` clauses cannot hold parameters)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("NUL in a SQL literal")
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def conjuncts(selector: Selector) -> list[Selector]:
    """The terms of the top-level (possibly nested) ``$and`` of a normalized selector."""
    if not selector:
        return []
    ((op, arg),) = selector.items()
    if op == "$and":
        out: list[Selector] = []
        for sub in arg:
            out += conjuncts(sub)
        return out
    return [selector]


def push_down(selector: Selector, *, inline: bool = False) -> Pushed:
    """Translate what can be translated of a normalized selector. With ``inline``, values are written as
    literals instead of ``?`` parameters (for a partial index's ``WHERE``)."""
    pushed = Pushed()
    for term in conjuncts(selector):
        ((name, cond),) = term.items()
        if name.startswith("$") or name == "":
            continue
        ((op, arg),) = cond.items()
        alternatives = _translate(name, op, arg, inline)
        if alternatives:
            pushed.terms.append(alternatives)
            pushed.fields.add(name)
    return pushed


def _inline(sql: str, values: Sequence[Any]) -> str:
    """Replace the ``?`` placeholders outside quoted strings by literals."""
    out, queue, quoted = [], list(values), False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        if ch == "?" and not quoted:
            out.append(literal(queue.pop(0)))
        else:
            out.append(ch)
    return "".join(out)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


Alternatives = list[tuple[str, list[Any]]]


def _translate(name: str, op: str, arg: Any, inline: bool) -> Alternatives | None:
    """The SQL alternatives (OR-ed) of one ``{field: {op: arg}}`` condition, or ``None``."""
    expr = field_expr(name)
    if expr is None:
        return None

    def one(sql: str, *values: Any) -> tuple[str, list[Any]]:
        return (_inline(sql, values), []) if inline else (sql, list(values))

    if op == "$exists":
        if name == "_id":
            return None
        path = json_path(name)
        return [one(f"json_type(body, {literal(path)}) IS {'NOT ' if arg else ''}NULL")]
    if name == "_id":
        return _translate_id(op, arg, one)
    if op == "$eq" and _is_scalar(arg):
        return [one(f"{expr} IS NULL")] if arg is None else [one(f"{expr} = ?", arg)]
    if op == "$in" and all(_is_scalar(v) for v in arg):
        if inline and len(arg) > 100:
            return None
        values = [v for v in arg if v is not None]
        out = [one(_ARRAY_RANGE.format(e=expr))]
        if values:
            out.insert(0, one(f"{expr} IN ({', '.join('?' * len(values))})", *values))
        if len(values) < len(arg):
            out.append(one(f"{expr} IS NULL"))
        return out
    sql_op = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}.get(op)
    if sql_op is None:
        return None
    is_num = isinstance(arg, int | float) and not isinstance(arg, bool)
    if op in ("$gt", "$gte"):
        if is_num:
            return [one(f"{expr} {sql_op} ?", arg)]
        if isinstance(arg, str):
            return [one(f"{expr} {sql_op} ?", arg), one(_ARRAY_RANGE.format(e=expr)), one(_OBJECT_RANGE.format(e=expr))]
        if arg is None or isinstance(arg, bool):
            return [one(f"{expr} IS NOT NULL")] if op == "$gt" or arg is not None else None
        return None
    if is_num:
        return [one(f"{expr} {sql_op} ?", arg), one(f"{expr} IS NULL"), one(f"{expr} IN (0, 1)")]
    if isinstance(arg, str):
        return [one(f"{expr} {sql_op} ?", arg), one(f"{expr} IS NULL")]
    return None


def _translate_id(op: str, arg: Any, one: Any) -> Alternatives | None:
    """``_id`` is always a string: string arguments compare directly, others are left to Python."""
    if op == "$eq" and isinstance(arg, str):
        return [one("id = ?", arg)]
    if op == "$in" and all(isinstance(v, str) for v in arg):
        return [one(f"id IN ({', '.join('?' * len(arg))})", *arg)] if arg else [one("0")]
    sql_op = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}.get(op)
    if sql_op and isinstance(arg, str):
        return [one(f"id {sql_op} ?", arg)]
    return None


def index_fields_sql(fields: Sequence[str]) -> list[str] | None:
    """The expressions of an index on ``fields``, or ``None`` if one cannot be expressed."""
    exprs = [field_expr(f) for f in fields]
    if any(e is None for e in exprs):
        return None
    return [e for e in exprs if e is not None]
