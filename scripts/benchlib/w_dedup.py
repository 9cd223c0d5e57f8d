"""Workload 4: ``hydrate_and_filter`` of N incoming bills against M stored (``benchlib/bench_save.py``).

Runs :func:`benchlib.bench_save.bench_hydrate` (half of the incoming bills already stored, spread over the
doctype) at two stored sizes in separate worker processes: the time at the large size is checked against
0.2 s, and the peak Python memory of the call (tracemalloc) at both sizes shows whether memory grows with
the stored count (the ratio large / small should stay near 1).

Worker: ``python -m benchlib.w_dedup --stored M --incoming N --repeat R`` prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from benchlib.common import worker
from benchlib.report import Row


def dedup(stored: tuple[int, int], incoming: int, repeat: int, log: Callable[[str], None]) -> list[Row]:
    small, large = stored
    log(f"workload 4: hydrate_and_filter of {incoming} bills against {small} and {large} stored")
    results = {}
    for size in (small, large):
        results[size] = worker("w_dedup", "--stored", str(size), "--incoming", str(incoming), "--repeat", str(repeat))
        log(
            f"  {size:>7} stored: median {results[size]['median_s']:.3f} s (min {results[size]['min_s']:.3f}), "
            f"peak {results[size]['peak_mib']:.2f} MiB, fill {results[size]['fill_s']:.1f} s"
        )
    return [
        Row(
            "4",
            f"hydrate_and_filter of {incoming} incoming bills against {large} stored (LocalStore)",
            "s",
            [results[large]["median_s"]],
            target_op="<=",
            target=0.2,
            target_text="≤ 0.2 s",
            target_on="value",
            note=f"median of {repeat} calls, min {results[large]['min_s']:.3f} s; at {small} stored: "
            f"{results[small]['median_s']:.3f} s",
        ),
        Row(
            "4",
            f"… peak memory of the call (tracemalloc) at {large} vs {small} stored",
            "MiB",
            [results[large]["peak_mib"]],
            value_label=f"{large} stored",
            baseline=[results[small]["peak_mib"]],
            baseline_label=f"{small} stored",
            target_op="<=",
            target=1.5,
            target_text="≈ 1 (flat; ≤ 1.5)",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, required=True)
    parser.add_argument("--incoming", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from benchlib.bench_save import bench_hydrate

    result = bench_hydrate(args.stored, args.incoming, args.repeat)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
