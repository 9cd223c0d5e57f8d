"""File qualification by label: ``metadata.qualification`` from cozy-client's list of labels.

Cozy apps (Drive, Mes Papiers) sort a file by ``metadata.qualification`` (``label``, ``purpose``,
``sourceCategory``, ``sourceSubCategory``, ``subjects``). A connector names the label only, as
cozy-clisk's ``qualificationLabel`` option does, and the rest comes from the shared list, so every
connector qualifies an energy bill the same way.

``qualifications.json`` is a copy of ``dist/assets/qualifications.json`` from the npm package
``cozy-client`` 45.15.0 (MIT licence, © Cozy Cloud), unchanged; refresh it from a newer cozy-client.
"""

from __future__ import annotations

import copy
import difflib
import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["qualification_for", "qualification_labels"]


@cache
def _table() -> dict[str, dict[str, Any]]:
    raw = json.loads(resources.files(__package__).joinpath("qualifications.json").read_text("utf-8"))
    return {entry["label"]: entry for entry in raw["qualifications"]}


def qualification_labels() -> list[str]:
    """Every known label, in cozy-client's order."""
    return list(_table())


def qualification_for(label: str) -> dict[str, Any]:
    """The ``metadata.qualification`` object for ``label`` (a fresh copy, safe to mutate).

    An unknown label is a programming error in the connector: ``ValueError`` naming it and the
    closest known labels, so ``"energy_bill"`` fails with a hint towards ``"energy_invoice"``.
    """
    table = _table()
    if label not in table:
        close = difflib.get_close_matches(str(label), table, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"unknown qualification label {label!r}{hint} (see save/qualifications.json)")
    return copy.deepcopy(table[label])
