"""A run that could not save every file is not a success.

The save helpers save everything they can and report each file that failed (``SavedFile`` with
``outcome == "failed"`` and a ``code``) instead of stopping at the first one. The run keeps those
reports here; when the connector's ``main`` returns, a non-empty list ends the run with the code that
says why, after everything else was saved and with every missing bill named in the log:

- ``FILE_DOWNLOAD_FAILED.TOO_LARGE``: a file was over the file-size cap;
- ``FILE_DOWNLOAD_FAILED.TIMEOUT``: a file could not be had within its time limit;
- ``VENDOR_DOWN``: the vendor answered 5xx or 429, or could not be reached, for every missing file;
- ``FILE_DOWNLOAD_FAILED``: any other download failure (an HTML page instead of a PDF, a 404...);
- ``SAVE_FILE_FAILED``: the store refused a file.

When failures differ, the first of that list that occurs wins: the size cap and the time limit are
settings the user can change, so they are the most useful thing to be told.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from loguru import logger

from browserkonnector import _errors as errors
from browserkonnector._errors import KonnectorError
from browserkonnector.save import Bill, FileEntry, SavedFile

__all__ = ["MissingFiles"]

log = logger.bind(namespace="Konnector")
_PRIORITY = (
    errors.FILE_TOO_LARGE,
    errors.FILE_DOWNLOAD_TIMEOUT,
    errors.VENDOR_DOWN,
    errors.FILE_DOWNLOAD_FAILED,
    errors.SAVE_FILE_FAILED,
)
#: How many missing files the error's detail names (all of them are in the log).
NAMED = 10


@dataclass(frozen=True)
class Missing:
    what: str
    reason: str
    code: str


def _what(entry: FileEntry) -> str:
    """A bill by what the user knows of it (date, amount, reference), a file by its name."""
    if isinstance(entry, Bill):
        ref = f" {entry.vendor_ref}" if entry.vendor_ref else ""
        return f"bill {entry.vendor} {entry.date[:10]} {entry.amount:g} {entry.currency}{ref} ({entry.describe()})"
    return f"file {entry.describe()}"


class MissingFiles:
    """The files a run failed to save, in the order they failed."""

    def __init__(self) -> None:
        self.items: list[Missing] = []

    def note(self, saved: Iterable[SavedFile]) -> None:
        """Keep the failed ones of a ``save_files``/``save_bills`` result."""
        for item in saved:
            if item.outcome == "failed":
                self.items.append(
                    Missing(_what(item.entry), item.error or "failed", item.code or errors.FILE_DOWNLOAD_FAILED)
                )

    def __len__(self) -> int:
        return len(self.items)

    def error(self) -> KonnectorError | None:
        """The error that ends a run with missing files (``None`` when nothing is missing)."""
        if not self.items:
            return None
        codes = {m.code for m in self.items}
        code = next((c for c in _PRIORITY if c in codes), sorted(codes)[0])
        for missing in self.items:
            log.error("not saved: {}: {} ({})", missing.what, missing.reason, missing.code)
        named = "; ".join(f"{m.what}: {m.reason}" for m in self.items[:NAMED])
        more = f" (and {len(self.items) - NAMED} more, see the log)" if len(self.items) > NAMED else ""
        return KonnectorError(code, f"{len(self.items)} file(s) could not be saved, the rest was: {named}{more}")
