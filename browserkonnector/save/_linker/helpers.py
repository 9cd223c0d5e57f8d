"""What a bill is expected to look like on the bank account (port of ``billsToOperation/helpers.js``).

A bill is matched against a **debit** (what was paid: ``-(originalAmount or amount)`` on
``originalDate or date``) and, for a refund, a **credit** (what came back: ``groupAmount or amount``
on ``date``). Windows are ``past_window`` days before and ``future_window`` days after that date;
amounts are allowed ``min_amount_delta`` below and ``max_amount_delta`` above.

Ranking (``sortedOperations``): ``0.7 × |Δ days| + 0.3 × |Δ amount|``, smallest first, stable.
Deliberate fix: the JS ranking always used the *debit* date and amount, even when ranking credit
candidates; credits are ranked against the credit target here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from browserkonnector.save._util import parse_datetime

__all__ = [
    "LinkOptions",
    "amount_range",
    "bill_date",
    "date_range",
    "operation_amount",
    "operation_date",
    "sorted_operations",
    "total_reimbursements",
]

DATE_WEIGHT = 0.7
AMOUNT_WEIGHT = 1 - DATE_WEIGHT


@dataclass(frozen=True)
class LinkOptions:
    """The matching options (JS ``getOptions``); ``credit`` selects the credit search."""

    identifiers: tuple[str, ...] = ()
    min_amount_delta: float = 0.001
    max_amount_delta: float = 0.001
    past_window: float = 15
    future_window: float = 29
    allow_uncategorized: bool = False
    credit: bool = False

    def as_credit(self) -> LinkOptions:
        return LinkOptions(
            self.identifiers,
            self.min_amount_delta,
            self.max_amount_delta,
            self.past_window,
            self.future_window,
            self.allow_uncategorized,
            credit=True,
        )


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def operation_amount(bill: Mapping[str, Any], options: LinkOptions | None = None) -> float:
    """JS ``getOperationAmountFromBill`` (``||`` semantics: a 0 falls through to the next value)."""
    if options is not None and options.credit:
        return _num(bill.get("groupAmount") or bill.get("amount"))
    return -_num(bill.get("originalAmount") or bill.get("amount"))


def operation_date(bill: Mapping[str, Any], options: LinkOptions | None = None) -> dt.datetime | None:
    """JS ``getOperationDateFromBill``."""
    if options is not None and options.credit:
        return parse_datetime(bill.get("date"))
    return parse_datetime(bill.get("originalDate") or bill.get("date"))


def bill_date(bill: Mapping[str, Any]) -> dt.datetime | None:
    """JS ``getBillDate``: ``originalDate or date`` (used to group bills for combinations)."""
    return parse_datetime(bill.get("originalDate") or bill.get("date"))


def date_range(bill: Mapping[str, Any], options: LinkOptions) -> tuple[dt.datetime, dt.datetime] | None:
    """JS ``getDateRangeFromBill``: ``(date - past_window days, date + future_window days)``."""
    date = operation_date(bill, options)
    if date is None:
        return None
    return date - dt.timedelta(days=options.past_window), date + dt.timedelta(days=options.future_window)


def amount_range(bill: Mapping[str, Any], options: LinkOptions) -> tuple[float, float]:
    """JS ``getAmountRangeFromBill``."""
    amount = operation_amount(bill, options)
    return amount - options.min_amount_delta, amount + options.max_amount_delta


def total_reimbursements(operation: Mapping[str, Any]) -> float:
    """JS ``getTotalReimbursements`` (lodash ``sumBy``: entries without a number count 0)."""
    return sum(_num(r.get("amount")) for r in operation.get("reimbursements") or [] if isinstance(r, Mapping))


def full_days_between(a: dt.datetime, b: dt.datetime) -> int:
    """date-fns ``differenceInDays``: whole days, truncated towards zero."""
    seconds = (a - b).total_seconds()
    days = int(abs(seconds) // 86400)
    return days if seconds >= 0 else -days


def sorted_operations(
    bill: Mapping[str, Any], operations: Sequence[Mapping[str, Any]], options: LinkOptions | None = None
) -> list[Mapping[str, Any]]:
    """JS ``sortedOperations``: candidates closest to the bill first (stable sort)."""
    target_date = operation_date(bill, options)
    target_amount = operation_amount(bill, options)

    def score(operation: Mapping[str, Any]) -> float:
        op_date = parse_datetime(operation.get("date"))
        days = abs(full_days_between(target_date, op_date)) if target_date and op_date else 0
        return DATE_WEIGHT * days + AMOUNT_WEIGHT * abs(target_amount - _num(operation.get("amount")))

    return sorted(operations, key=score)
