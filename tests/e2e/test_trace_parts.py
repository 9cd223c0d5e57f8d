"""What a failure trace records: by default no screencast nor DOM snapshots (cheap on heavy apps); with
``BROWSERKONNECTOR_TRACE_PARTS=screenshots,snapshots`` (as README shows) both, and a bad value is refused."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from demo_vendor_site import DemoSite

from .conftest import run_args, run_cli

pytestmark = pytest.mark.browser


def trace_members(artifacts: Path) -> list[str]:
    (bundle,) = [p for p in artifacts.iterdir() if p.is_dir()]
    with zipfile.ZipFile(bundle / "trace.zip") as archive:
        return archive.namelist()


@pytest.mark.parametrize(("parts", "full"), [(None, False), ("screenshots,snapshots", True)])
def test_failure_trace_parts(site: DemoSite, tmp_path: Path, parts: str | None, full: bool) -> None:
    env = {"BROWSERKONNECTOR_TRACE_PARTS": parts} if parts else {}
    done = run_cli(run_args(site, tmp_path, password="wrong-password-1"), env=env)
    assert done.returncode == 1
    assert done.last["message"] == "LOGIN_FAILED"
    members = trace_members(tmp_path / "art")
    assert any(m.startswith("screencast/") for m in members) == full
    assert any(m.startswith("resources/") for m in members) == full


def test_an_unknown_trace_part_is_named(site: DemoSite, tmp_path: Path) -> None:
    done = run_cli(run_args(site, tmp_path), env={"BROWSERKONNECTOR_TRACE_PARTS": "video"})
    assert done.returncode == 1
    assert "BROWSERKONNECTOR_TRACE_PARTS='video': unknown part(s) video" in done.stdout
