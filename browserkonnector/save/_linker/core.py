"""The bill ↔ bank operation linker, in memory (port of konnector-libs' ``Linker``).

For each bill (third-party-payer bills excepted: nothing shows on the account): find its debit
operation and add ``io.cozy.bills:<id>`` to the operation's ``bills``; for a refund, find the credit
operation, add the bill to it, and when both exist record ``{billId, amount, operationId}`` in the
debit's ``reimbursements``. Then **combinations**: bills still without a debit, of type
``health_costs`` or from a vendor known to group payments, are grouped by day and vendor, and every
sum of two or more of them is tried as one debit, until none matches.

Deliberate fixes: an operation changed several times is committed once (the JS pushed it once per
change into one ``_bulk_docs``, a sure conflict); bills matched through a combination are added to the
operation's ``bills`` too (the JS only set them in its result); combinations are tried on groups of at
most :data:`MAX_GROUP` bills (2^n sums: an unbounded group could run for ever).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from browserkonnector.save._linker.filters import find_operation
from browserkonnector.save._linker.helpers import LinkOptions, bill_date
from browserkonnector.save._util import js_truthy

__all__ = ["GROUP_VENDORS", "MAX_GROUP", "BillLink", "Linker"]

log = logger.bind(namespace="linkBankOperations")

#: konnector-libs 5.13: vendors whose bills may be paid together (with any ``health_costs`` bill).
GROUP_VENDORS = ("Numéricable", "Ameli", "MGEN", "Humanis")
MAX_GROUP = 12

Doc = dict[str, Any]


@dataclass
class BillLink:
    """What one bill was linked to (JS result entry ``{bill, debitOperation, creditOperation}``)."""

    bill: Mapping[str, Any]
    debit_operation: Doc | None = None
    credit_operation: Doc | None = None


@dataclass
class Linker:
    """Links bills to operations held in memory; :attr:`changed` are the operations to commit."""

    options: LinkOptions
    changed: dict[str, Doc] = field(default_factory=dict)

    def _touch(self, operation: Doc) -> None:
        self.changed[str(operation["_id"])] = operation

    def add_bill_to_operation(self, bill: Mapping[str, Any], operation: Doc) -> bool:
        """Add the bill to ``operation["bills"]`` (no duplicate). False if nothing changed."""
        if not bill.get("_id"):
            log.warning("bill has no id, impossible to add it to an operation")
            return False
        bill_ref = f"io.cozy.bills:{bill['_id']}"
        bills = list(operation.get("bills") or [])
        if bill_ref in bills:
            return False
        operation["bills"] = [*bills, bill_ref]
        self._touch(operation)
        return True

    def add_reimbursement_to_operation(
        self, bill: Mapping[str, Any], debit: Doc, credit: Mapping[str, Any] | None
    ) -> bool:
        """Record the bill as a reimbursement of ``debit`` (no duplicate per bill)."""
        if not bill.get("_id"):
            log.warning("bill has no id, impossible to add it as a reimbursement")
            return False
        bill_ref = f"io.cozy.bills:{bill['_id']}"
        reimbursements = list(debit.get("reimbursements") or [])
        if any(isinstance(r, Mapping) and r.get("billId") == bill_ref for r in reimbursements):
            return False
        entry: dict[str, Any] = {"billId": bill_ref, "amount": bill.get("amount")}
        if credit is not None:
            entry["operationId"] = credit.get("_id")
        debit["reimbursements"] = [*reimbursements, entry]
        self._touch(debit)
        return True

    def remove_bills_from_operations(self, bills: Sequence[Mapping[str, Any]], operations: Sequence[Doc]) -> None:
        """JS ``removeBillsFromOperations`` (``billsToRemove``): unlink bills, relinking ``original``."""
        for operation in operations:
            current = list(operation.get("bills") or [])
            updated = current
            for bill in bills:
                bill_ref = f"io.cozy.bills:{bill.get('_id')}"
                if bill_ref not in updated:
                    continue
                original = f"io.cozy.bills:{bill.get('original')}"
                updated = [b for b in updated if b not in (bill_ref, original)]
                if bill.get("original"):
                    updated.append(original)
            if updated != current:
                log.info(f"Bank operation {operation.get('_id')}: Replacing {current} by {updated}")
                operation["bills"] = updated
                self._touch(operation)

    def link(self, bills: Sequence[Mapping[str, Any]], operations: Sequence[Doc]) -> dict[str, BillLink]:
        """Link every bill; returns the links by bill ``_id``, in input order."""
        result: dict[str, BillLink] = {}
        for bill in bills:
            if js_truthy(bill.get("isThirdPartyPayer")):  # JS: any truthy value ("yes", 1), not only true
                continue
            link = result[str(bill.get("_id"))] = BillLink(bill)
            if not operations:
                continue
            debit = find_operation(bill, operations, self.options)
            if debit is not None:
                self.add_bill_to_operation(bill, dict_of(debit))
                link.debit_operation = dict_of(debit)
            if bill.get("isRefund"):
                credit = find_operation(bill, operations, self.options.as_credit())
                if credit is not None:
                    link.credit_operation = dict_of(credit)
                    self.add_bill_to_operation(bill, dict_of(credit))
                    if link.debit_operation is not None:
                        self.add_reimbursement_to_operation(bill, link.debit_operation, link.credit_operation)
        if operations:
            self.find_combinations(result, operations)
        return result

    # -- combinations -------------------------------------------------------------------------------
    @staticmethod
    def can_be_grouped(bill: Mapping[str, Any]) -> bool:
        groupable = bill.get("type") == "health_costs" or bill.get("vendor") in GROUP_VENDORS
        return groupable and bill_date(bill) is not None

    def group_bills(self, bills: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
        """Groups of bills of the same day (``originalDate or date``) and vendor, in first-seen order."""
        groups: dict[tuple[str, Any], list[Mapping[str, Any]]] = {}
        for bill in bills:
            if self.can_be_grouped(bill):
                day = bill_date(bill)
                assert day is not None
                groups.setdefault((day.date().isoformat(), bill.get("vendor")), []).append(bill)
        return list(groups.values())

    @staticmethod
    def generate_combinations(bills: Sequence[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], ...]]:
        """Every sub-list of two bills or more, smallest first, each size in ``geco.gen``'s order.

        geco yields the k-subsets in colexicographic order (by the last index, then the one before:
        ``[0,1] [0,2] [1,2] [0,3]…``), not itertools' lexicographic one (``[0,1] [0,2] [0,3] [1,2]…``).
        The first combination whose sum matches a debit wins, so the order decides which bills are
        linked when several subsets sum to the same amount: it is geco's, as in the JS library.
        """
        if len(bills) > MAX_GROUP:
            log.warning(f"findCombinations: a group of {len(bills)} bills is too big to try its combinations")
            return []
        return [
            tuple(bills[i] for i in indexes)
            for n in range(2, len(bills) + 1)
            for indexes in sorted(itertools.combinations(range(len(bills)), n), key=lambda c: c[::-1])
        ]

    @staticmethod
    def combine_bills(bills: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """One bill standing for several: amounts summed, the first bill's other fields."""

        def total(name: str) -> float:
            return sum(float(b[name]) for b in bills if isinstance(b.get(name), int | float))

        return {
            **bills[0],
            "_id": ":".join(["combined", *(str(b.get("_id")) for b in bills)]),
            "amount": total("amount"),
            "originalAmount": total("originalAmount"),
            "originalBills": list(bills),
        }

    def find_combinations(self, result: dict[str, BillLink], operations: Sequence[Doc]) -> None:
        found = True
        while found:
            found = False
            unlinked = [link.bill for link in result.values() if link.debit_operation is None]
            for group in self.group_bills(unlinked):
                for combination in self.generate_combinations(group):
                    combined = self.combine_bills(combination)
                    debit = find_operation(combined, operations, self.options)
                    if debit is None:
                        continue
                    found = True
                    debit_doc = dict_of(debit)
                    log.debug(f"Matching bills combination {combined['_id']} with {debit_doc.get('_id')}")
                    for bill in combination:
                        link = result[str(bill.get("_id"))]
                        link.debit_operation = debit_doc
                        self.add_bill_to_operation(bill, debit_doc)
                        if link.credit_operation is not None:
                            self.add_reimbursement_to_operation(bill, debit_doc, link.credit_operation)
                    break
                if found:
                    break


def dict_of(operation: Mapping[str, Any]) -> Doc:
    """Operations are the store's own dicts, mutated in place so every bill sees earlier changes."""
    if not isinstance(operation, dict):
        raise TypeError("operations must be dicts (they are updated in place)")
    return operation
