"""`browserkonnector new NAME --kind spa` gives a heavy-SPA connector whose generated tests pass as they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import run_cli
from .test_scaffold_and_plugin import pytest_in

pytestmark = pytest.mark.browser


def test_new_spa_connector_passes_its_own_tests(tmp_path: Path) -> None:
    made = run_cli(["new", "my-bank", "--kind", "spa", "--dir", str(tmp_path)])
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "my_bank"
    assert {p.name for p in folder.iterdir()} >= {
        "__init__.py",
        "konnector.py",
        "manifest.konnector",
        "konnector-dev-config.json",
        "tests",
        "README.md",
    }
    assert '"slug": "my-bank"' in (folder / "manifest.konnector").read_text()
    assert 'vendor="My Bank"' in (folder / "konnector.py").read_text()
    done = pytest_in(folder)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "2 passed" in done.stdout
