"""`browserkonnector new acme` gives a connector whose generated tests pass as they are; connector tests
run headed under Xvfb with pytest-playwright's `--headed`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, run_cli

pytestmark = pytest.mark.browser


def pytest_in(folder: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COZY_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_new_connector_passes_its_own_tests(tmp_path: Path) -> None:
    made = run_cli(["new", "acme", "--dir", str(tmp_path)])
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "acme"
    assert {p.name for p in folder.iterdir()} >= {
        "__init__.py",
        "konnector.py",
        "manifest.konnector",
        "konnector-dev-config.json",
        "tests",
        "README.md",
    }
    assert '"slug": "acme"' in (folder / "manifest.konnector").read_text()
    done = pytest_in(folder)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "3 passed" in done.stdout
    again = run_cli(["new", "acme", "--dir", str(tmp_path)])
    assert again.returncode == 2
    assert "already exists" in again.stderr


def test_new_refuses_a_bad_name(tmp_path: Path) -> None:
    made = run_cli(["new", "Not A Name", "--dir", str(tmp_path)])
    assert made.returncode == 2
    assert "use lowercase letters" in made.stderr


def test_new_refuses_an_unknown_kind(tmp_path: Path) -> None:
    made = run_cli(["new", "acme", "--kind", "soap", "--dir", str(tmp_path)])
    assert made.returncode == 2
    assert "invalid choice: 'soap'" in made.stderr
    assert not (tmp_path / "acme").exists()


@pytest.mark.headed
@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="headed needs a display: run under xvfb-run -a")
def test_connector_tests_run_headed_with_the_plugin(tmp_path: Path) -> None:
    test = "connectors/demo_vendor/tests/test_live.py::test_an_account_with_a_second_factor"
    done = pytest_in(REPO, test, "--headed", "-s", "--output", str(tmp_path / "out"))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
    launched = [line for line in done.stdout.splitlines() if "browser launched" in line]
    assert launched
    assert all("headless-shell" not in line and "/chromium" in line for line in launched)


def test_new_html_connector_passes_its_own_tests(tmp_path: Path) -> None:
    made = run_cli(["new", "shopx", "--kind", "html", "--dir", str(tmp_path)])
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "shopx"
    assert "ctx.form_login" in (folder / "konnector.py").read_text()
    assert '"slug": "shopx"' in (folder / "manifest.konnector").read_text()
    done = pytest_in(folder)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "3 passed" in done.stdout
