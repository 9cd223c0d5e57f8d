"""What changed between two recordings of the same connector, in words a reviewer reads in a minute.

``--record DIR`` over an existing recording writes the new one and prints this summary (also kept as
``recording-diff.txt``): per endpoint (``GET /api/bills/{id}/pdf``: path segments holding a digit are
folded), how many exchanges were added, removed or changed, and for a changed JSON answer how its *shape*
moved (``+ items[].dueDate``, ``- total``, ``amount: number → string``): a site that changed its API shows
up here before a connector breaks on it.

Exchanges are paired per endpoint by their matching :class:`~.instrument._matching.Key` (volatile parameters
dropped, so a new cache buster is no change), in recorded order. Bodies are compared with each
recording's origin folded to ``{{origin}}`` (the demo site's port differs on every record).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from browserkonnector.browser.instrument._matching import Key, endpoint_of, learn_volatile, normalise
from browserkonnector.browser.instrument._recording import Exchange, Recording

__all__ = ["EndpointChange", "RecordingDiff", "diff_recordings", "json_shape"]


@dataclass
class EndpointChange:
    endpoint: str
    before: int
    after: int
    added: int = 0
    removed: int = 0
    changes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len(self.changes)

    def line(self) -> str:
        mark = (
            "+"
            if self.added and not self.removed and not self.changes
            else "-"
            if self.removed and not self.added and not self.changes
            else "~"
        )
        parts = [
            f"{n} {what}"
            for n, what in ((self.added, "added"), (self.removed, "removed"), (self.changed, "changed"))
            if n
        ]
        text = f"{mark} {self.endpoint}: {', '.join(parts)} ({self.before} → {self.after})"
        details = sorted(set(self.changes))
        return (
            text
            + "".join(f"\n    {d}" for d in details[:8])
            + (f"\n    … and {len(details) - 8} more" if len(details) > 8 else "")
        )


@dataclass
class RecordingDiff:
    before_total: int
    after_total: int
    endpoints: list[EndpointChange]
    unchanged: int

    @property
    def changed(self) -> bool:
        return bool(self.endpoints)

    def text(self) -> str:
        added = sum(e.added for e in self.endpoints)
        removed = sum(e.removed for e in self.endpoints)
        changed = sum(e.changed for e in self.endpoints)
        head = (
            f"recording updated: {self.after_total} exchanges (was {self.before_total}): {added} added, "
            f"{removed} removed, {changed} changed, {self.unchanged} unchanged"
        )
        if not self.endpoints:
            return head + "\nno change in what the connector asked or what the site answered\n"
        return head + "\n" + "\n".join(e.line() for e in self.endpoints) + "\n"


def json_shape(node: Any, path: str = "") -> dict[str, str]:
    """``{"items[].amount": "number", ...}``: every path of a JSON document and its type."""
    shape: dict[str, str] = {}
    if isinstance(node, dict):
        shape[path or "$"] = "object"
        for key, value in node.items():
            shape.update(json_shape(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(node, list):
        shape[path or "$"] = "array"
        for item in node:
            for sub, kind in json_shape(item, f"{path}[]").items():
                shape.setdefault(sub, kind)
    else:
        kind = (
            "null"
            if node is None
            else "boolean"
            if isinstance(node, bool)
            else "number"
            if isinstance(node, int | float)
            else "string"
        )
        shape[path or "$"] = kind
    return shape


def _body_text(exchange: Exchange) -> bytes:
    origin = exchange.url.split("/", 3)[:3]
    return exchange.response_body.replace("/".join(origin).encode(), b"{{origin}}")


def _describe(old: Exchange, new: Exchange) -> str | None:
    if old.status != new.status:
        return f"status {old.status} → {new.status}"
    if old.error != new.error:
        return f"error {old.error or 'none'} → {new.error or 'none'}"
    before, after = _body_text(old), _body_text(new)
    if before == after:
        return None
    if old.content_type != new.content_type:
        return f"content type {old.content_type or '?'} → {new.content_type or '?'}"
    if "json" in new.content_type:
        try:
            a, b = json_shape(json.loads(before)), json_shape(json.loads(after))
        except ValueError:
            return "body changed (not JSON any more)"
        notes = [f"+ {p}" for p in sorted(set(b) - set(a))] + [f"- {p}" for p in sorted(set(a) - set(b))]
        notes += [f"{p}: {a[p]} → {b[p]}" for p in sorted(set(a) & set(b)) if a[p] != b[p]]
        return "shape: " + ", ".join(notes[:6]) if notes else "values changed (same shape)"
    return f"body changed ({len(before)} → {len(after)} bytes)"


def diff_recordings(old: Recording, new: Recording) -> RecordingDiff:
    """Compare ``old`` and ``new`` (see the module docstring)."""
    rules = new.rules
    learned = learn_volatile([e.request for e in old.exchanges + new.exchanges], rules)

    def grouped(recording: Recording) -> dict[str, dict[Key, list[Exchange]]]:
        groups: dict[str, dict[Key, list[Exchange]]] = defaultdict(lambda: defaultdict(list))
        for exchange in recording.exchanges:
            key = normalise(exchange.request, rules, learned)
            groups[endpoint_of(exchange.method, exchange.url)][key].append(exchange)
        return groups

    before, after = grouped(old), grouped(new)
    endpoints: list[EndpointChange] = []
    unchanged = 0
    for endpoint in sorted(set(before) | set(after)):
        olds, news = before.get(endpoint, {}), after.get(endpoint, {})
        change = EndpointChange(endpoint, sum(map(len, olds.values())), sum(map(len, news.values())))
        for key in set(olds) | set(news):
            a, b = olds.get(key, []), news.get(key, [])
            for first, second in zip(a, b, strict=False):
                note = _describe(first, second)
                if note is None:
                    unchanged += 1
                else:
                    change.changes.append(f"{key.describe(80)}: {note}")
            change.removed += max(0, len(a) - len(b))
            change.added += max(0, len(b) - len(a))
        if change.added or change.removed or change.changes:
            endpoints.append(change)
    return RecordingDiff(len(old.exchanges), len(new.exchanges), endpoints, unchanged)
