"""Helpers of the fault suite: run the demo connector in a subprocess against a misbehaving demo site."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from demo_vendor_site import DemoSite

from tests.e2e.conftest import DEMO_CONNECTOR, CliRun, alice, run_cli


@dataclass
class Outcome:
    run: CliRun

    @property
    def code(self) -> str | None:
        """The critical line's code (None for a success)."""
        for line in reversed(self.run.stdout.strip().splitlines()):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            return str(entry["message"]) if entry.get("type") == "critical" else None
        return None

    def messages(self, kind: str) -> list[str]:
        out = []
        for line in self.run.stdout.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("type") == kind:
                out.append(str(entry["message"]))
        return out


def run_demo(
    site: DemoSite,
    tmp_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    extra: Sequence[str] = (),
    connector: Path = DEMO_CONNECTOR,
    timeout: float = 150,
) -> Outcome:
    login, password = alice(site)
    args = [
        "run",
        str(connector),
        "--store",
        str(tmp_path / "store"),
        "--artifacts",
        str(tmp_path / "art"),
        "--offline-dns",
        "--log",
        "json",
        "--field",
        f"base_url={site.url}",
        "--field",
        f"login={login}",
        "--field",
        f"password={password}",
        *extra,
    ]
    return Outcome(run_cli(args, env=dict(env or {}), timeout=timeout))
