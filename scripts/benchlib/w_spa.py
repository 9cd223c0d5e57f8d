"""Workload 9: the heavy local-first SPA (``bank_spa_site``), whole runs, each variant a process of its own.

The bank connector (``connectors/bank_spa``) through the CLI against the bank app (itself a separate
process): a multi-MB bundle and 200+ modules before the login page, a sync worker, a virtualised table.
Variants, interleaved round after round like workloads 1 and 7:

- ``framework``: ``--trace off``; ``raw_bank``: the same job in raw Playwright with hand-written JavaScript
  (:mod:`benchlib.baselines.raw_bank`);
- ``traced``: ``--trace retain-on-failure`` as a run gets it by default;
- ``traced_full``, ``traced_screens``, ``traced_snaps``, ``traced_bare``: the same mode recording
  screenshots + snapshots, screenshots only, DOM snapshots only (with the response bodies they keep),
  neither (actions and the network log only), chosen with ``BROWSERKONNECTOR_TRACE_PARTS`` — what each
  part of a trace costs on such an app.

Every run is checked: the framework must report every operation new, raw_bank must write them all.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchlib.common import PYTHON, REPO, SCRIPTS, VENV_BIN, BenchError, child_env
from benchlib.procs import Outcome, Service, run_timed
from benchlib.report import Row
from benchlib.w_runs import Samples, Scratch, Variant, interleave

BANK_CONNECTOR = REPO / "connectors" / "bank_spa"
BANK_PASSWORD = "open-sesame-4242"  # the bank app's public fixture password, printed by the app itself
_SAVED = re.compile(r"io\.cozy\.bank\.operations: (\d+) new")
#: variant -> BROWSERKONNECTOR_TRACE_PARTS (None: the variant is not traced, or traced with the default)
TRACE_VARIANTS = {
    "traced_full": "screenshots,snapshots",
    "traced_screens": "screenshots",
    "traced_snaps": "snapshots",
    "traced_bare": "none",
}


@dataclass
class SpaSizes:
    bundle_kb: int = 3072
    boot_requests: int = 220
    accounts: int = 2
    operations: int = 150
    runs: int = 3

    @property
    def expected(self) -> int:
        return self.accounts * self.operations


def bank_site(sizes: SpaSizes) -> Service:
    return Service(
        [
            PYTHON,
            "-m",
            "bank_spa_site",
            "--port",
            "0",
            "--bundle-kb",
            str(sizes.bundle_kb),
            "--boot-requests",
            str(sizes.boot_requests),
            "--accounts",
            str(sizes.accounts),
            "--operations",
            str(sizes.operations),
        ],
        env=child_env(),
    )


def bank_command(url: str, folder: Path, *extra: str) -> list[str]:
    """``browserkonnector run`` of the bank connector against ``url``, its store and artifacts in
    ``folder`` (workloads 9 and 11)."""
    return [
        str(VENV_BIN / "browserkonnector"),
        "run",
        str(BANK_CONNECTOR),
        "--store",
        str(folder / "store"),
        "--artifacts",
        str(folder / "artifacts"),
        "--field",
        f"base_url={url}",
        "--field",
        f"password={BANK_PASSWORD}",
        "--offline-dns",
        "--log",
        "json",
        "--locale",
        "en-US",
        *extra,
    ]


def _framework(scratch: Scratch, url: str, sizes: SpaSizes, trace: str, parts: str | None = None) -> Variant:
    def run() -> Outcome:
        folder = scratch.fresh(f"bank-{trace}-{parts}")
        command = bank_command(url, folder, "--trace", trace)
        env = child_env(**({"BROWSERKONNECTOR_TRACE_PARTS": parts} if parts else {}))
        try:
            outcome = run_timed(command, env=env, cwd=folder)
            found = _SAVED.search(outcome.stdout)
            if not outcome.ok or found is None or int(found.group(1)) != sizes.expected:
                raise BenchError(
                    f"the bank connector saved {found.group(1) if found else 'nothing'} operations, "
                    f"expected {sizes.expected}: " + outcome.describe_failure()
                )
            return outcome
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return run


def _raw(scratch: Scratch, url: str, sizes: SpaSizes) -> Variant:
    def run() -> Outcome:
        folder = scratch.fresh("raw-bank")
        try:
            outcome = run_timed(
                [
                    PYTHON,
                    "-m",
                    "benchlib.baselines.raw_bank",
                    "--url",
                    url,
                    "--out",
                    str(folder),
                    "--password",
                    BANK_PASSWORD,
                ],
                env=child_env(),
                cwd=SCRIPTS,
            )
            if not outcome.ok:
                raise BenchError("raw_bank failed: " + outcome.describe_failure())
            saved = json.loads((folder / "bank.json").read_text(encoding="utf-8"))
            if len(saved["operations"]) != sizes.expected:
                raise BenchError(f"raw_bank wrote {len(saved['operations'])} operations, expected {sizes.expected}")
            outcome.extra.update(outcome.last_json())
            return outcome
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return run


def heavy_spa(sizes: SpaSizes, log: Callable[[str], None]) -> list[Row]:
    log(
        f"workload 9: heavy SPA, {sizes.bundle_kb} KiB bundle, {sizes.boot_requests} boot modules, "
        f"{sizes.accounts}×{sizes.operations} operations, {sizes.runs} rounds"
    )
    with tempfile.TemporaryDirectory(prefix="bk-bench-spa-") as tmp, bank_site(sizes) as site:
        scratch = Scratch(Path(tmp))
        variants: dict[str, Variant] = {
            "framework": _framework(scratch, site.url, sizes, "off"),
            "raw_bank": _raw(scratch, site.url, sizes),
            "traced": _framework(scratch, site.url, sizes, "retain-on-failure"),
            **{
                name: _framework(scratch, site.url, sizes, "retain-on-failure", parts)
                for name, parts in TRACE_VARIANTS.items()
            },
        }
        samples = Samples()
        interleave(variants, sizes.runs, samples, log)
    wall, fw = samples.wall, samples.wall["framework"]
    size = f"{sizes.bundle_kb / 1024:.1f} MiB bundle, {sizes.boot_requests} modules, {sizes.expected} operations"
    rows = [
        Row(
            "9",
            f"heavy SPA ({size}): bank connector vs raw Playwright + hand-written JS",
            "s",
            fw,
            baseline=wall["raw_bank"],
            baseline_label="raw_bank",
            target_op="<=",
            target=1.15,
            target_text="≤ 1.15",
        ),
        Row(
            "9",
            "… --trace retain-on-failure (the default trace) vs --trace off",
            "s",
            wall["traced"],
            value_label="traced",
            baseline=fw,
            baseline_label="framework",
            target_op="<=",
            target=1.15,
            target_text="≤ 1.15",
        ),
    ]
    labels = {
        "traced_full": "screenshots + snapshots",
        "traced_screens": "screenshots only",
        "traced_snaps": "snapshots only",
        "traced_bare": "neither (actions + network)",
    }
    for name, label in labels.items():
        rows.append(
            Row(
                "9",
                f"… traced with {label} vs --trace off",
                "s",
                wall[name],
                value_label=name,
                baseline=fw,
                baseline_label="framework",
                target_text="info",
            )
        )
    return rows
