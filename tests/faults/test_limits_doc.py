"""The example of docs/limits.md runs as shown, and ends as the page says.

The commands are read from the page's ``bash`` block; the test only points them at a free port (the
page uses 8000, tests bind port 0) and at the connector by its absolute path, and passes the site's URL.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO, CliRun
from tests.faults.conftest import Outcome

pytestmark = pytest.mark.browser
PAGE = REPO / "docs" / "limits.md"


def example_commands() -> list[str]:
    text = PAGE.read_text(encoding="utf-8")
    section = text.split("## Try it", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_limits_example_ends_with_the_file_size_code(tmp_path: Path) -> None:
    site_cmd, run_cmd = example_commands()
    site_args = shlex.split(site_cmd.rstrip("& "))
    assert site_args[:2] == ["browserkonnector", "demo-site"]
    site_args = [a if a != "8000" else "0" for a in site_args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COZY_")}
    site = subprocess.Popen(
        [sys.executable, "-m", "browserkonnector.cli", *site_args[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert site.stdout is not None
        url = ""
        for line in site.stdout:
            found = re.search(r"http://127\.0\.0\.1:\d+", line)
            if found:
                url = found.group(0)
                break
        assert url
        words = shlex.split(run_cmd)
        assignments = dict(w.split("=", 1) for w in words if re.fullmatch(r"[A-Z_]+=.*", w))
        args = [w for w in words if not re.fullmatch(r"[A-Z_]+=.*", w)]
        assert args[:2] == ["browserkonnector", "run"]
        args = [str(REPO / a) if a == "connectors/demo_vendor" else a for a in args[1:]]
        done = subprocess.run(
            [sys.executable, "-m", "browserkonnector.cli", *args, "--field", f"base_url={url}", "--log", "json"],
            capture_output=True,
            text=True,
            timeout=150,
            cwd=tmp_path,
            env={**env, **assignments},
        )
    finally:
        site.terminate()
        site.wait(timeout=30)
    out = Outcome(CliRun(done.returncode, done.stdout, done.stderr))
    assert out.code == "FILE_DOWNLOAD_FAILED.TOO_LARGE", done.stdout[-3000:]
    assert done.returncode == 1
    assert any("not saved: bill Demo Énergie" in m and "MiB cap" in m for m in out.messages("error"))
    assert (tmp_path / "bk-store" / "files" / "Administratif" / "Demo Énergie").is_dir()  # the rest was saved
