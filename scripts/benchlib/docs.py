"""Write the latest table into docs/performance.md, between two markers, keeping the hand-written rest.

The analysis (why a target is missed, what would close it) is prose a person writes after reading the
numbers; the bench only replaces the block between :data:`BEGIN` and :data:`END`. A file without the
markers gets a skeleton with the block in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

BEGIN = "<!-- scripts/bench: begin (generated, replaced on every run) -->"
END = "<!-- scripts/bench: end -->"

SKELETON = """# Performance

How fast and how cheaply a connector gets a person's bills on a 2-core machine, against baselines
measured in the same run. Regenerate the table with `scripts/bench` (see *Method* below).

{block}

## Method

See `scripts/benchlib/__main__.py` and the docstrings of each workload module.
"""


def block(
    table: str, info: Mapping[str, str], *, when: str, runs: int, smoke: bool, elapsed_s: float, command: str
) -> str:
    machine = "\n".join(f"- {key}: {value}" for key, value in info.items())
    kind = "smoke sizes (not a measurement)" if smoke else f"{runs} round(s) per workload, medians"
    return (
        f"{BEGIN}\n\n## Latest table\n\n`{command}` — {when}, {kind}, {elapsed_s / 60:.0f} min.\n\n"
        f"{machine}\n\n{table}\n\nRatios compare medians measured in the same run (variants "
        "interleaved); the bracketed lists are the individual rounds.\n\n" + END
    )


def write_doc(
    path: Path,
    table: str,
    info: Mapping[str, str],
    *,
    when: str,
    runs: int,
    smoke: bool,
    elapsed_s: float,
    command: str,
) -> None:
    new = block(table, info, when=when, runs=runs, smoke=smoke, elapsed_s=elapsed_s, command=command)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + new + tail
    else:
        text = SKELETON.format(block=new)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
