"""The keyword options of the save helpers, as types: what ``ctx.save_bills(..., **options)`` accepts.

The run context binds the store, the app, the folder and the account (``source_account``...) and passes
everything else through. Spelling the options out as ``TypedDict`` s keeps them checked by mypy and
completed by editors at the context's methods too (``**options: Unpack[BillOptions]``), instead of the
``**options: Any`` that let a misspelt option through until run time. Each mirrors the keyword parameters
of its function, which documents them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypedDict

from browserkonnector.save._bills import ProcessPdf
from browserkonnector.save._download import Fetch
from browserkonnector.save._files import Progress
from browserkonnector.save._models import Contract, ShouldReplaceFile
from browserkonnector.store._base import Doc, FileDoc

__all__ = ["BillOptions", "DocumentOptions", "FileOptions", "HydrateOptions"]


class DocumentOptions(TypedDict, total=False):
    """:func:`~browserkonnector.save.add_data` and :func:`~browserkonnector.save.update_or_create`."""

    source_account: str | None
    source_account_identifier: str | None


class FileOptions(DocumentOptions, total=False):
    """:func:`~browserkonnector.save.save_files` (durations in seconds)."""

    file_id_attributes: Sequence[str] | None
    concurrency: int
    retries: int
    timeout: float | None
    validate_file: Callable[[FileDoc], Any] | None
    should_replace_file: ShouldReplaceFile | None
    content_type: str | bool | None
    sub_path: str | None
    contract: Contract | Mapping[str, Any] | None
    qualification_label: str | None
    fetch: Fetch | None
    progress: Progress | None
    backoff: float
    attempt_timeout: float | None
    file_timeout: float | None


class BillOptions(FileOptions, total=False):
    """:func:`~browserkonnector.save.save_bills`: the file options, plus dedup and bank linking."""

    keys: Sequence[str]
    identifiers: str | Sequence[str] | None
    link_bank_operations: bool
    bank_transaction_regexp: str | None
    bank_identifier: str | None
    contract_id: str | None
    contract_label: str | None
    should_update: Callable[[Doc, Doc], Any] | None
    process_pdf: ProcessPdf | None
    link_options: Mapping[str, Any] | None


class HydrateOptions(TypedDict, total=False):
    """:func:`~browserkonnector.save.hydrate_and_filter`."""

    keys: Sequence[str]
    index: str | None
    selector: Mapping[str, Any] | None
    should_save: Callable[[Any], Any] | None
    should_update: Callable[[Any, Doc], Any] | None
