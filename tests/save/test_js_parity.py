"""hydrate_and_filter and link_bank_operations give cozy-konnector-libs 5.13.0's answers on generated cases.

The cases and the JS library's outputs are in ``fixtures/js_expectations.json``, written by
``tests/save/js/generate_cases.py`` (which ran the library's own code with node), so these tests need
neither node nor npm. The one difference kept on purpose: bills matched to a debit through a combination
are also added to that operation's ``bills`` (the JS library only reports them), see
``browserkonnector/save/_linker/core.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from browserkonnector.save import hydrate_and_filter
from browserkonnector.save._linker import link_bank_operations
from browserkonnector.store._local import LocalStore

pytestmark = pytest.mark.anyio

CASES = json.loads((Path(__file__).parent / "fixtures" / "js_expectations.json").read_text())
OPERATIONS = "io.cozy.bank.operations"


async def test_hydrate_and_filter_matches_konnector_libs_on_every_case(store: Any) -> None:
    """One store (embedded, then the stack emulator) holds every case in a doctype of its own."""
    failures = []
    for number, case in enumerate(CASES["hydrate"]):
        for doc in case["stored"]:
            await store.create(case["doctype"], {k: v for k, v in doc.items() if k != "_rev"})
        ids = {doc["_id"]: doc["_id"] for doc in case["stored"]}
        incoming = json.loads(json.dumps(case["incoming"]))
        kept = await hydrate_and_filter(incoming, case["doctype"], store=store, keys=case["keys"])
        matched = [ids.get(doc.get("_id", "")) for doc in incoming]
        # Several stored documents with one key: each library keeps the last it read, and the read order
        # is the store's. Any of them is the same match.
        same = case["js"]["stored_keys"]
        matched = [
            js if ours and js and same[ours] == same[js] else ours
            for ours, js in zip(matched, case["js"]["matched"], strict=True)
        ]
        got = {"matched": matched, "kept": [next(i for i, d in enumerate(incoming) if d is k) for k in kept]}
        want = {"matched": case["js"]["matched"], "kept": case["js"]["kept"]}
        if got != want:
            failures.append(f"case {number} keys={case['keys']}: JS {want}, ours {got}")
    assert not failures, "\n".join(failures)


def _linker_kwargs(options: dict[str, Any]) -> dict[str, Any]:
    names = {
        "amountDelta": "amount_delta",
        "minAmountDelta": "min_amount_delta",
        "maxAmountDelta": "max_amount_delta",
        "pastWindow": "past_window",
        "futureWindow": "future_window",
        "allowUncategorized": "allow_uncategorized",
    }
    return {names[k]: v for k, v in options.items() if k in names}


@pytest.mark.parametrize("number", range(len(CASES["linker"])))
async def test_link_bank_operations_matches_konnector_libs(tmp_path: Path, number: int) -> None:
    case = CASES["linker"][number]
    async with LocalStore(tmp_path / "store") as store:
        for operation in case["operations"]:
            await store.create(OPERATIONS, operation)
        result = await link_bank_operations(
            json.loads(json.dumps(case["bills"])),
            store=store,
            identifiers=case["options"]["identifiers"],
            bills_to_remove=case.get("bills_to_remove"),
            **_linker_kwargs(case["options"]),
        )
        links = {
            bill_id: {
                "debit": (link.debit_operation or {}).get("_id"),
                "credit": (link.credit_operation or {}).get("_id"),
            }
            for bill_id, link in result.links.items()
        }
        assert links == case["js"]["links"]
        after = {doc["_id"]: doc async for doc in store.all_docs(OPERATIONS)}
    for op_id, expected in case["js"]["operations"].items():
        ours = after[op_id].get("bills") or []
        combined = {
            f"io.cozy.bills:{bill_id}" for bill_id, link in case["js"]["links"].items() if link["debit"] == op_id
        }
        assert set(expected["bills"]) <= set(ours), op_id
        assert set(ours) - set(expected["bills"]) <= combined, op_id  # bills matched through a combination
        assert (after[op_id].get("reimbursements") or []) == expected["reimbursements"], op_id
