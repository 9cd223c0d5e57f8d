"""Which bank operations may be a bill's (port of ``operationsFilters.js`` and ``findNeighboringOperations``).

:func:`find_neighboring_operations` is the query step: dates and amounts **strictly** inside the
bill's windows (the JS Mango query used ``$gt``/``$lt``). :func:`operations_filters` is the JS filter
chain on the candidates: inclusive dates and amounts, the category (a health bill only matches a health
operation, another bill never does; ``allow_uncategorized`` also accepts uncategorized ones), the
reimbursements (for debits: what was already reimbursed plus this bill must not exceed the operation),
and the identifiers (the label must contain one, for credit searches and for non-health bills).
:func:`find_operation` chains them and takes the best ranked candidate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from browserkonnector.save._linker.helpers import (
    LinkOptions,
    amount_range,
    date_range,
    sorted_operations,
    total_reimbursements,
)
from browserkonnector.save._util import parse_datetime

__all__ = [
    "HEALTH_VENDORS",
    "filter_by_amounts",
    "filter_by_category",
    "filter_by_dates",
    "filter_by_identifiers",
    "filter_by_reimbursements",
    "find_neighboring_operations",
    "find_operation",
    "is_health_bill",
    "operations_filters",
]

Operation = Mapping[str, Any]
Filter = Callable[[Operation], bool]

#: konnector-libs 5.13's list of health insurance vendors.
HEALTH_VENDORS = (
    "Ameli",
    "Harmonie",
    "Malakoff Mederic",
    "MGEN",
    "Generali",
    "ascoreSante",
    "EoviMCD",
    "Humanis",
    "Alan",
    "lamutuellegenerale",
)
HEALTH_EXPENSE_CAT = "400610"
HEALTH_INSURANCE_CAT = "400620"
UNCATEGORIZED_CAT = "0"


def _category(operation: Operation) -> str:
    return str(operation.get("manualCategoryId") or operation.get("automaticCategoryId") or UNCATEGORIZED_CAT)


def _amount(operation: Operation) -> float:
    value = operation.get("amount")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def is_health_operation(operation: Operation) -> bool:
    category = _category(operation)
    if _amount(operation) < 0:
        return category == HEALTH_EXPENSE_CAT
    return category in (HEALTH_EXPENSE_CAT, HEALTH_INSURANCE_CAT)


def is_health_bill(bill: Mapping[str, Any]) -> bool:
    return bill.get("vendor") in HEALTH_VENDORS


def filter_by_identifiers(identifiers: Sequence[str]) -> Filter:
    lowered = [i.lower() for i in identifiers]

    def check(operation: Operation) -> bool:
        label = str(operation.get("label") or "").lower()
        return any(identifier in label for identifier in lowered)

    return check


def filter_by_dates(min_date: dt.datetime, max_date: dt.datetime) -> Filter:
    """Inclusive, as date-fns ``isWithinRange``."""

    def check(operation: Operation) -> bool:
        date = parse_datetime(operation.get("date"))
        return date is not None and min_date <= date <= max_date

    return check


def filter_by_amounts(min_amount: float, max_amount: float) -> Filter:
    return lambda operation: min_amount <= _amount(operation) <= max_amount


def filter_by_category(bill: Mapping[str, Any], options: LinkOptions | None = None) -> Filter:
    health = is_health_bill(bill)
    allow_uncategorized = bool(options and options.allow_uncategorized)

    def check(operation: Operation) -> bool:
        if allow_uncategorized and _category(operation) == UNCATEGORIZED_CAT:
            return True
        return is_health_operation(operation) if health else not is_health_operation(operation)

    return check


def filter_by_reimbursements(bill: Mapping[str, Any]) -> Filter:
    """What was already reimbursed on the operation plus this bill must fit in it."""
    bill_amount = _amount(bill)
    return lambda operation: total_reimbursements(operation) + bill_amount <= -_amount(operation)


def operations_filters(
    bill: Mapping[str, Any], operations: Sequence[Operation], options: LinkOptions
) -> list[Operation]:
    """JS ``operationsFilters``: the candidates passing every condition, in their original order."""
    window = date_range(bill, options)
    if window is None:
        return []
    conditions = [
        filter_by_dates(*window),
        filter_by_amounts(*amount_range(bill, options)),
        filter_by_category(bill, options),
    ]
    if not options.credit:
        conditions.append(filter_by_reimbursements(bill))
    if options.credit or not is_health_bill(bill):
        conditions.append(filter_by_identifiers(options.identifiers))
    return [op for op in operations if all(condition(op) for condition in conditions)]


def find_neighboring_operations(
    bill: Mapping[str, Any], operations: Sequence[Operation], options: LinkOptions
) -> list[Operation]:
    """The JS Mango step: date and amount strictly inside the bill's windows."""
    window = date_range(bill, options)
    if window is None:
        return []
    low_date, high_date = window
    low_amount, high_amount = amount_range(bill, options)
    found = []
    for operation in operations:
        date = parse_datetime(operation.get("date"))
        if date is not None and low_date < date < high_date and low_amount < _amount(operation) < high_amount:
            found.append(operation)
    return found


def find_operation(bill: Mapping[str, Any], operations: Sequence[Operation], options: LinkOptions) -> Operation | None:
    """JS ``findOperation``: the best debit (or, with ``options.credit``, credit) operation, if any."""
    if options.credit and not bill.get("isRefund"):
        return None
    candidates = operations_filters(bill, find_neighboring_operations(bill, operations, options), options)
    ranked = sorted_operations(bill, candidates, options)
    return ranked[0] if ranked else None
