"""``scripts/cozy-stack-konnector.sh`` run the way cozy-stack's konnector worker runs it: ``env -i`` with
only the ``COZY_*`` variables of ``PrepareCmdEnv`` (worker/exec/konnector.go) — ``COZY_PARAMETERS=null``
as for a manifest without parameters, no PATH, no HOME — in a work directory holding a copy of the
konnector, against the stack *emulator*. Its own configuration comes from the file next to it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_vendor_site import DemoSite

from browserkonnector.store._local import LocalStore
from browserkonnector.testing._emulator import StackEmulator

from .conftest import DEMO_CONNECTOR, REPO
from .test_job_mode_emulator import ACCOUNT, job_env, make_folder

pytestmark = pytest.mark.browser
SCRIPT = REPO / "scripts" / "cozy-stack-konnector.sh"


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[StackEmulator]:
    """Its token is scoped like the stack's konnector token: the manifest's permissions only."""
    manifest = json.loads((DEMO_CONNECTOR / "manifest.konnector").read_text())
    with StackEmulator(
        tmp_path / "cozy", slug="demo-vendor", version="1.0.0", permissions=manifest["permissions"]
    ) as emu:
        yield emu


def install(tmp_path: Path, **config: str) -> Path:
    """The script copied to an install folder with a ``.venv`` pointing to this interpreter's package,
    its configuration baked in with ``--write-config`` (the installer's environment gives the values)."""
    home = tmp_path / "install"
    (home / "scripts").mkdir(parents=True)
    (home / ".venv" / "bin").mkdir(parents=True)
    (home / ".venv" / "bin" / "browserkonnector").symlink_to(Path(sys.executable).parent / "browserkonnector")
    script = home / "scripts" / SCRIPT.name
    shutil.copy(SCRIPT, script)
    done = subprocess.run(
        ["env", "-i", "PATH=/usr/bin:/bin", *[f"{k}={v}" for k, v in config.items()], str(script), "--write-config"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return script


def stack_run(script: Path, workdir: Path, cozy_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """As ``worker/exec/common.go``: ``cmd.Env`` is the COZY_* list and nothing else, cwd the work dir."""
    assert all(key.startswith("COZY_") for key in cozy_env)
    return subprocess.run(
        ["env", "-i", *[f"{k}={v}" for k, v in cozy_env.items()], str(script), str(workdir)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=workdir,
    )


def work_directory(tmp_path: Path) -> Path:
    """What the stack copies from the installed konnector: its code and manifest, no dev config."""
    workdir = tmp_path / "job" / "demo-vendor"
    shutil.copytree(
        DEMO_CONNECTOR, workdir, ignore=shutil.ignore_patterns("konnector-dev-config.json", "tests", "__pycache__")
    )
    return workdir


def test_a_bare_environment_job_saves_its_bills_emulator(
    site: DemoSite, emulator: StackEmulator, tmp_path: Path
) -> None:
    artifacts = tmp_path / "artifacts"
    script = install(tmp_path, BROWSERKONNECTOR_ARTIFACTS=str(artifacts))
    folder = make_folder(emulator, "/Administratif/Demo Énergie")
    job_env(emulator, site, folder)  # the account
    manifest = json.loads((DEMO_CONNECTOR / "manifest.konnector").read_text())
    env = emulator.job_environment(
        {"account": ACCOUNT, "folder_to_save": folder},
        parameters=manifest.get("parameters"),
        language=manifest["language"],
        seconds_left=600,
        trigger_id="trigger-1",
    )
    assert env["COZY_PARAMETERS"] == "null"  # the demo manifest has no parameters
    assert env["COZY_URL"].endswith("/")
    job = stack_run(script, work_directory(tmp_path), env)
    assert job.returncode == 0, (job.stdout[-3000:], job.stderr[-3000:])
    lines = [json.loads(line) for line in job.stdout.splitlines()]  # every stdout line is one JSON object
    assert lines
    assert all(len(line.encode()) < 64 * 1024 for line in job.stdout.splitlines())
    assert not [e for e in lines if e["type"] in ("critical", "error")]
    assert job.stderr == ""

    async def bills(store: LocalStore) -> list[str]:
        return sorted([str(doc["vendorRef"]) async for doc in store.all_docs("io.cozy.bills")])

    assert len(emulator.call(bills)) == 8
    assert (artifacts / "home").is_dir()  # HOME came from the configuration, not from the stack

    async def state(store: LocalStore) -> str:
        return str((await store.get("io.cozy.accounts", ACCOUNT))["state"])

    assert emulator.call(state) == "LOGIN_SUCCESS"
    assert all(r.status != 403 for r in emulator.requests)  # nothing outside the manifest's permissions


def test_configuration_is_baked_at_install_and_the_job_environment_is_ignored(tmp_path: Path) -> None:
    script = install(
        tmp_path,
        BROWSERKONNECTOR_ARTIFACTS="/srv/bk",
        BROWSERKONNECTOR_CHROMIUM="/opt/chromium",
        NODE_BIN="/opt/node/bin/node",
    )
    conf = script.with_suffix(".conf")
    assert "BROWSERKONNECTOR_ARTIFACTS=/srv/bk" in conf.read_text()
    printed = subprocess.run(
        ["env", "-i", "BROWSERKONNECTOR_ARTIFACTS=/elsewhere", str(script), "--print-config"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert printed.returncode == 0, printed.stderr
    config = dict(line.split("=", 1) for line in printed.stdout.splitlines())
    assert config == {
        "BROWSERKONNECTOR_HOME": str(tmp_path / "install"),
        "BROWSERKONNECTOR_ARTIFACTS": "/srv/bk",
        "BROWSERKONNECTOR_CHROMIUM": "/opt/chromium",
        "NODE_BIN": "/opt/node/bin/node",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/srv/bk/home",
    }


def test_a_bad_configuration_line_is_named(tmp_path: Path) -> None:
    script = install(tmp_path)
    conf = script.with_suffix(".conf")
    conf.write_text(conf.read_text() + "rm -rf /\n")
    done = subprocess.run(["env", "-i", str(script), "--print-config"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert f"{conf}:" in done.stderr
    assert "expected KEY=VALUE" in done.stderr
