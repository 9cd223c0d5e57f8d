"""The package as a user installs it: a wheel built from the repository, installed in a fresh virtualenv
(outside any clone), runs a connector without the demo sites' dependencies (starlette, uvicorn), and says
which extra to install when a command needs them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from demo_vendor_site import DemoSite

from .conftest import REPO, alice

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def sh(*args: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COZY_", "PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the built wheel and its required dependencies only; returns its bin folder."""
    root = tmp_path_factory.mktemp("wheel")
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources it builds.
    source = root / "source"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "bk-store", "bk-artifacts", ".bench-cache", "__pycache__", "*.egg-info"
        ),
    )
    built = sh(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--disable-pip-version-check",
        "-q",
        "-w",
        root / "dist",
        source,
        cwd=root,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (root / "dist").glob("browserkonnector-*.whl")
    made = sh(sys.executable, "-m", "venv", root / "venv", cwd=root)
    assert made.returncode == 0, made.stderr
    bin_dir = root / "venv" / "bin"
    done = sh(bin_dir / "pip", "install", "-q", "--disable-pip-version-check", wheel, cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    return bin_dir


def test_the_wheel_pulls_no_site_dependency(installed: Path, tmp_path: Path) -> None:
    probe = sh(
        installed / "python",
        "-c",
        "import importlib.util as u; "
        "print([m for m in ('starlette', 'uvicorn', 'browserkonnector', 'demo_vendor') if u.find_spec(m)])",
        cwd=tmp_path,
    )
    assert probe.stdout.strip() == "['browserkonnector', 'demo_vendor']", probe.stderr


@pytest.mark.site(bills=4)
def test_an_installed_wheel_runs_a_connector_outside_the_clone(installed: Path, site: DemoSite, tmp_path: Path) -> None:
    login, password = alice(site)
    run = sh(
        installed / "browserkonnector",
        "run",
        "demo_vendor",
        "--store",
        tmp_path / "store",
        "--offline-dns",
        "--field",
        f"base_url={site.url}",
        "--field",
        f"login={login}",
        "--field",
        f"password={password}",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert len(list((tmp_path / "store" / "files").rglob("*.pdf"))) == 4
    demo = sh(installed / "browserkonnector", "demo", cwd=tmp_path)
    assert demo.returncode == 2
    assert "pip install 'browserkonnector[sites]'" in demo.stderr
    served = sh(installed / "browserkonnector", "demo-site", "--port", "0", cwd=tmp_path)
    assert served.returncode == 2
    assert "the demo sites need the 'sites' extra" in served.stderr
