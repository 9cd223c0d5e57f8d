"""Ports of linker/billsToOperation/{helpers,operationsFilters,findNeighboringOperations}.spec.js."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from browserkonnector.save._linker.filters import (
    filter_by_amounts,
    filter_by_category,
    filter_by_dates,
    filter_by_identifiers,
    filter_by_reimbursements,
    find_neighboring_operations,
    operations_filters,
)
from browserkonnector.save._linker.helpers import (
    LinkOptions,
    amount_range,
    date_range,
    operation_amount,
    operation_date,
    sorted_operations,
    total_reimbursements,
)


def d(year: int, month: int, day: int) -> str:
    """JS ``new Date(y, m, d)`` with the JS 0-based month, as an ISO string (UTC)."""
    return dt.datetime(year, month + 1, day, tzinfo=dt.UTC).isoformat()


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


# -- helpers.spec.js -----------------------------------------------------------------------------------
CREDIT = LinkOptions(credit=True)


def test_get_operation_amount_from_bill() -> None:
    """helpers.spec 'getOperationAmountFromBill': debit and credit amounts."""
    bill1, bill2 = {"amount": 7.5, "originalAmount": 25}, {"amount": 7.5}
    assert operation_amount(bill1) == -25
    assert operation_amount(bill2) == -7.5
    assert operation_amount(bill1, CREDIT) == 7.5


def test_get_operation_date_from_bill() -> None:
    """helpers.spec 'getOperationDateFromBill': originalDate for debits, date for credits."""
    bill1, bill2 = {"date": "2018-01-08", "originalDate": "2018-01-03"}, {"date": "2018-01-08"}
    assert operation_date(bill1) == utc("2018-01-03")
    assert operation_date(bill2) == utc("2018-01-08")
    assert operation_date(bill1, CREDIT) == utc("2018-01-08")


def test_get_date_range_from_bill() -> None:
    """helpers.spec 'getDateRangeFromBill' (pastWindow = futureWindow = 1)."""
    bill = {"date": "2018-01-08", "originalDate": "2018-01-03"}
    options = LinkOptions(past_window=1, future_window=1)
    assert date_range(bill, options) == (utc("2018-01-02"), utc("2018-01-04"))
    assert date_range(bill, options.as_credit()) == (utc("2018-01-07"), utc("2018-01-09"))


@pytest.mark.parametrize(
    ("bill", "credit", "expected"),
    [
        ({"amount": 7.5}, False, (-8.5, -6.5)),
        ({"amount": 7.5, "originalAmount": 25}, False, (-26, -24)),
        ({"amount": 7.5}, True, (6.5, 8.5)),
        ({"amount": 7.5, "originalAmount": 25}, True, (6.5, 8.5)),
    ],
)
def test_get_amount_range_from_bill(bill: dict[str, Any], credit: bool, expected: tuple[float, float]) -> None:
    """helpers.spec 'getAmountRangeFromBill' (deltas 1)."""
    options = LinkOptions(min_amount_delta=1, max_amount_delta=1, credit=credit)
    assert amount_range(bill, options) == expected


def test_get_total_reimbursements() -> None:
    """helpers.spec 'getTotalReimbursements'."""
    assert total_reimbursements({}) == 0
    assert total_reimbursements({"reimbursements": [{"amount": 3}, {"amount": 2}]}) == 5


BILL = {"date": d(2017, 0, 17), "amount": 10}


@pytest.mark.parametrize(
    ("operations", "best"),
    [
        (
            [
                {"id": 1, "date": d(2017, 0, 16), "amount": -10},
                {"id": 3, "date": d(2017, 0, 17), "amount": -10},
                {"id": 2, "date": d(2017, 0, 17), "amount": -11},
            ],
            1,
        ),
        (
            [
                {"id": 1, "date": d(2017, 0, 17), "amount": -8},
                {"id": 2, "date": d(2017, 0, 17), "amount": -9},
                {"id": 3, "date": d(2017, 0, 17), "amount": -12},
            ],
            1,
        ),
        (
            [
                {"id": 1, "date": d(2017, 0, 15), "amount": -10},
                {"id": 2, "date": d(2017, 0, 18), "amount": -10},
                {"id": 3, "date": d(2017, 0, 19), "amount": -10},
            ],
            1,
        ),
        (
            [
                {"id": 1, "date": d(2017, 0, 16), "amount": -12},
                {"id": 2, "date": d(2017, 0, 18), "amount": -11},
                {"id": 3, "date": d(2017, 0, 19), "amount": -13},
            ],
            1,
        ),
    ],
    ids=["same date and amount", "same date: amount decides", "same amount: date decides", "both differ"],
)
def test_sorted_operations(operations: list[dict[str, Any]], best: int) -> None:
    """helpers.spec 'sortedOperations': 0.7 × days + 0.3 × amount."""
    assert sorted_operations(BILL, operations)[0] == operations[best]


# -- operationsFilters.spec.js -------------------------------------------------------------------------
def test_filtering_by_identifiers() -> None:
    check = filter_by_identifiers(["tRaInLiNe"])
    assert check({"label": "Trainline !!!"})
    assert check({"label": "Yes Trainline"})
    assert not check({"label": "CapitainTrain"})


def test_filtering_by_date_period() -> None:
    check = filter_by_dates(utc(d(2018, 0, 16)), utc(d(2018, 0, 18)))
    assert [check({"date": d(2018, 0, day)}) for day in (15, 16, 17, 18, 19)] == [False, True, True, True, False]


def test_filtering_by_amount_range() -> None:
    check = filter_by_amounts(16, 18)
    assert [check({"amount": a}) for a in (15, 16, 17, 18, 19)] == [False, True, True, True, False]


HEALTH_EXPENSE, HEALTH_INSURANCE = "400610", "400620"


def test_health_vendor_only_matches_health_categories() -> None:
    check = filter_by_category({"vendor": "Ameli"})
    assert check({"manualCategoryId": HEALTH_EXPENSE})
    assert check({"automaticCategoryId": HEALTH_EXPENSE})
    assert not check({"manualCategoryId": "0"})
    assert not check({"automaticCategoryId": "0"})
    assert not check({"manualCategoryId": "400611"})
    assert not check({"automaticCategoryId": "400611"})


def test_uncategorized_only_if_allowed() -> None:
    check = filter_by_category({"vendor": "Ameli"}, LinkOptions(allow_uncategorized=True))
    assert check({"manualCategoryId": "0"})
    assert check({"automaticCategoryId": "0"})
    assert check({})


def test_debits_against_health_expense_credits_against_both() -> None:
    check = filter_by_category({"vendor": "Ameli"})
    assert not check({"manualCategoryId": HEALTH_INSURANCE, "amount": -10})
    assert check({"manualCategoryId": HEALTH_EXPENSE, "amount": -10})
    assert check({"manualCategoryId": HEALTH_INSURANCE, "amount": 10})
    assert check({"manualCategoryId": HEALTH_EXPENSE, "amount": 10})


def test_not_health_bill() -> None:
    check = filter_by_category({"vendor": "SFR"})
    assert not check({"manualCategoryId": HEALTH_EXPENSE})
    assert not check({"automaticCategoryId": HEALTH_EXPENSE})
    assert all(
        check(op)
        for op in (
            {"manualCategoryId": "0"},
            {"automaticCategoryId": "0"},
            {},
            {"manualCategoryId": "400611"},
            {"automaticCategoryId": "400611"},
        )
    )


def test_filter_by_reimbursements() -> None:
    check = filter_by_reimbursements({"amount": 10})
    assert check({"reimbursements": [{"amount": 10}], "amount": -10}) is False
    assert check({"reimbursements": [{"amount": 7}, {"amount": 3}], "amount": -10}) is False
    assert check({"reimbursements": [{"amount": 7}, {"amount": 3}], "amount": -20}) is True


OPERATIONS: list[dict[str, Any]] = [
    {
        "amount": -20,
        "label": "Visite chez le médecin",
        "_id": "o1",
        "date": d(2017, 11, 13),
        "automaticCategoryId": "400610",
    },
    {"amount": 5, "label": "Remboursement CPAM", "_id": "o2", "date": d(2017, 11, 15), "automaticCategoryId": "400610"},
    {"amount": -120, "label": "Facture SFR", "_id": "o3", "date": d(2017, 11, 8)},
    {"amount": -30, "label": "Facture SFR", "_id": "o4", "date": d(2017, 11, 7)},
    {"amount": -80, "label": "Matériel d'escalade", "_id": "o5", "date": d(2017, 11, 7)},
    {"amount": -5.5, "label": "Burrito", "_id": "o6", "date": d(2017, 11, 5)},
    {"amount": -2.6, "label": "Salade", "_id": "o7", "date": d(2017, 11, 6)},
    {
        "amount": 50,
        "label": "Remboursement CPAM",
        "_id": "o8",
        "date": d(2017, 11, 15),
        "automaticCategoryId": "400610",
        "reimbursements": [{"amount": 50}],
    },
    {
        "amount": -50,
        "label": "Visite chez le dentiste",
        "_id": "o9",
        "automaticCategoryId": "400610",
        "date": d(2017, 11, 16),
        "reimbursements": [],
    },
    {
        "amount": -7.5,
        "label": "Dafalgan",
        "_id": "o10",
        "automaticCategoryId": "400610",
        "date": d(2017, 11, 16),
        "reimbursements": [],
    },
    {
        "amount": 57.5,
        "label": "Remboursement CPAM",
        "_id": "o11",
        "automaticCategoryId": "400610",
        "date": d(2017, 11, 16),
        "reimbursements": [],
    },
]
DEFAULTS = {"min_amount_delta": 1, "max_amount_delta": 1, "past_window": 1, "future_window": 1}
HEALTH_BILL = {
    "amount": 5,
    "originalAmount": 20,
    "type": "health_costs",
    "originalDate": d(2017, 11, 13),
    "date": d(2017, 11, 15),
    "isRefund": True,
    "vendor": "Ameli",
}
SFR_BILL = {"amount": 30, "date": d(2017, 11, 8), "vendor": "SFR"}
GROUP_BILL = {
    "amount": 50,
    "groupAmount": 57.5,
    "date": d(2017, 11, 16),
    "vendor": "Ameli",
    "type": "health_costs",
    "isRefund": True,
}


@pytest.mark.parametrize(
    ("bill", "identifier", "credit", "expected"),
    [
        (HEALTH_BILL, "CPAM", False, ["o1"]),
        (HEALTH_BILL, "CPAM", True, ["o2"]),
        (SFR_BILL, "SFR", False, ["o4"]),
        (SFR_BILL, "SFR", True, []),
        (GROUP_BILL, "CPAM", False, ["o9"]),
        (GROUP_BILL, "CPAM", True, ["o11"]),
    ],
    ids=[
        "health debit",
        "health credit",
        "not health debit",
        "not health credit",
        "group amount debit",
        "group amount credit",
    ],
)
def test_operations_filters(bill: dict[str, Any], identifier: str, credit: bool, expected: list[str]) -> None:
    """operationsFilters.spec 'operationsFilters' (health bill, not health bill, group amount)."""
    options = LinkOptions(identifiers=(identifier.lower(),), credit=credit, **DEFAULTS)  # type: ignore[arg-type]
    assert [op["_id"] for op in operations_filters(bill, OPERATIONS, options)] == expected


def test_find_neighboring_operations_is_strict() -> None:
    """findNeighboringOperations.spec 'findByMangoQuerySimple': $gt/$lt are strict bounds."""
    operations = [{"amount": a, "date": d(2018, 0, 10)} for a in (5, 6, 7, 8, 9, 10)]
    bill = {"amount": -8, "date": d(2018, 0, 10)}
    wide = LinkOptions(min_amount_delta=1, max_amount_delta=3)
    assert [op["amount"] for op in find_neighboring_operations(bill, operations, wide)] == [8, 9, 10]
    exact = LinkOptions(min_amount_delta=1, max_amount_delta=1)
    assert [op["amount"] for op in find_neighboring_operations(bill, operations, exact)] == [8]
