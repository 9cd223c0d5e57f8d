"""docs/guide-html-sites.md runs: its ``>>>`` examples (doctest), its code excerpts are the tested files'
own lines, and its commands run as shown (with a free port for the shop)."""

from __future__ import annotations

import doctest
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

GUIDE = REPO / "docs" / "guide-html-sites.md"
BIN = Path(sys.executable).parent / "browserkonnector"


def test_the_interactive_examples_run() -> None:
    result = doctest.testfile(str(GUIDE), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted >= 10
    assert result.failed == 0


def test_each_excerpt_is_the_named_files_own_code() -> None:
    blocks = re.findall(r"```python\n# (\S+)\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 2
    for path, code in blocks:
        source = (REPO / path).read_text(encoding="utf-8")
        assert code.strip("\n") in source, f"the excerpt of {path} in {GUIDE.name} is not in {path} any more"


@pytest.mark.browser
def test_the_commands_of_the_guide(tmp_path: Path) -> None:
    commands = re.findall(r"^browserkonnector (.+?)(?:\s{2,}#.*)?$", GUIDE.read_text(encoding="utf-8"), flags=re.M)
    assert commands == [
        "shop-site --port 8001 --orders 45",
        "run connectors/shop_vendor --field base_url=http://127.0.0.1:8001",
    ]
    site = subprocess.Popen(
        [str(BIN), *commands[0].replace("8001", "0").split()], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert site.stdout is not None
        url = re.search(r"serving on (http://127\.0\.0\.1:\d+)", site.stdout.readline())
        assert url
        args = commands[1].replace("http://127.0.0.1:8001", url.group(1)).split()
        args[1] = str(REPO / args[1])  # the guide runs from the repository's root; the store goes to tmp_path
        run = subprocess.run([str(BIN), *args], cwd=tmp_path, capture_output=True, text=True, timeout=180)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "saved 45 new bill(s)" in run.stdout + run.stderr
        assert (tmp_path / "bk-store").is_dir()
    finally:
        site.send_signal(signal.SIGTERM)
        site.wait(timeout=10)
