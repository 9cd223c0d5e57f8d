"""Three rules of the JS linkBankOperations kept exactly: any truthy ``isThirdPartyPayer``, geco's order
of bill combinations, and ``billsToRemove`` unlinked from every operation whatever its date."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from browserkonnector.save import link_bank_operations
from browserkonnector.save._linker import Linker, LinkOptions
from browserkonnector.save._util import js_truthy
from browserkonnector.store._local import LocalStore

pytestmark = pytest.mark.anyio
OPERATIONS = "io.cozy.bank.operations"


@pytest.mark.parametrize(
    ("value", "truthy"),
    [
        (True, True),
        ("yes", True),
        (1, True),
        ("false", True),
        ([], True),
        ({}, True),
        (0.5, True),
        (False, False),
        (0, False),
        ("", False),
        (None, False),
        (float("nan"), False),
        (0.0, False),
    ],
)
def test_js_truthiness(value: Any, truthy: bool) -> None:
    assert js_truthy(value) is truthy


@pytest.mark.parametrize("flag", [True, "yes", 1])
def test_third_party_payer_bills_are_not_linked(flag: Any) -> None:
    bill = {"_id": "b1", "amount": 20, "vendor": "EDF", "date": "2024-03-01T00:00:00.000Z", "isThirdPartyPayer": flag}
    operation = {"_id": "o1", "amount": -20, "label": "PRLV EDF", "date": "2024-03-02T00:00:00.000Z"}
    links = Linker(LinkOptions(identifiers=("edf",))).link([bill], [operation])
    assert links == {}
    assert "bills" not in operation


def test_combinations_follow_geco_colexicographic_order() -> None:
    bills = [{"_id": f"b{i}"} for i in range(4)]
    order = [tuple(b["_id"] for b in c) for c in Linker.generate_combinations(bills)]
    assert order[:6] == [("b0", "b1"), ("b0", "b2"), ("b1", "b2"), ("b0", "b3"), ("b1", "b3"), ("b2", "b3")]
    assert order[6:] == [
        ("b0", "b1", "b2"),
        ("b0", "b1", "b3"),
        ("b0", "b2", "b3"),
        ("b1", "b2", "b3"),
        ("b0", "b1", "b2", "b3"),
    ]


def test_the_first_matching_combination_is_gecos() -> None:
    """b0+b1+b4 and b0+b2+b3 both sum to the debit (and what is left then sums to nothing): geco tries
    [0,2,3] before [0,1,4] (itertools the other way round), so b0, b2 and b3 are linked, as in JS."""
    day = "2024-03-01T00:00:00.000Z"
    bills = [
        {"_id": f"b{i}", "amount": amount, "vendor": "Ameli", "type": "health_costs", "date": day}
        for i, amount in enumerate([10, 15, 18, 22, 25])
    ]
    operation = {"_id": "o1", "amount": -50, "label": "CB MEDECIN", "date": day, "manualCategoryId": "400610"}
    links = Linker(LinkOptions(identifiers=("cpam",))).link(bills, [operation])
    linked = sorted(bill_id for bill_id, link in links.items() if link.debit_operation is not None)
    assert linked == ["b0", "b2", "b3"]


async def test_bills_to_remove_are_unlinked_from_operations_far_from_every_bill(tmp_path: Path) -> None:
    async with LocalStore(tmp_path / "store") as store:
        await store.create(
            OPERATIONS,
            {
                "_id": "far",
                "amount": -50,
                "label": "PRLV EDF",
                "date": "2021-01-01T00:00:00.000Z",
                "bills": ["io.cozy.bills:old", "io.cozy.bills:other"],
            },
        )
        new = {"_id": "new", "amount": 20, "vendor": "EDF", "date": "2024-03-01T00:00:00.000Z"}
        old = {"_id": "old", "amount": 50, "vendor": "EDF", "date": "2023-06-01T00:00:00.000Z", "original": "orig"}
        await link_bank_operations([new], store=store, identifiers=["edf"], bills_to_remove=[old])
        assert (await store.get(OPERATIONS, "far"))["bills"] == ["io.cozy.bills:other", "io.cozy.bills:orig"]
