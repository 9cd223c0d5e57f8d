"""What ``browserkonnector new NAME --kind K`` writes passes ``mypy --strict`` as it is (the package,
the bundled connectors and the docs' examples are checked by ``scripts/test`` itself)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from browserkonnector._scaffold import KINDS, scaffold

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_connector_type_checks_strictly(kind: str, tmp_path: Path) -> None:
    folder = scaffold(f"acme_{kind}", tmp_path, kind=kind)
    # mypy cannot follow an editable install's import hook: point it at the sources (an installed wheel
    # needs nothing of the kind).
    env = {**os.environ, "MYPYPATH": os.pathsep.join([str(REPO), str(REPO / "fixtures")])}
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--config-file", str(REPO / "pyproject.toml"), str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
