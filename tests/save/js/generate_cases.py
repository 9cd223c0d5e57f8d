"""Generate hydrateAndFilter and linkBankOperations cases, run cozy-konnector-libs 5.13.0 on them, and
write the cases with the library's outputs to ``tests/save/fixtures/js_expectations.json``.

The tests (``tests/save/test_js_parity.py``) read that file, so they need neither node nor npm. To
regenerate it (after changing the cases), with the library installed by ``scripts/bench --with-js``::

    .venv/bin/python tests/save/js/generate_cases.py

Cases are drawn from a fixed seed, on purpose around the spots where the two libraries could differ:
dedup keys with missing, ``null`` or empty values, keys written with brackets (``items[0].code``),
dates spelled several ways (and ``null``), numbers written ``12`` or ``12.0``; bills to link with
third-party-payer flags of every JS type, refunds, groups of health bills paid in one debit, and
``billsToRemove`` linked to operations far from any bill's dates.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
OUT = HERE.parent / "fixtures" / "js_expectations.json"
NODE_MODULES = REPO / ".bench-cache" / "js" / "node_modules"
SEED = 20261206
_ABSENT = object()

KEY_SETS = [
    ["vendorRef"],
    ["date", "amount", "vendor"],
    ["items[0].code"],
    ["items.0.code"],
    ["contract.id", "vendorRef"],
    ["date"],
    ["vendorRef", "amount"],
]
VALUES: dict[str, list[Any]] = {
    "vendorRef": ["R1", "R2", "R3", 12, 12.0, "12", "", None, _ABSENT],
    "amount": [10, 10.5, 10.50, "10.5", 0, None, _ABSENT],
    "vendor": ["EDF", "Free", _ABSENT],
    "date": [
        "2024-01-15T00:00:00.000Z",
        "2024-01-15T00:00:00Z",
        "2024-01-15",
        "2024-01-15T00:00:00.400Z",
        "2024-01-15T10:00:00+02:00",
        "2024-01-15T08:00:00.000Z",
        1705276800000,
        "2024-02-01T12:30:00.000Z",
        None,
        _ABSENT,
    ],
    "items": [[{"code": "A"}], [{"code": "B"}, {"code": "A"}], [], [{"label": "no code"}], _ABSENT],
    "contract": [{"id": "c1"}, {"id": "c2"}, {}, _ABSENT],
}


def _field(key: str) -> str:
    return key.split(".")[0].split("[")[0]


def _doc(rng: random.Random, keys: list[str], *, stored: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = {"label": rng.choice(["a", "b", "c"])}
    for key in keys:
        choices = VALUES[_field(key)]
        if stored and key == "date":  # a documented limit: stored dates are UTC spellings (see hydrate.py)
            choices = [v for v in choices if not (isinstance(v, str) and v.endswith("+02:00"))]
        value = rng.choice(choices)
        if value is not _ABSENT:
            doc[_field(key)] = json.loads(json.dumps(value))
    return doc


def hydrate_cases(rng: random.Random, count: int) -> list[dict[str, Any]]:
    cases = []
    for n in range(count):
        keys = KEY_SETS[n % len(KEY_SETS)]
        stored = [
            {"_id": f"s{i}", "_rev": f"1-{i:032x}", **_doc(rng, keys, stored=True)} for i in range(rng.randint(2, 7))
        ]
        incoming = []
        for _ in range(rng.randint(3, 9)):
            if stored and rng.random() < 0.5:
                copy = {k: v for k, v in rng.choice(stored).items() if k not in ("_id", "_rev")}
                if "date" in copy and copy["date"] is not None and rng.random() < 0.5:
                    copy["date"] = rng.choice(VALUES["date"][:7])  # the same second, spelled otherwise
                incoming.append(copy)
            else:
                incoming.append(_doc(rng, keys))
        cases.append({"doctype": f"io.cozy.jscase{n}", "keys": keys, "stored": stored, "incoming": incoming})
    return cases


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _Operations:
    """The operations of one case; no two on the same instant (ties would depend on the read order)."""

    def __init__(self) -> None:
        self.docs: list[dict[str, Any]] = []

    def add(self, amount: float, when: datetime, label: str, category: str | None = None, **extra: Any) -> None:
        doc = {
            "_id": f"o{len(self.docs)}",
            "amount": round(amount, 2),
            "label": label,
            "date": _iso(when + timedelta(minutes=7 * (len(self.docs) + 1))),
            **extra,
        }
        if category:
            doc["manualCategoryId"] = category
        self.docs.append(doc)


def linker_cases(rng: random.Random, count: int) -> list[dict[str, Any]]:
    base = datetime(2024, 3, 1, tzinfo=UTC)
    vendors = ["EDF", "EDF", "Ameli", "MGEN", "Free"]
    third_party = [_ABSENT, True, False, "yes", 1, 0, "", None]
    cases = []
    for _ in range(count):
        bills: list[dict[str, Any]] = []
        ops = _Operations()
        op = ops.add
        day = base + timedelta(days=rng.randint(0, 40))
        for i in range(rng.randint(1, 6)):
            vendor = rng.choice(vendors)
            health = vendor in ("Ameli", "MGEN")
            when = day + timedelta(days=rng.choice([0, 0, 1, 3]), hours=rng.randint(0, 20))
            bill: dict[str, Any] = {
                "_id": f"b{i}",
                "vendor": vendor,
                "amount": round(rng.uniform(5, 90), 2),
                "date": _iso(when),
            }
            if health and rng.random() < 0.6:
                bill["type"] = "health_costs"
                bill["isRefund"] = True
                bill["originalAmount"] = round(bill["amount"] * rng.choice([1.0, 1.5, 2.0]), 2)
                bill["originalDate"] = _iso(day - timedelta(days=rng.randint(0, 5)))
                if rng.random() < 0.3:
                    bill["groupAmount"] = round(bill["amount"] * 2, 2)
            flag = rng.choice(third_party)
            if flag is not _ABSENT:
                bill["isThirdPartyPayer"] = flag
            bills.append(bill)
            when = datetime.fromisoformat(bill.get("originalDate", bill["date"]).replace("Z", "+00:00"))
            if rng.random() < 0.6:
                debit = -(bill.get("originalAmount") or bill["amount"]) + rng.choice([0, 0, 0.0005, 0.5])
                op(
                    debit,
                    when + timedelta(days=rng.randint(-3, 10)),
                    "PRLV EDF facture" if not health else "CB PHARMACIE",
                    "400610" if health else None,
                )
            if bill.get("isRefund") and rng.random() < 0.7:
                op(
                    bill.get("groupAmount") or bill["amount"],
                    datetime.fromisoformat(bill["date"].replace("Z", "+00:00")) + timedelta(days=rng.randint(0, 8)),
                    "VIR CPAM REMBOURSEMENT",
                    rng.choice(["400620", "400610", None]),
                )
        health_bills = [b for b in bills if b.get("type") == "health_costs"]
        if len(health_bills) >= 2 and rng.random() < 0.7:  # one debit for several bills of a day
            chosen = rng.sample(health_bills, rng.randint(2, len(health_bills)))
            op(
                -sum(b.get("originalAmount") or b["amount"] for b in chosen),
                datetime.fromisoformat(chosen[0].get("originalDate", chosen[0]["date"]).replace("Z", "+00:00")),
                "CB MEDECIN",
                "400610",
            )
        for _ in range(rng.randint(0, 4)):  # noise: other vendors, other amounts
            op(
                -round(rng.uniform(1, 120), 2),
                day + timedelta(days=rng.randint(-20, 40)),
                rng.choice(["CB SUPERMARCHE", "PRLV EDF", "PRLV FREE MOBILE"]),
                rng.choice([None, "400610", "0"]),
            )
        case: dict[str, Any] = {
            "bills": bills,
            "operations": ops.docs,
            "options": {"identifiers": rng.choice([["edf"], ["EDF", "free"], "edf"])},
        }
        if rng.random() < 0.25:
            case["options"]["allowUncategorized"] = True
        if rng.random() < 0.25:
            case["options"]["amountDelta"] = 1
        if rng.random() < 0.35:  # an old bill, linked to operations far from any bill's dates
            old = {"_id": "old0", "amount": 50, "vendor": "EDF", "date": _iso(base - timedelta(days=400))}
            if rng.random() < 0.5:
                old["original"] = "orig0"
            far = base + timedelta(days=rng.choice([-300, 200]))
            op(-50, far, "PRLV EDF ancienne", None, bills=["io.cozy.bills:old0", "io.cozy.bills:other"])
            op(-51, far + timedelta(days=2), "PRLV EDF", None, bills=["io.cozy.bills:old0"])
            case["bills_to_remove"] = [old]
        rng.shuffle(ops.docs)
        cases.append(case)
    return cases


def main() -> int:
    if not (NODE_MODULES / "cozy-konnector-libs" / "package.json").is_file():
        print(
            f"cozy-konnector-libs is not installed in {NODE_MODULES}: run scripts/bench --with-js --only 3 "
            "--smoke once (it runs npm install)",
            file=sys.stderr,
        )
        return 1
    rng = random.Random(SEED)
    cases = {"hydrate": hydrate_cases(rng, 70), "linker": linker_cases(rng, 80)}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        env = {**os.environ, "TZ": "UTC", "NODE_PATH": str(NODE_MODULES), "LOG_LEVEL": "critical"}
        done = subprocess.run(
            ["node", str(HERE / "harness.js"), str(out)],
            input=json.dumps(cases),
            text=True,
            capture_output=True,
            env=env,
            timeout=120,
        )
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            return 1
        results = json.loads(out.read_text())
    version = json.loads((NODE_MODULES / "cozy-konnector-libs" / "package.json").read_text())["version"]
    document = {
        "generated_by": f"tests/save/js/generate_cases.py, cozy-konnector-libs {version}, TZ=UTC, seed {SEED}",
        "hydrate": [{**c, "js": r} for c, r in zip(cases["hydrate"], results["hydrate"], strict=True)],
        "linker": [{**c, "js": r} for c, r in zip(cases["linker"], results["linker"], strict=True)],
    }
    OUT.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {OUT} ({len(document['hydrate'])} hydrate, {len(document['linker'])} linker cases)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
