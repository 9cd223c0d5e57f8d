"""Workload 11: the heavy local-first SPA, a second run on the kept profile against a first run.

The bank connector (``connectors/bank_spa``, ``keep_profile=True``) through the CLI against the bank app in
its own process, as in workload 9. Each round:

- *first*: a new store (a new account: no vault, no profile, nothing saved): the app downloads its bundle
  and modules, asks for the password, syncs everything; the connector reads every table and saves all;
- *second*: the same command on that store: the profile is restored (HTTP cache, IndexedDB with the
  worker's cursors) and the session with it; the app comes up unlocked and syncs nothing new, and the
  incremental connector reads no table;
- *second_full*: once more with ``--full-sync``: the profile does its part but the connector reads every
  table again (what the profile alone is worth to a connector that is not incremental).

Each run is checked on the bank site's counters, and a run that does otherwise fails the workload:
first — the bundle, every module, one login, a full sync; second and second_full — no bundle or module
download, no login, every account answered "unchanged" by the sync API. Ratios are of the medians of the
same bench run.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx

from benchlib.common import BenchError, child_env
from benchlib.procs import Outcome, run_timed
from benchlib.report import Row
from benchlib.w_runs import Samples, Scratch
from benchlib.w_spa import SpaSizes, bank_command, bank_site

_SAVED = re.compile(r"io\.cozy\.bank\.operations: (\d+) new")


def _stats(url: str) -> dict[str, int]:
    stats: dict[str, int] = httpx.get(f"{url}/__bank__/stats", timeout=30).json()
    return stats


def _check(name: str, delta: dict[str, int], sizes: SpaSizes, saved: int) -> None:
    """What the site must have seen, per variant (see the module docstring)."""
    if name == "first":
        want = {"vendor": 1, "module": sizes.boot_requests, "logins_ok": 1, "operations_unchanged": 0}
        new = sizes.expected
    else:
        want = {"vendor": 0, "module": 0, "login": 0, "operations_unchanged": sizes.accounts}
        new = 0
    seen = {route: delta.get(route, 0) for route in want}
    if seen != want or saved != new:
        raise BenchError(f"{name}: the site saw {seen}, expected {want}; {saved} new operation(s), expected {new}")


def kept_profile(sizes: SpaSizes, log: Callable[[str], None]) -> list[Row]:
    log(
        f"workload 11: heavy SPA, second run on the kept profile vs first run ({sizes.bundle_kb} KiB bundle, "
        f"{sizes.boot_requests} modules, {sizes.expected} operations), {sizes.runs} rounds"
    )
    with tempfile.TemporaryDirectory(prefix="bk-bench-profile-") as tmp, bank_site(sizes) as site:
        scratch = Scratch(Path(tmp))
        env = child_env(BROWSERKONNECTOR_VAULT_KEY_FILE=str(Path(tmp) / "vault.key"))
        samples = Samples()

        def run(name: str, folder: Path, *extra: str) -> Outcome:
            before = _stats(site.url)
            command = bank_command(site.url, folder, "--trace", "off", *extra)
            outcome = run_timed(command, env=env, cwd=folder)
            if not outcome.ok:
                raise BenchError(f"{name}: " + outcome.describe_failure())
            after = _stats(site.url)
            found = _SAVED.search(outcome.stdout)
            _check(
                name,
                {k: after.get(k, 0) - before.get(k, 0) for k in after},
                sizes,
                int(found.group(1)) if found else -1,
            )
            samples.add(name, outcome)
            log(
                f"  {name:<12} {outcome.wall_s:7.2f} s  CPU {outcome.cpu_s:6.2f} s  peak PSS "
                f"{outcome.peak_pss_mib:5.0f} MiB"
            )
            return outcome

        for number in range(sizes.runs):
            log(f"  round {number + 1}/{sizes.runs}")
            folder = scratch.fresh("account")
            try:
                run("first", folder)
                run("second", folder)
                run("second_full", folder, "--full-sync")
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    wall = samples.wall
    size = f"{sizes.bundle_kb / 1024:.1f} MiB bundle, {sizes.boot_requests} modules, {sizes.expected} operations"
    return [
        Row(
            "11",
            f"heavy SPA ({size}): second run on the kept profile vs first run; second: no bundle or module "
            "download, no login, no full sync, checked on the site's counters",
            "s",
            wall["second"],
            value_label="second",
            baseline=wall["first"],
            baseline_label="first",
            target_op="<=",
            target=0.5,
            target_text="≤ 0.5",
        ),
        Row(
            "11",
            "… the same with --full-sync (the connector reads every table again) vs first run",
            "s",
            wall["second_full"],
            value_label="second_full",
            baseline=wall["first"],
            baseline_label="first",
            target_text="info",
        ),
    ]


if __name__ == "__main__":  # a quick look: python -m benchlib.w_profile (from scripts/)
    for row in kept_profile(SpaSizes(runs=int(os.environ.get("RUNS", "1"))), print):
        print(row.what, row.value, row.baseline)
