"""The bank connector, offline: replayed from the committed recording with no site running.

``recordings/small`` was made by ``scripts/record-bank`` against a small bank site (its config is in the
recording's notes): the worker's API requests, the boot modules and the login are all answered from the
recording, and the connector still reads IndexedDB and the virtualised table of a real Chromium.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from bank_spa_site import BankConfig, BankSite

from browserkonnector.browser import Recording
from browserkonnector.testing import ConnectorRun

pytestmark = pytest.mark.browser
CONNECTOR = Path(__file__).resolve().parents[1]
RECORDING = Path(__file__).resolve().parent / "recordings" / "small"


def listening(origin: str) -> bool:
    host, port = origin.rsplit("/", 1)[1].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return False
    return True


def test_offline_from_recording(run_connector: Callable[..., ConnectorRun], tmp_path: Path) -> None:
    recording = Recording.load(RECORDING)
    (origin,) = recording.origins
    assert not listening(origin), f"something listens on the recorded {origin}: this test must run offline"
    site = BankSite(BankConfig(**{k: v for k, v in recording.notes["site"].items() if k != "password"}))
    artifacts = tmp_path / "artifacts"
    run = run_connector(
        CONNECTOR, replay=RECORDING, artifacts_dir=artifacts, fields={"base_url": origin, "password": "typed-at-replay"}
    )
    assert run.ok, run.explain()
    ops = run.documents("io.cozy.bank.operations")
    assert sorted(o["vendorId"] for o in ops) == sorted(o["id"] for o in site.expected_operations())
    accounts = {a["vendorId"]: a["_id"] for a in run.documents("io.cozy.bank.accounts")}
    assert {o["account"] for o in ops} == set(accounts.values())
    (report_file,) = artifacts.glob("*-replay.json")
    report = json.loads(report_file.read_text())
    assert report["misses"] == []
    assert report["passed_to_network"] == 0
    assert report["served"]["total"] == len(recording.exchanges)
    assert any("/api/accounts/" in e.url for e in recording.exchanges)  # the worker's requests, replayed


def test_the_recording_holds_no_password_nor_session() -> None:
    text = (RECORDING / "recording.har").read_text()
    assert BankConfig().password not in text
    assert "{{cookie:bank_session}}" in text
