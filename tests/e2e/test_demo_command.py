"""`browserkonnector demo`, as the README's first command runs it: every bill of the demo site saved with
a PDF whose text pypdf reads, a summary printed; a second run saves nothing new."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from demo_vendor_site import DemoSite, SiteConfig
from pypdf import PdfReader

from .conftest import run_cli

pytestmark = pytest.mark.browser


def test_demo_saves_every_bill_then_nothing_new(tmp_path: Path) -> None:
    first = run_cli(["demo", "--store", str(tmp_path / "store"), "--log", "json"], cwd=tmp_path)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    summary = [line for line in first.stdout.splitlines() if line.startswith("Saved ")]
    assert summary, first.stdout[-2000:]
    assert summary[0].startswith("Saved 24 new bill(s)"), summary
    assert "and 24 new file(s)" in summary[0]

    expected = DemoSite(SiteConfig()).expected_bills("alice@demo-energie.test")
    folder = tmp_path / "store" / "files" / "Administratif" / "Demo Énergie"
    pdfs = sorted(folder.glob("*.pdf"))
    assert len(pdfs) == len(expected) == 24
    by_ref = {bill["vendorRef"]: bill for bill in expected}
    for pdf in pdfs:
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
        ref = next(ref for ref in by_ref if ref in pdf.name)
        assert ref in text, pdf.name
        assert "Demo Énergie" in text, pdf.name
        assert f"{by_ref[ref]['amount']:.2f}".replace(".", ",") in text

    again = run_cli(["demo", "--store", str(tmp_path / "store"), "--log", "json"], cwd=tmp_path)
    assert again.returncode == 0
    summary = next(line for line in again.stdout.splitlines() if line.startswith("Saved "))
    assert summary.startswith("Saved 0 new bill(s) (0 updated, 24 unchanged)"), summary
    assert "and 0 new file(s) (24 already there)" in summary
    assert sorted(folder.glob("*.pdf")) == pdfs


@pytest.mark.headed
@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="headed needs a display: run under xvfb-run -a")
def test_headed_demo_run_under_xvfb(tmp_path: Path) -> None:
    """As the README's "watch it" line: headed, every action slowed by 0.3 s (durations are seconds)."""
    run = run_cli(
        ["demo", "--store", str(tmp_path / "store"), "--bills", "6", "--headed", "--slow-mo", "0.3", "--log", "json"],
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    chromium = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    launched = " ".join(str(e["message"]) for e in chromium if "Chromium" in str(e["message"]))
    assert "headless-shell" not in launched  # headed runs use the full Chromium
    assert len(list((tmp_path / "store" / "files").rglob("*.pdf"))) == 6
