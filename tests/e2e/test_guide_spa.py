"""docs/guide-local-first-spa.md stays true: its connector is the tested one, its commands run."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from .conftest import REPO

GUIDE = REPO / "docs" / "guide-local-first-spa.md"
CONNECTOR = REPO / "connectors" / "bank_spa" / "konnector.py"
BIN = str(Path(sys.executable).with_name("browserkonnector"))


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.DOTALL)


def test_the_guide_shows_the_connector_as_it_is() -> None:
    code = CONNECTOR.read_text(encoding="utf-8")
    future = "from __future__ import annotations\n\n"
    body = code[code.index(future) + len(future) :]  # everything after the docstring
    assert body in blocks("python"), "the guide's connector differs from connectors/bank_spa/konnector.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.browser
def test_the_guide_commands_run(tmp_path: Path) -> None:
    commands = [shlex.split(line) for line in blocks("bash")[0].replace("\\\n", " ").splitlines() if line.strip()]
    serve, run = (c[: c.index("#")] if "#" in c else c for c in commands)
    port = free_port()
    serve = [BIN, *serve[1:]]
    serve[serve.index("--port") + 1] = str(port)
    site = subprocess.Popen(serve, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert site.stdout is not None
        assert f"http://127.0.0.1:{port}" in site.stdout.readline()
        run = [BIN, *(a.replace("8010", str(port)) for a in run[1:])]
        run += ["--store", str(tmp_path / "store"), "--artifacts", str(tmp_path / "art"), "--log", "json"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("COZY_")}
        env["BROWSERKONNECTOR_VAULT_KEY_FILE"] = str(tmp_path / "vault.key")  # the connector keeps its session
        done = subprocess.run(run, cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "io.cozy.bank.operations: 300 new" in done.stdout
        assert httpx.get(f"http://127.0.0.1:{port}/__bank__/stats").json()["shell_language:fr-FR"] == 1
    finally:
        os.kill(site.pid, signal.SIGTERM)
        site.wait(timeout=10)
