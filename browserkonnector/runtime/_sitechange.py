"""Site-change detection: notice that a vendor's site changed, instead of succeeding with "0 bills".

Connectors break when sites change, and the usual symptom is the worst one: a run that succeeds and saves
nothing. So each successful run leaves a *fingerprint* in the account data (key ``browserkonnector``):

- the **shape** of every API answer the connector captured (a small JSON schema: types, properties,
  array items), per step — :meth:`ShapeRecorder.observe`, called for you by ``ctx.capture_json``;
- **how many items** each step found — :meth:`ShapeRecorder.count`.

The next run compares what it sees with that fingerprint. A step whose answer lost a property or changed
a type, or a step that finds nothing where it found items before, makes the run end with
``UNKNOWN_ERROR.SITE_CHANGED`` and a readable report (which step, what changed) — also when the change
made the connector crash on the way (the report then explains the crash). Properties that appear are
reported but are no change: sites add fields all the time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from browserkonnector.store._mango import json_type

__all__ = ["FINGERPRINT_KEY", "ShapeRecorder", "SiteChange", "diff_shapes", "merge_shapes", "shape_of"]

FINGERPRINT_KEY = "browserkonnector"
Shape = dict[str, Any]


def shape_of(value: Any, *, depth: int = 8) -> Shape:
    """A small JSON schema of ``value``: ``{"type": ..., "properties" | "items": ...}``."""
    kind = json_type(value)
    shape: Shape = {"type": [kind]}
    if depth <= 0:
        return shape
    if kind == "object" and isinstance(value, Mapping):
        shape["properties"] = {str(k): shape_of(v, depth=depth - 1) for k, v in value.items()}
    elif kind == "array":
        items: Shape | None = None
        for item in list(value)[:200]:  # enough to see every variant of a list of records
            one = shape_of(item, depth=depth - 1)
            items = one if items is None else merge_shapes(items, one)
        if items is not None:
            shape["items"] = items
    return shape


def merge_shapes(a: Shape, b: Shape) -> Shape:
    """The shape that accepts both (union of types; properties of both; nested merges)."""
    merged: Shape = {"type": sorted(set(a.get("type", [])) | set(b.get("type", [])))}
    if "properties" in a or "properties" in b:
        props_a, props_b = a.get("properties", {}), b.get("properties", {})
        merged["properties"] = {
            key: merge_shapes(props_a[key], props_b[key])
            if key in props_a and key in props_b
            else (props_a.get(key) or props_b[key])
            for key in {**props_a, **props_b}
        }
    if "items" in a or "items" in b:
        merged["items"] = (
            merge_shapes(a["items"], b["items"]) if "items" in a and "items" in b else a.get("items") or b["items"]
        )
    return merged


def diff_shapes(before: Shape, after: Shape, path: str = "$") -> tuple[list[str], list[str]]:
    """``(breaking, additions)``: human lines describing how ``after`` differs from ``before``.

    Breaking: a property gone, a type no longer seen (``null`` coming or going is ignored: optional
    values), items of an array gone. Additions: new properties.
    """
    breaking: list[str] = []
    additions: list[str] = []
    types_before = set(before.get("type", [])) - {"null"}
    types_after = set(after.get("type", [])) - {"null"}
    if types_before and types_after and not types_before & types_after:
        breaking.append(f"{path}: was {'|'.join(sorted(types_before))}, now {'|'.join(sorted(types_after))}")
        return breaking, additions
    props_before, props_after = before.get("properties"), after.get("properties")
    if props_before is not None and props_after is not None:
        for key in sorted(props_before):
            if key not in props_after:
                breaking.append(f"{path}.{key}: missing (was {'|'.join(props_before[key].get('type', []))})")
            else:
                b, a = diff_shapes(props_before[key], props_after[key], f"{path}.{key}")
                breaking += b
                additions += a
        additions += [f"{path}.{key}: new" for key in sorted(set(props_after) - set(props_before))]
    if "items" in before and "items" in after:
        b, a = diff_shapes(before["items"], after["items"], f"{path}[]")
        breaking += b
        additions += a
    return breaking, additions


@dataclass
class SiteChange:
    """What changed, per step, in words."""

    changes: dict[str, list[str]]
    additions: dict[str, list[str]] = field(default_factory=dict)

    def report(self) -> str:
        lines = ["The vendor's site changed since the last good run:"]
        for step, items in self.changes.items():
            lines.append(f"  step {step!r}:")
            lines += [f"    - {item}" for item in items]
        for step, items in self.additions.items():
            if items:
                lines.append(f"  step {step!r} (new, harmless): " + ", ".join(items[:10]))
        return "\n".join(lines)

    @property
    def steps(self) -> list[str]:
        return list(self.changes)


class ShapeRecorder:
    """Collects the run's observations and compares them with the last good run's fingerprint."""

    def __init__(self, previous: Mapping[str, Any] | None = None) -> None:
        previous = previous or {}
        self.previous_shapes: dict[str, Shape] = dict(previous.get("shapes") or {})
        self.previous_counts: dict[str, int] = dict(previous.get("counts") or {})
        self.shapes: dict[str, Shape] = {}
        self.counts: dict[str, int] = {}

    def observe(self, step: str, value: Any) -> None:
        """Record the shape of a value a step captured (merged over repeated answers of one step)."""
        shape = shape_of(value)
        self.shapes[step] = merge_shapes(self.shapes[step], shape) if step in self.shapes else shape

    def count(self, step: str, found: int) -> None:
        """Record how many items a step found (added up over repeated calls)."""
        self.counts[step] = self.counts.get(step, 0) + found

    def compare(self) -> SiteChange | None:
        """The change against the last good run, or ``None`` when nothing breaking is seen."""
        changes: dict[str, list[str]] = {}
        additions: dict[str, list[str]] = {}
        for step, shape in self.shapes.items():
            if step in self.previous_shapes:
                breaking, added = diff_shapes(self.previous_shapes[step], shape)
                if breaking:
                    changes[step] = breaking
                additions[step] = added
        for step, before in self.previous_counts.items():
            now = self.counts.get(step)
            if before > 0 and now == 0:
                changes.setdefault(step, []).append(f"found nothing (found {before} on the last good run)")
        return SiteChange(changes, additions) if changes else None

    def fingerprint(self) -> dict[str, Any]:
        """What to keep in the account data after a good run (previous steps not seen this time stay)."""
        return {
            "shapes": {**self.previous_shapes, **self.shapes},
            "counts": {**self.previous_counts, **{k: v for k, v in self.counts.items()}},
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
