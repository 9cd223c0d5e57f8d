"""The fault table: each way a vendor misbehaves × the code the run must end with × the store's
invariants (``invariants.py``), then a clean rerun that completes the store without duplicates.

A fault on the file server (``/files/*``, the ``download`` and ``inline`` bills) must not cost the
other bills: they are saved, the run then fails with the code that says why, and names each bill it
could not save. A fault that hangs (a 429 answer the page never reads, a Retry-After of an hour, a body
that trickles or never ends) must end within its bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from demo_vendor_site import DemoSite, SiteConfig

from browserkonnector._redact import Redactor
from browserkonnector.browser.instrument._scrub import find_secrets
from tests.e2e.conftest import alice
from tests.faults.conftest import Outcome, run_demo
from tests.faults.invariants import check_store

pytestmark = pytest.mark.browser
BILLS = 8


@dataclass(frozen=True)
class Fault:
    name: str
    site: dict[str, Any]
    codes: frozenset[str | None]  # None: a success (every bill saved)
    env: dict[str, str] = field(default_factory=dict)
    files_only: bool = True  # only the bills served from /files/* are lost


FAULTS = [
    Fault(
        "login answered 429 (body never read by the page)", {"rate_limit_every": 2}, frozenset({None}), files_only=False
    ),
    Fault(
        "file 429 with Retry-After: 3600",
        {"file_fault": "429", "retry_after": 3600},
        frozenset({"VENDOR_DOWN"}),
        {"BROWSERKONNECTOR_TIMEOUT": "60"},
    ),
    Fault("file 500", {"file_fault": "500"}, frozenset({"VENDOR_DOWN"})),
    Fault("file connection reset", {"file_fault": "reset"}, frozenset({"VENDOR_DOWN"})),
    Fault("HTML page instead of a PDF", {"file_fault": "html"}, frozenset({"FILE_DOWNLOAD_FAILED"})),
    Fault(
        "huge body",
        {"file_fault": "huge", "file_fault_bytes": 6 * 1024 * 1024},
        frozenset({"FILE_DOWNLOAD_FAILED.TOO_LARGE"}),
        {"BROWSERKONNECTOR_MAX_FILE_MB": "1"},
    ),
    Fault(
        "slow body",
        {"file_fault": "slow"},
        frozenset({"FILE_DOWNLOAD_FAILED.TIMEOUT"}),
        {"BROWSERKONNECTOR_FILE_TIMEOUT": "3"},
    ),
    Fault(
        "vendor too slow for the run's time limit",
        {"latency_ms": 3000},
        frozenset({"UNKNOWN_ERROR.TIMEOUT"}),
        {"BROWSERKONNECTOR_TIMEOUT": "4"},
        files_only=False,
    ),
    # Re-login (if the connector does it) may save everything; without it the run must not say success.
    Fault(
        "session expiry mid-run",
        {"session_max_requests": 6},
        frozenset({None, "FILE_DOWNLOAD_FAILED", "LOGIN_FAILED", "VENDOR_DOWN"}),
        files_only=False,
    ),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault(fault: Fault, tmp_path: Path) -> None:
    site = DemoSite(SiteConfig(bills=BILLS, otp_accounts=False, **fault.site))
    site.start()
    try:
        expected = site.expected_bills()
        from_files = {b["vendorRef"] for b in expected if str(b["links"].get("pdf") or "").startswith("/files/")}
        first = run_demo(site, tmp_path, env=fault.env)
        report = check_store(tmp_path / "store")
        assert first.code in fault.codes, first.run.stdout[-3000:]
        assert report.problems == []
        all_refs = {b["vendorRef"] for b in expected}
        if first.code is None:
            assert report.refs == all_refs  # a success saved every bill
        else:
            assert first.run.returncode == 1
            if fault.files_only:
                assert from_files, "the demo data must have bills served from /files/"
                assert report.refs == all_refs - from_files  # everything else was saved
                missing = " ".join(first.messages("error"))
                for ref in from_files:
                    assert ref in missing  # each lost bill is named
        if fault.site.get("file_fault") == "huge":  # cut at the cap, never downloaded again
            assert site.stats()["file_faults"] == len(from_files)
        assert_no_secret(site, tmp_path, first)
        for key in fault.site:
            setattr(site.config, key, getattr(SiteConfig(), key))
        again = run_demo(site, tmp_path)
        report = check_store(tmp_path / "store")
        assert again.code is None, again.run.stdout[-3000:]
        assert report.problems == []
        assert report.refs == all_refs
        assert len(report.bills) == BILLS
    finally:
        site.stop()


def assert_no_secret(site: DemoSite, tmp_path: Path, out: Outcome) -> None:
    """The password, and every session id and API token the site handed out, in no output and no file."""
    sessions = list(site._state.auth._sessions.values())  # test-only look at what the site issued
    redactor = Redactor([alice(site)[1], *(s.id for s in sessions), *(s.token for s in sessions)])
    assert not redactor.contains_secret(out.run.stdout)
    assert not redactor.contains_secret(out.run.stderr)
    assert find_secrets(tmp_path, redactor) == []
