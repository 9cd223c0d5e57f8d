"""Ports of linkBankOperations.spec.js: the Linker's primitives, the linkBillsToOperations table (in memory
and through a real LocalStore), 'should not link twice' and the combinations."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from save_tables import DEFAULT_OPTIONS, LINK_CASES, OPERATIONS_INIT, parse_table

from browserkonnector.save import link_bank_operations
from browserkonnector.save._linker import Linker, LinkOptions
from browserkonnector.save._linker.api import OPERATIONS_DOCTYPE, operation_windows
from browserkonnector.save._linker.core import BillLink

BILL = {"amount": 110, "_id": "b1"}


def linker() -> Linker:
    return Linker(LinkOptions(identifiers=("cpam",)))


# -- removeBillsFromOperations ---------------------------------------------------------------------------
def test_remove_operations_without_bills_and_no_bills() -> None:
    lk = linker()
    lk.remove_bills_from_operations([], [{"_id": 1}, {"_id": 2}])
    assert lk.changed == {}


def test_remove_operations_without_bills_and_bills() -> None:
    lk = linker()
    lk.remove_bills_from_operations([BILL], [{"_id": 1}, {"_id": 2}])
    assert lk.changed == {}


@pytest.mark.parametrize(
    ("bills", "op_bills", "expected"),
    [
        ([BILL], ["io.cozy.bills:b1"], []),
        (
            [BILL],
            ["io.cozy.bills:b1", "io.cozy.bills:b2", "io.cozy.bills:b3"],
            ["io.cozy.bills:b2", "io.cozy.bills:b3"],
        ),
        ([{**BILL, "original": "b2"}], ["io.cozy.bills:b1"], ["io.cozy.bills:b2"]),
        (
            [{**BILL, "original": "b2"}, {"amount": 110, "_id": "a1", "original": "a2"}],
            ["io.cozy.bills:b1", "io.cozy.bills:a1"],
            ["io.cozy.bills:b2", "io.cozy.bills:a2"],
        ),
        (
            [{**BILL, "original": "b2"}, {"amount": 110, "_id": "a1", "original": "a2"}],
            ["io.cozy.bills:b1", "io.cozy.bills:b2"],
            ["io.cozy.bills:b2"],
        ),
    ],
    ids=["matching bill", "remaining bills", "bill with original", "2 bills with original", "original already present"],
)
def test_remove_bills_from_operations(bills: list[dict[str, Any]], op_bills: list[str], expected: list[str]) -> None:
    lk = linker()
    operation = {"_id": 1, "bills": op_bills}
    lk.remove_bills_from_operations(bills, [operation, {"_id": 2}])
    assert operation["bills"] == expected
    assert list(lk.changed) == ["1"]


def test_remove_bill_id_accross_multiple_operations() -> None:
    lk = linker()
    ops: list[dict[str, Any]] = [
        {"_id": 1, "bills": ["io.cozy.bills:b1", "io.cozy.bills:b2", "io.cozy.bills:b3"]},
        {"_id": 2, "bills": ["io.cozy.bills:b3", "io.cozy.bills:b2", "io.cozy.bills:b1"]},
    ]
    lk.remove_bills_from_operations([{"amount": 110, "_id": "b1"}, {"amount": 11, "_id": "b10"}], ops)
    assert ops[0]["bills"] == ["io.cozy.bills:b2", "io.cozy.bills:b3"]
    assert ops[1]["bills"] == ["io.cozy.bills:b3", "io.cozy.bills:b2"]


# -- addBillToOperation / addReimbursementToOperation -----------------------------------------------------
def test_add_bill_to_operation() -> None:
    lk = linker()
    op1: dict[str, Any] = {"_id": 123456}
    assert lk.add_bill_to_operation(BILL, op1)
    assert op1["bills"] == ["io.cozy.bills:b1"]
    op2: dict[str, Any] = {"_id": 12345, "bills": ["bill1"]}
    assert lk.add_bill_to_operation(BILL, op2)
    assert op2["bills"] == ["bill1", "io.cozy.bills:b1"]
    op3: dict[str, Any] = {"_id": 3, "bills": ["io.cozy.bills:b1"]}
    assert not lk.add_bill_to_operation(BILL, op3)
    assert set(lk.changed) == {"123456", "12345"}
    assert not lk.add_bill_to_operation({"amount": 1}, {"_id": 4}), "a bill without _id is never added"


def test_add_reimbursement_to_operation() -> None:
    lk = linker()
    op1: dict[str, Any] = {"_id": 123456}
    lk.add_reimbursement_to_operation(BILL, op1, op1)
    assert op1["reimbursements"] == [{"amount": 110, "billId": "io.cozy.bills:b1", "operationId": 123456}]
    op2: dict[str, Any] = {"_id": 123456, "reimbursements": ["test"]}
    lk.add_reimbursement_to_operation(BILL, op2, op2)
    assert op2["reimbursements"] == ["test", {"amount": 110, "billId": "io.cozy.bills:b1", "operationId": 123456}]
    op3 = {"_id": 1, "reimbursements": [{"amount": 110, "billId": "io.cozy.bills:b1", "operationId": 123456}]}
    assert not lk.add_reimbursement_to_operation(BILL, op3, op3)


# -- linkBillsToOperations (the table) -------------------------------------------------------------------
def _operations(case: dict[str, Any]) -> list[dict[str, Any]]:
    operations = parse_table(OPERATIONS_INIT, OPERATIONS_DOCTYPE)
    if "db_operations" in case:  # the JS pushed them after the defaults; a redefined id replaces the default
        extra = parse_table(case["db_operations"], OPERATIONS_DOCTYPE)
        ids = {op["_id"] for op in extra}
        operations = [op for op in operations if op["_id"] not in ids] + extra
    return operations


def _options(case: dict[str, Any]) -> dict[str, Any]:
    return {**DEFAULT_OPTIONS, **case.get("options", {})}


def _check(case: dict[str, Any], links: dict[str, BillLink], by_id: dict[str, dict[str, Any]]) -> None:
    """The JS parseResultLines + expectPropertyMatch: ``any``, ``undefined`` or an operation id."""
    for line in case.get("result", []):
        bill_id, attr, expected = (x.strip() for x in line.split("|"))
        value = {
            "bill": links[bill_id].bill,
            "debitOperation": links[bill_id].debit_operation,
            "creditOperation": links[bill_id].credit_operation,
        }[attr]
        if expected == "any":
            assert value is not None, line
        elif expected == "undefined":
            assert value is None, line
        else:
            assert value is not None, line
            assert value["_id"] == expected, line
    for op_id, attrs in case.get("operations", {}).items():
        for attr, expected in attrs.items():
            if expected is None:
                assert attr not in by_id[op_id], f"{op_id}.{attr}"
            else:
                assert by_id[op_id].get(attr) == expected, f"{op_id}.{attr}"
    if case.get("extra") == "same_debit_two_reimbursements":
        assert links["b1"].debit_operation is links["b2"].debit_operation
        assert links["b1"].debit_operation is not None
        assert len(links["b1"].debit_operation["reimbursements"]) == 2


@pytest.mark.parametrize("case", LINK_CASES, ids=[c["description"] for c in LINK_CASES])
def test_link_bills_to_operations_in_memory(case: dict[str, Any]) -> None:
    """linkBankOperations.spec 'linkBillsToOperations', on the in-memory linker (the JS mocked the client)."""
    operations = _operations(case)
    options = _options(case)
    lk = Linker(LinkOptions(identifiers=tuple(i.lower() for i in options.pop("identifiers")), **options))
    links = lk.link(parse_table(case["bills"], "io.cozy.bills"), operations)
    _check(case, links, {op["_id"]: op for op in operations})


@pytest.mark.anyio
@pytest.mark.parametrize("case", LINK_CASES, ids=[c["description"] for c in LINK_CASES])
async def test_link_bank_operations_on_store(case: dict[str, Any], store: Any) -> None:
    """The same table through ``link_bank_operations`` on a real store (LocalStore, emulator): operations are read by an
    indexed date-window query and committed with one bulk_save; we check what was stored."""
    operations = _operations(case)
    created = await store.bulk_save(OPERATIONS_DOCTYPE, [{k: v for k, v in op.items()} for op in operations])
    assert all(r.ok for r in created)
    options = _options(case)
    result = await link_bank_operations(parse_table(case["bills"], "io.cozy.bills"), store=store, **options)
    stored = {doc["_id"]: doc async for doc in store.all_docs(OPERATIONS_DOCTYPE)}
    _check(case, result.links, stored)
    assert result.operations_updated == len({op_id for op_id in stored if stored[op_id]["_rev"].startswith("2-")})


@pytest.mark.anyio
async def test_should_not_link_twice(store: Any) -> None:
    """linkBankOperations.spec 'should not link twice': a second run adds nothing and writes nothing."""
    case = LINK_CASES[0]
    await store.bulk_save(OPERATIONS_DOCTYPE, _operations(case))
    bills = parse_table(case["bills"], "io.cozy.bills")
    first = await link_bank_operations(bills, store=store, **_options(case))
    medecin = await store.get(OPERATIONS_DOCTYPE, "medecin")
    assert len(medecin["reimbursements"]) == 1
    assert first.operations_updated == 2
    second = await link_bank_operations(bills, store=store, **_options(case))
    again = await store.get(OPERATIONS_DOCTYPE, "medecin")
    assert len(again["reimbursements"]) == 1
    assert again["_rev"] == medecin["_rev"]
    assert second.operations_updated == 0


@pytest.mark.anyio
async def test_only_the_date_window_is_read(store: Any) -> None:
    """The fix of the full-doctype scan: operations far from every bill are not read at all."""
    far = [
        {"_id": f"old{i}", "date": f"2001-01-{i + 1:02d}T00:00:00.000Z", "label": "SFR", "amount": -30}
        for i in range(20)
    ]
    await store.bulk_save(OPERATIONS_DOCTYPE, far + _operations(LINK_CASES[4]))
    result = await link_bank_operations(
        parse_table(LINK_CASES[4]["bills"], "io.cozy.bills"), store=store, **_options(LINK_CASES[4])
    )
    assert result.operations_read == 7
    assert result["b2"].debit_operation is not None
    assert result["b2"].debit_operation["_id"] == "small_sfr"


@pytest.mark.anyio
async def test_identifiers_are_required(store: Any) -> None:
    with pytest.raises(ValueError, match="identifiers"):
        await link_bank_operations([BILL], store=store, identifiers=None)


def test_windows_merge() -> None:
    bills = [
        {"date": "2020-01-10T00:00:00.000Z"},
        {"date": "2020-01-20T00:00:00.000Z"},
        {"date": "2021-06-01T00:00:00.000Z"},
    ]
    windows = operation_windows(bills, LinkOptions(past_window=15, future_window=29))
    assert len(windows) == 2
    assert windows[0][0] == dt.datetime(2019, 12, 26, tzinfo=dt.UTC) - dt.timedelta(days=1)  # 15 days + margin


# -- combinations ----------------------------------------------------------------------------------------
def test_get_unlinked_bills() -> None:
    result = {"b1": BillLink({"_id": "b1"}, debit_operation={}), "b2": BillLink({"_id": "b2"})}
    assert [lnk.bill for lnk in result.values() if lnk.debit_operation is None] == [{"_id": "b2"}]


def _d(day: int) -> str:
    return dt.datetime(2018, 3, day, tzinfo=dt.UTC).isoformat()


def test_group_bills_by_vendor_and_original_date() -> None:
    """linkBankOperations.spec 'groupBills'."""
    bills = [
        {"_id": "b1", "originalDate": _d(10), "vendor": "Ameli", "type": "health_costs"},
        {"_id": "b2", "originalDate": _d(10), "vendor": "Numéricable", "type": "health_costs"},
        {"_id": "b3", "originalDate": _d(10), "vendor": "Ameli", "type": "health_costs"},
        {"_id": "b4", "originalDate": _d(15), "vendor": "Ameli", "type": "health_costs"},
        {"_id": "b5", "originalDate": _d(15), "vendor": "Ameli", "type": "health_costs"},
        {"_id": "b6", "originalDate": _d(20), "vendor": "Numéricable"},
        {"_id": "b7", "originalDate": _d(20), "vendor": "Ameli", "type": "health_costs"},
        {"_id": "b8", "originalDate": _d(20), "vendor": "Numéricable"},
        {"_id": "b9", "originalDate": _d(20), "vendor": "Ameli", "type": "health_costs"},
        {"_id": "b10", "originalDate": _d(30), "vendor": "Numéricable"},
    ]
    groups = [[b["_id"] for b in g] for g in linker().group_bills(bills)]
    for expected in (["b1", "b3"], ["b2"], ["b4", "b5"], ["b6", "b8"], ["b7", "b9"], ["b10"]):
        assert expected in groups
    assert len(groups) == 6


def test_generate_bills_combinations() -> None:
    """linkBankOperations.spec 'generateBillsCombinations': all 11 sub-lists of 2+ of 4 bills."""
    bills = [{"_id": f"b{i}"} for i in range(1, 5)]
    result = [[b["_id"] for b in c] for c in linker().generate_combinations(bills)]
    assert len(result) == 11
    for expected in (
        ["b1", "b2"],
        ["b1", "b3"],
        ["b1", "b4"],
        ["b2", "b3"],
        ["b2", "b4"],
        ["b3", "b4"],
        ["b1", "b2", "b3"],
        ["b1", "b2", "b4"],
        ["b1", "b3", "b4"],
        ["b2", "b3", "b4"],
        ["b1", "b2", "b3", "b4"],
    ):
        assert expected in result


def test_combine_bills() -> None:
    """linkBankOperations.spec 'combineBills': summed amount and originalAmount, first originalDate."""
    bills = [
        {"_id": "b1", "amount": 10, "originalAmount": 20, "originalDate": "2018-03-10T00:00:00Z"},
        {"_id": "b2", "amount": 10, "originalAmount": 10, "originalDate": "2018-03-10T00:00:00Z"},
    ]
    combined = linker().combine_bills(bills)
    assert combined["amount"] == 20
    assert combined["originalAmount"] == 30
    assert combined["originalDate"] == "2018-03-10T00:00:00Z"
    assert combined["_id"] == "combined:b1:b2"


def test_combination_matches_one_debit_for_two_bills() -> None:
    """Two Ameli bills of the same day paid by one 50€ debit: found by the combination phase, and both
    bills are added to the operation's ``bills`` (a deliberate fix: the JS only set its result)."""
    operations = [
        {
            "_id": "doc",
            "date": "2018-07-19T00:00:00.000Z",
            "label": "Dr Who",
            "amount": -50,
            "automaticCategoryId": "400610",
        }
    ]
    bills = [
        {"_id": "b1", "amount": 20, "date": "2018-07-19T00:00:00.000Z", "vendor": "Ameli", "type": "health_costs"},
        {"_id": "b2", "amount": 30, "date": "2018-07-19T00:00:00.000Z", "vendor": "Ameli", "type": "health_costs"},
    ]
    lk = Linker(LinkOptions(identifiers=("cpam",), min_amount_delta=1, max_amount_delta=1))
    links = lk.link(copy.deepcopy(bills), operations)
    assert links["b1"].debit_operation is operations[0]
    assert links["b2"].debit_operation is operations[0]
    assert operations[0]["bills"] == ["io.cozy.bills:b1", "io.cozy.bills:b2"]
    assert list(lk.changed) == ["doc"], "the operation is committed once"
