"""``--record`` in job mode, against the stack *emulator*: the account's credentials (``COZY_FIELDS`` names
the account, whose ``auth`` holds them) are fields of the recording, named after their field.

The connector is copied without its development config, so the account is the only source of the
password: a recorder that re-collected field sources from disk and the command line (instead of taking
the fields the run merged) would not know which secret is the password."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_vendor_site import DemoSite

from browserkonnector.browser.instrument._recording import META_NAME
from browserkonnector.testing._emulator import StackEmulator

from .conftest import DEMO_CONNECTOR, alice, run_cli
from .test_job_mode_emulator import job_env, make_folder

pytestmark = pytest.mark.browser


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[StackEmulator]:
    with StackEmulator(tmp_path / "cozy", slug="demo-vendor", version="1.0.0") as emu:
        yield emu


def test_a_job_recording_names_the_accounts_credentials_emulator(
    site: DemoSite, emulator: StackEmulator, tmp_path: Path
) -> None:
    connector = tmp_path / "demo_vendor"
    shutil.copytree(DEMO_CONNECTOR, connector, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    (connector / "konnector-dev-config.json").unlink()
    recording = tmp_path / "recording"
    env = job_env(emulator, site, make_folder(emulator, "/Administratif/Demo Énergie"))
    job = run_cli(
        ["run", str(connector), "--artifacts", str(tmp_path / "art"), "--offline-dns", "--record", str(recording)],
        env=env,
    )
    assert job.returncode == 0, job.stdout[-4000:]
    _, password = alice(site)
    meta = json.loads((recording / META_NAME).read_text(encoding="utf-8"))
    assert {"login", "password", "base_url"} <= set(meta["fields"])
    written = "".join(p.read_text(encoding="utf-8", errors="replace") for p in recording.rglob("*") if p.is_file())
    assert password not in written
    assert "{{password}}" in written  # the login form's post, with the password named after its field
