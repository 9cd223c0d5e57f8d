"""The save pipeline: what a connector does once it has the data (konnector-libs' saving functions).

Python names, documented against the JS ones:

=========================  ====================================================================
``hydrate_and_filter``     ``hydrateAndFilter`` — skip what is already saved (indexed query)
``add_data``               ``addData`` — write documents with ``cozyMetadata``
``update_or_create``       ``updateOrCreate`` — match on attributes, update or create (``upsert`` tells which)
``save_bank_data``         bank accounts and operations, linked and deduplicated on ``vendorId``
``save_files``             ``saveFiles`` — files with dedup keys, validation, retries
``save_bills``             ``saveBills`` — files, bills, then bank links
``link_bank_operations``   ``linkBankOperations`` — bills ↔ io.cozy.bank.operations
``get_cozy_metadata``      ``getCozyMetadata`` — the ``cozyMetadata`` object
``qualification_for``      cozy-clisk's ``qualificationLabel`` — ``metadata.qualification``
=========================  ====================================================================

Pure logic over the :class:`~browserkonnector.store._base.Store` interface: nothing here imports the
browser or the runtime, so a connector without a browser uses it as is (bytes, a stream or a fetch
callable returning :class:`Fetched`).
"""

from __future__ import annotations

from browserkonnector.save._bank import (
    BANK_ACCOUNTS_DOCTYPE,
    BANK_OPERATIONS_DOCTYPE,
    BankAccount,
    BankOperation,
    BankSaveResult,
    save_bank_data,
)
from browserkonnector.save._bills import BILLS_DOCTYPE, SaveBillsResult, SaveCounts, save_bills
from browserkonnector.save._documents import Upserted, add_data, update_or_create, upsert
from browserkonnector.save._fetched import Fetched, FetchFile
from browserkonnector.save._files import Outcome, SavedFile, save_files
from browserkonnector.save._hydrate import hydrate_and_filter
from browserkonnector.save._known import saved_values
from browserkonnector.save._linker import BillLink, LinkResult, link_bank_operations
from browserkonnector.save._lookup import sanitize_file_name
from browserkonnector.save._metadata import get_cozy_metadata
from browserkonnector.save._models import (
    Bill,
    BillValidationError,
    Contract,
    FileEntry,
    normalize_currency,
)
from browserkonnector.save._options import BillOptions, DocumentOptions, FileOptions, HydrateOptions
from browserkonnector.save._qualification import qualification_for, qualification_labels

__all__ = [
    "BANK_ACCOUNTS_DOCTYPE",
    "BANK_OPERATIONS_DOCTYPE",
    "BILLS_DOCTYPE",
    "BankAccount",
    "BankOperation",
    "BankSaveResult",
    "Bill",
    "BillLink",
    "BillOptions",
    "BillValidationError",
    "Contract",
    "DocumentOptions",
    "FetchFile",
    "Fetched",
    "FileEntry",
    "FileOptions",
    "HydrateOptions",
    "LinkResult",
    "Outcome",
    "SaveBillsResult",
    "SaveCounts",
    "SavedFile",
    "Upserted",
    "add_data",
    "get_cozy_metadata",
    "hydrate_and_filter",
    "link_bank_operations",
    "normalize_currency",
    "qualification_for",
    "qualification_labels",
    "sanitize_file_name",
    "save_bank_data",
    "save_bills",
    "save_files",
    "saved_values",
    "update_or_create",
    "upsert",
]
