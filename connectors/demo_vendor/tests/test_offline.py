"""The demo connector, offline: replayed from the committed recordings with the demo site stopped.

``recordings/seed-0`` and ``recordings/seed-1`` were recorded by ``scripts/record-demo`` against sites
with other volatile values (CSRF tokens, session ids, API tokens, cache-buster timing) and the same
bills: the same test must pass on both. The site's config is in each recording's notes, so the expected
bills are recomputed from ``demo_vendor_site`` without starting a server. Every request the replay
answers is counted; none is passed on to a network (``--replay`` also implies ``--offline-dns``).
"""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from demo_vendor_site import DemoSite, SiteConfig
from pypdf import PdfReader

from browserkonnector import Redactor
from browserkonnector.browser import Recording, find_secrets
from browserkonnector.testing import ConnectorRun

pytestmark = pytest.mark.browser

CONNECTOR = Path(__file__).resolve().parent.parent
RECORDINGS = Path(__file__).resolve().parent / "recordings"
#: Not the password of the recording run: at replay any password matches its ``{{password}}``.
TYPED_PASSWORD = "typed-at-replay-9!"


def listening(origin: str) -> bool:
    host, port = origin.rsplit("/", 1)[1].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return False
    return True


def expected_bills(recording: Recording) -> list[dict[str, Any]]:
    notes = recording.notes
    site = notes["site"]
    config = SiteConfig(
        seed=site["seed"], volatile_seed=site["volatile_seed"], bills=site["bills"], per_page=site["per_page"]
    )
    return DemoSite(config).expected_bills(notes["user"])  # computed, no server started


def replay_report(artifacts: Path) -> dict[str, Any]:
    reports = sorted(artifacts.glob("*-replay.json"))
    assert len(reports) == 1, f"expected one replay report in {artifacts}, found {reports}"
    report: dict[str, Any] = json.loads(reports[0].read_text())
    return report


def check_saved(run: ConnectorRun, recording: Recording) -> None:
    assert run.ok, run.explain()
    expected = expected_bills(recording)
    saved = run.bills()
    assert sorted((b["vendorRef"], b["amount"], str(b["date"])[:10]) for b in saved) == sorted(
        (b["vendorRef"], b["amount"], b["date"]) for b in expected
    )
    for bill in saved:
        reader = PdfReader(io.BytesIO(run.content(bill)))
        assert len(reader.pages) >= 1
        assert bill["vendorRef"] in run.pdf_text(bill)


@pytest.mark.parametrize("name", ["seed-0", "seed-1"])
def test_offline_from_recording(name: str, run_connector: Callable[..., ConnectorRun], tmp_path: Path) -> None:
    folder = RECORDINGS / name
    recording = Recording.load(folder)
    assert recording.meta["outcome"]["ok"]
    assert recording.notes["site"]["volatile_seed"] == int(name[-1])
    (origin,) = recording.origins
    assert not listening(origin), f"something listens on the recorded {origin}: this test must run offline"
    artifacts = tmp_path / "artifacts"
    run = run_connector(
        CONNECTOR,
        replay=folder,
        artifacts_dir=artifacts,
        fields={"base_url": origin, "login": recording.notes["user"], "password": TYPED_PASSWORD},
    )
    check_saved(run, recording)
    report = replay_report(artifacts)
    assert report["misses"] == []
    assert report["repeats"] == []
    assert report["passed_to_network"] == 0
    assert report["served"]["total"] == len(recording.exchanges) == report["recorded"]
    assert report["served"]["browser"] > 0
    assert report["served"]["http"] > 0
    assert not listening(origin)


def test_both_recordings_differ_only_in_volatile_values() -> None:
    """What makes the pair worth testing: other tokens and cache busters, the same requests."""
    zero, one = Recording.load(RECORDINGS / "seed-0"), Recording.load(RECORDINGS / "seed-1")
    # (as a multiset: concurrent downloads start in whatever order the event loop gives them)
    assert sorted((e.method, e.url.split("?")[0].split("/", 3)[3]) for e in zero.exchanges) == sorted(
        (e.method, e.url.split("?")[0].split("/", 3)[3]) for e in one.exchanges
    )
    busters = [[e.url for e in r.exchanges if "_=" in e.url] for r in (zero, one)]
    assert busters[0]
    assert busters[1]
    assert busters[0] != busters[1]
    for recording in (zero, one):  # server-issued tokens are placeholders, never values
        text = (RECORDINGS / f"seed-{recording.notes['site']['volatile_seed']}" / "recording.har").read_text()
        assert "{{cookie:session}}" in text
        assert "{{storage:apiToken}}" in text
        assert "{{password}}" in text
        assert DemoSite().users[0].password not in text


def test_a_request_the_recording_lacks_fails_the_run_naming_it(
    run_connector: Callable[..., ConnectorRun], tmp_path: Path
) -> None:
    recording = Recording.load(RECORDINGS / "seed-0")
    recording.exchanges = [e for e in recording.exchanges if "page=2" not in e.url]
    folder = tmp_path / "stale"
    recording.save(folder)
    (origin,) = recording.origins
    run = run_connector(
        CONNECTOR,
        replay=folder,
        artifacts_dir=tmp_path / "artifacts",
        fields={"base_url": origin, "login": recording.notes["user"], "password": TYPED_PASSWORD},
    )
    assert not run.ok
    assert run.code == "UNKNOWN_ERROR.REPLAY_MISS"
    assert f"no recorded exchange for GET {origin}/api/bills?page=2&per_page=10 (http)" in run.result.detail
    assert f"closest recorded: GET {origin}/api/bills?page=1&per_page=10&_=" in run.result.detail
    assert "differs by: query page=2 (recorded 1)" in run.result.detail
    assert f"--record {folder}" in run.result.detail


def test_record_then_replay_with_the_site_stopped(run_connector: Callable[..., ConnectorRun], tmp_path: Path) -> None:
    """A fresh recording from a live site holds none of the run's secrets, and replays offline."""
    config = SiteConfig(bills=5, volatile_seed=7)
    folder = tmp_path / "recording"
    with DemoSite(config) as site:
        user = site.users[0]
        live = run_connector(
            CONNECTOR,
            record=folder,
            store_dir=tmp_path / "live-store",
            artifacts_dir=tmp_path / "a1",
            fields={"base_url": site.url, "login": user.email, "password": user.password},
        )
        assert live.ok, live.explain()
        # every secret the site handed out during the run (test-only look into its state)
        auth = site._state.auth
        issued = [s.id for s in auth._sessions.values()] + [s.token for s in auth._sessions.values()]
        issued += list(auth._csrf)
    assert issued
    site_origin = Recording.load(folder).origins[0]
    assert not listening(site_origin)
    assert find_secrets(folder, Redactor([user.password, *issued])) == []
    recording = Recording.load(folder)
    recording.meta["notes"] = {
        "site": {"seed": config.seed, "volatile_seed": 7, "bills": 5, "per_page": config.per_page},
        "user": user.email,
    }
    run = run_connector(
        CONNECTOR,
        replay=folder,
        store_dir=tmp_path / "replay-store",
        artifacts_dir=tmp_path / "a2",
        fields={"base_url": site_origin, "login": user.email, "password": TYPED_PASSWORD},
    )
    check_saved(run, recording)


def test_a_failed_run_is_recorded_marked_failed_and_replays_its_failure(
    run_connector: Callable[..., ConnectorRun], tmp_path: Path
) -> None:
    folder = tmp_path / "refused"
    with DemoSite(SiteConfig(bills=3)) as site:
        user = site.users[0]
        live = run_connector(
            CONNECTOR,
            record=folder,
            store_dir=tmp_path / "s1",
            artifacts_dir=tmp_path / "a1",
            fields={"base_url": site.url, "login": user.email, "password": "wrong-password-1"},
        )
    assert live.code == "LOGIN_FAILED"
    recording = Recording.load(folder)
    assert recording.meta["outcome"] == {"ok": False, "error": "LOGIN_FAILED"}
    assert "wrong-password-1" not in (folder / "recording.har").read_text()
    run = run_connector(
        CONNECTOR,
        replay=folder,
        store_dir=tmp_path / "s2",
        artifacts_dir=tmp_path / "a2",
        fields={"base_url": recording.origins[0], "login": user.email, "password": "another-one"},
    )
    assert run.code == "LOGIN_FAILED", run.explain()
    assert replay_report(tmp_path / "a2")["misses"] == []
