"""Linking bills to bank operations (konnector-libs ``linkBankOperations``), split in four parts:

``helpers`` (targets, windows, ranking), ``filters`` (which operations qualify), ``core`` (the
in-memory linker and the combinations) and ``api`` (reading operations by date window, committing).
"""

from __future__ import annotations

from browserkonnector.save._linker.api import OPERATIONS_DOCTYPE, LinkResult, link_bank_operations
from browserkonnector.save._linker.core import BillLink, Linker
from browserkonnector.save._linker.helpers import LinkOptions

__all__ = ["OPERATIONS_DOCTYPE", "BillLink", "LinkOptions", "LinkResult", "Linker", "link_bank_operations"]
