"""The shop connector, offline: replayed from the committed recordings with no shop running.

``recordings/seed-0`` and ``seed-1`` were recorded by ``scripts/record-shop`` against shops with other
CSRF tokens and session ids for the same orders: the same test passes on both, with a password that is
not the recorded one (the recording holds ``{{password}}``, never the value). The expected orders are
recomputed from ``shop_site`` with the config kept in the recording's notes, without a server.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from shop_site import ShopConfig, ShopSite

from browserkonnector.browser import Recording
from browserkonnector.testing import ConnectorRun

pytestmark = pytest.mark.browser

CONNECTOR = Path(__file__).resolve().parent.parent
RECORDINGS = Path(__file__).resolve().parent / "recordings"
TYPED_PASSWORD = "typed-at-replay-9!"


def listening(origin: str) -> bool:
    host, port = origin.rsplit("/", 1)[1].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return False
    return True


def replay_report(artifacts: Path) -> dict[str, Any]:
    reports = sorted(artifacts.glob("*-replay.json"))
    assert len(reports) == 1, f"expected one replay report in {artifacts}, found {reports}"
    report: dict[str, Any] = json.loads(reports[0].read_text())
    return report


@pytest.mark.parametrize("name", ["seed-0", "seed-1"])
def test_offline_from_recording(name: str, run_connector: Callable[..., ConnectorRun], tmp_path: Path) -> None:
    folder = RECORDINGS / name
    recording = Recording.load(folder)
    assert recording.meta["outcome"]["ok"]
    notes = recording.notes
    (origin,) = recording.origins
    assert not listening(origin), f"something listens on the recorded {origin}: this test must run offline"
    artifacts = tmp_path / "artifacts"
    run = run_connector(
        CONNECTOR,
        replay=folder,
        artifacts_dir=artifacts,
        fields={"base_url": origin, "login": notes["user"], "password": TYPED_PASSWORD},
    )
    assert run.ok, run.explain()
    expected = ShopSite(ShopConfig(**notes["site"])).orders(notes["user"])  # computed, no server started
    saved = {b["vendorRef"]: b for b in run.bills()}
    assert sorted(saved) == sorted(o.number for o in expected)
    for order in expected:
        bill = saved[order.number]
        assert (bill["amount"], str(bill["date"])[:10]) == (float(order.total), order.placed.isoformat())
        assert order.invoice_number in run.pdf_text(bill)
    report = replay_report(artifacts)
    assert report["misses"] == []
    assert report["passed_to_network"] == 0
    assert report["served"]["total"] == len(recording.exchanges) == report["recorded"]
    assert report["served"]["browser"] > 0
    assert report["served"]["http"] > 0


def test_the_recordings_hold_placeholders_not_secrets() -> None:
    anna = ShopSite().customers[0]
    for name in ("seed-0", "seed-1"):
        text = (RECORDINGS / name / "recording.har").read_text(encoding="utf-8")
        assert anna.password not in text
        assert "password=%7B%7Bpassword%7D%7D" in text  # {{password}}, form-encoded
        assert "{{cookie:sessionid}}" in text
        assert "csrfmiddlewaretoken={{cookie:csrftoken}}" in text
        # each order's key in its URLs (it opens the order to whoever has the link) is a placeholder too
        keys = set(re.findall(r"[?&]key=([^&\"\s\\]+)", text))
        assert keys == {"{{query:key}}"}, keys
