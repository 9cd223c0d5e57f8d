"""The invariants every fault must leave true in the embedded store, checked from outside the run.

- **no partial file**: every file under ``files/`` is a file document's content, complete (its size and
  MD5 are the document's), and nothing is left in ``.tmp/``;
- **no dangling bill**: every bill's ``invoice`` names a file document whose content is on disk;
- **no duplicate**: no two bills share a ``vendorRef``, no two file documents the same dedup key.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from browserkonnector.store._local import LocalStore


@dataclass
class StoreReport:
    bills: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def refs(self) -> set[str]:
        return {str(b.get("vendorRef")) for b in self.bills}


async def _report(root: Path) -> StoreReport:
    report = StoreReport()
    if not (root / "store.sqlite3").exists():
        return report
    async with LocalStore(root) as store:
        report.bills = [d async for d in store.all_docs("io.cozy.bills")]
        docs = [d async for d in store.all_docs("io.cozy.files")]
        report.files = [d for d in docs if d.get("type") == "file" and not d.get("trashed")]
        on_disk: dict[Path, dict[str, Any]] = {}
        for doc in report.files:
            path = store.disk_path(doc["_id"])
            on_disk[path.resolve()] = doc
            if not path.is_file():
                report.problems.append(f"file document {doc['name']!r} has no content on disk")
                continue
            data = path.read_bytes()
            if len(data) != int(doc["size"]) or base64.b64encode(hashlib.md5(data).digest()).decode() != doc["md5sum"]:
                report.problems.append(f"{doc['name']!r}: content on disk does not match its document")
        for path in (root / "files").rglob("*"):
            if path.is_file() and path.resolve() not in on_disk:
                report.problems.append(f"{path.relative_to(root)} is on disk but no document holds it")
        tmp = [p.name for p in (root / ".tmp").glob("*")] if (root / ".tmp").is_dir() else []
        if tmp:
            report.problems.append(f"left in .tmp: {tmp}")
        ids = {d["_id"] for d in report.files}
        for bill in report.bills:
            invoice = str(bill.get("invoice", ""))
            if invoice.removeprefix("io.cozy.files:") not in ids:
                report.problems.append(f"bill {bill.get('vendorRef')} points to a missing file ({invoice})")
    for ref, n in Counter(str(b.get("vendorRef")) for b in report.bills).items():
        if n > 1:
            report.problems.append(f"{n} bills with vendorRef {ref}")
    keys = Counter(
        str((d.get("metadata") or {}).get("fileIdAttributes"))
        for d in report.files
        if (d.get("metadata") or {}).get("fileIdAttributes")
    )
    for key, n in keys.items():
        if n > 1:
            report.problems.append(f"{n} files with the dedup key {key}")
    return report


def check_store(root: Path) -> StoreReport:
    """The store's content and every broken invariant (``problems`` is empty when all hold)."""
    return asyncio.run(_report(root))
