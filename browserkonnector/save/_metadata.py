"""``cozyMetadata`` stamping: who created a document, who last updated it, for which account.

The stack fills ``cozyMetadata`` itself only for files and accounts; every other doctype (bills,
identities, ...) needs the client to add it, which konnector-libs does with ``getCozyMetadata``. This
is the same object, with one deliberate fix: konnector-libs spreads the *old* metadata over the new
one, so an updated document kept its old ``updatedAt``; here an update keeps ``createdAt`` (and the
other ``created*`` fields) and refreshes ``updatedAt`` and this app's ``updatedByApps`` entry.
There is no ``importedAt`` (it exists nowhere in the stack, the doctypes or the libs).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from browserkonnector.save._util import iso
from browserkonnector.store._base import AppInfo

__all__ = ["get_cozy_metadata"]

DOCTYPE_VERSION = 1
METADATA_VERSION = 1


def get_cozy_metadata(
    app: AppInfo,
    *,
    source_account: str | None = None,
    source_account_identifier: str | None = None,
    existing: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The ``cozyMetadata`` to write (JS ``getCozyMetadata``).

    ``existing`` is the document's current ``cozyMetadata`` (on an update): its fields are kept
    (``createdAt``, ``createdByApp``, a higher ``doctypeVersion``, other apps' ``updatedByApps``
    entries), except ``updatedAt`` and this app's ``updatedByApps`` entry, which become ``now``.
    ``source_account`` / ``source_account_identifier`` (the io.cozy.accounts id and the login) are set
    when given and otherwise left as they were; a ``None`` never lands in the document.
    """
    stamp = iso(now or dt.datetime.now(dt.UTC))
    mine = {"slug": app.slug, "date": stamp, "version": app.version}
    meta: dict[str, Any] = {
        "doctypeVersion": DOCTYPE_VERSION,
        "metadataVersion": METADATA_VERSION,
        "createdAt": stamp,
        "createdByApp": app.slug,
        "createdByAppVersion": app.version,
    }
    updated_by: list[Any] = []
    if existing:
        meta.update({k: v for k, v in existing.items() if v is not None})
        updated_by = [dict(e) if isinstance(e, Mapping) else e for e in existing.get("updatedByApps") or []]
    for i, entry in enumerate(updated_by):
        if isinstance(entry, Mapping) and entry.get("slug") == app.slug:
            updated_by[i] = mine
            break
    else:
        updated_by.append(mine)
    meta["updatedAt"] = stamp
    meta["updatedByApps"] = updated_by
    if source_account is not None:
        meta["sourceAccount"] = source_account
    if source_account_identifier is not None:
        meta["sourceAccountIdentifier"] = source_account_identifier
    return meta
