"""Keep or replace a file that is already in the Cozy (JS ``saveFiles``' replacement step).

An existing file that fails ``validate_file`` is replaced. Otherwise ``entry.should_replace_file``, else
the ``should_replace_file`` option, else :func:`default_should_replace` decides (a hook that raises
means "replace", as in the JS library). A kept file is **not** downloaded again.

The default rule is the JS one: replace when the file has no metadata but the entry brings some, when
``file_id_attributes`` is set but the file has no ``metadata.fileIdAttributes``, when a
``source_account_identifier`` is given but the file has none, or when ``carbonCopy``,
``electronicSafe`` or ``qualification`` differ. One deliberate fix: only the attributes the entry
*gives* are compared (a file with ``carbonCopy: true`` and an entry without it was replaced on every
run of the JS library).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from browserkonnector.save._models import FileEntry, ShouldReplaceFile
from browserkonnector.save._util import maybe_await
from browserkonnector.save._validate import default_validate_file
from browserkonnector.store._base import FileDoc

__all__ = ["decide_replace", "default_should_replace"]

_COMPARED = ("carbonCopy", "electronicSafe", "qualification")


def default_should_replace(
    file: FileDoc,
    entry: FileEntry,
    *,
    file_id_attributes: Sequence[str] | None,
    source_account_identifier: str | None,
) -> str | None:
    """Why the file should be replaced (a short reason), or None to keep it."""
    wanted: dict[str, Any] = dict(entry.file_attributes.get("metadata") or {})
    if not file.metadata and wanted:
        return "metadata to add"
    if file_id_attributes and not file.metadata.get("fileIdAttributes"):
        return "adding fileIdAttributes"
    if source_account_identifier and not file.cozy_metadata.get("sourceAccountIdentifier"):
        return "adding sourceAccountIdentifier"
    for attr in _COMPARED:
        if attr in wanted and wanted[attr] != file.metadata.get(attr):
            return f"{attr} changed"
    return None


async def decide_replace(
    file: FileDoc,
    entry: FileEntry,
    *,
    validate_file: Callable[[FileDoc], Any] | None,
    should_replace_file: ShouldReplaceFile | None,
    file_id_attributes: Sequence[str] | None,
    source_account_identifier: str | None,
) -> str | None:
    """The reason to replace ``file`` for ``entry``, or None to keep it."""
    validator = validate_file or default_validate_file
    if not await maybe_await(validator(file)):
        return "the stored file is invalid"
    hook = entry.should_replace_file or should_replace_file
    if hook is None:
        return default_should_replace(
            file, entry, file_id_attributes=file_id_attributes, source_account_identifier=source_account_identifier
        )
    try:
        return "should_replace_file said so" if await maybe_await(hook(file, entry)) else None
    except Exception as exc:
        return f"should_replace_file raised {type(exc).__name__}"
