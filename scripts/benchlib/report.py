"""The results table: every figure as a median over runs, its same-run baseline, the ratio, the verdict.

A :class:`Row` holds the raw samples of both sides, so the medians, the ratio and the verdict are
computed here, once, the same way for every workload. A ratio is always written so that the target
reads as in the issue ("framework / raw_fast ≤ 1.15", "naive / framework ≥ 3").
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

Op = Literal["<=", ">="]


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


@dataclass
class Row:
    """One line of the table.

    ``ratio`` is ``numerator / denominator`` of the two medians (which side is which depends on the
    target); a row without a baseline (an absolute target) compares ``value`` itself to ``target``.
    """

    workload: str
    what: str
    unit: str
    value: list[float] = field(default_factory=list)
    value_label: str = "framework"
    baseline: list[float] = field(default_factory=list)
    baseline_label: str = ""
    invert: bool = False  # ratio = baseline / value (e.g. "naive / framework ≥ 3")
    target_op: Op | None = None
    target: float | None = None
    target_text: str = ""
    target_on: Literal["ratio", "value"] = "ratio"  # "value": an absolute target (peak PSS, seconds)
    note: str = ""
    missing: str = ""  # why a side could not be measured (the row still prints, with n/a)

    @property
    def value_median(self) -> float | None:
        return median(self.value)

    @property
    def baseline_median(self) -> float | None:
        return median(self.baseline)

    @property
    def ratio(self) -> float | None:
        value, base = self.value_median, self.baseline_median
        if not self.baseline_label:
            return None
        if value is None or base is None or (base if not self.invert else value) == 0:
            return None
        return base / value if self.invert else value / base

    @property
    def ratio_label(self) -> str:
        if not self.baseline_label:
            return ""
        return (
            f"{self.baseline_label} / {self.value_label}"
            if self.invert
            else f"{self.value_label} / {self.baseline_label}"
        )

    @property
    def compared(self) -> float | None:
        """What the target is checked on: the ratio, or the value itself for an absolute target."""
        return self.ratio if self.baseline_label and self.target_on == "ratio" else self.value_median

    @property
    def verdict(self) -> str:
        if self.target_op is None or self.target is None:
            return "info"
        got = self.compared
        if got is None:
            return "n/a"
        ok = got <= self.target if self.target_op == "<=" else got >= self.target
        return "PASS" if ok else "MISS"


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MiB":
        return f"{value:.0f} MiB" if value >= 10 else f"{value:.2f} MiB"
    if unit == "/s":
        return f"{value:.1f} /s"
    if unit == "req":
        return f"{value:.0f}"
    if unit == "req/bill":
        return f"{value:.2f}"
    return f"{value:.3g} {unit}".strip()


def _samples(values: Sequence[float], unit: str) -> str:
    if len(values) <= 1:
        return ""
    shown = ", ".join(fmt(v, unit).split(" ")[0] for v in values)
    return f" [{shown}]"


def render(rows: Sequence[Row]) -> str:
    """A Markdown table; ratios first, then the medians they come from."""
    head = (
        "| # | measure | ratio (same run) | target | verdict | framework (median) "
        "| baseline (median) |\n|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for row in rows:
        ratio = row.ratio
        if row.baseline_label:
            ratio_text = f"**{ratio:.2f}** ({row.ratio_label})" if ratio is not None else f"n/a ({row.ratio_label})"
        else:
            ratio_text = "—"
        value = f"{fmt(row.value_median, row.unit)}{_samples(row.value, row.unit)}"
        if row.value_label != "framework":
            value = f"{row.value_label}: {value}"
        base = "—"
        if row.baseline_label:
            base = f"{row.baseline_label}: {fmt(row.baseline_median, row.unit)}{_samples(row.baseline, row.unit)}"
        what = row.what + (f" — {row.note}" if row.note else "") + (f" — *{row.missing}*" if row.missing else "")
        lines.append(
            f"| {row.workload} | {what} | {ratio_text} | {row.target_text or '—'} | {row.verdict} | {value} | {base} |"
        )
    return "\n".join(lines)


def render_text(rows: Sequence[Row]) -> str:
    """The same table for a terminal: one line per row, ratio first."""
    out = []
    for row in rows:
        ratio = row.ratio
        ratio_text = (
            f"{ratio:6.2f} {row.ratio_label}"
            if ratio is not None
            else (f"   n/a {row.ratio_label}" if row.baseline_label else "     —")
        )
        base = f"  vs {row.baseline_label} {fmt(row.baseline_median, row.unit)}" if row.baseline_label else ""
        missing = f"  ({row.missing})" if row.missing else ""
        out.append(
            f"[{row.verdict:>4}] {row.workload:<3} {row.what:<48} ratio {ratio_text:<34} "
            f"target {row.target_text or '—':<10} {row.value_label} {fmt(row.value_median, row.unit)}"
            f"{base}{missing}"
        )
    return "\n".join(out)
