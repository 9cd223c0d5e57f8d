"""A real ``redis-server`` on a free loopback port and real Celery worker processes, bounded and cleaned up."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from demo_vendor_site import DemoSite, SiteConfig

REPO = Path(__file__).resolve().parents[2]
DEMO = str(REPO / "connectors" / "demo_vendor")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run scripts/setup (it installs Debian's redis-server)")
    port = _free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("redis-server did not answer within 10 s")
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait(10)


@dataclass
class Cluster:
    """Workers sharing one broker, accounts in a private folder, a store per account."""

    redis_url: str
    root: Path
    env: dict[str, str] = field(default_factory=dict)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def add_account(self, name: str, fields: dict[str, str]) -> None:
        path = self.root / "accounts" / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(json.dumps(fields))
        path.chmod(0o600)

    def store(self, account: str) -> Path:
        return self.root / "stores" / account

    def start_worker(
        self,
        name: str,
        *,
        concurrency: int = 1,
        app: str = "browserkonnector.scaling.celery",
        cwd: Path | None = None,
        beat: bool = False,
    ) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "celery", "-A", app, "worker" if not beat else "beat", "--loglevel", "INFO"]
        if not beat:
            command += [
                "--concurrency",
                str(concurrency),
                "--pool",
                "prefork",
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ]
        else:
            command += ["--schedule", str(self.root / "beat-schedule")]
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            command, env=self.env, cwd=cwd or self.root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.workers.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            with contextlib.suppress(ProcessLookupError):  # a prefork child or a driver left behind
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def cluster(redis_url: str, tmp_path: Path) -> Iterator[Cluster]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COZY_", "BROWSERKONNECTOR_"))}
    env.update(
        {
            "BROWSERKONNECTOR_BROKER": redis_url,
            "BROWSERKONNECTOR_ACCOUNTS_DIR": str(tmp_path / "accounts"),
            "BROWSERKONNECTOR_STORES_DIR": str(tmp_path / "stores"),
            "BROWSERKONNECTOR_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
            "BROWSERKONNECTOR_OFFLINE_DNS": "1",
            "BROWSERKONNECTOR_RETRY_BASE": "0.5",
            "BROWSERKONNECTOR_RUN_TIMEOUT": "240",
        }
    )
    (tmp_path / "accounts").mkdir(mode=0o700)
    running = Cluster(redis_url, tmp_path, env)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def site() -> Iterator[DemoSite]:
    with DemoSite(SiteConfig(bills=8)) as demo:
        yield demo


def alice_fields(site: DemoSite, **overrides: str) -> dict[str, str]:
    user = next(u for u in site.users if u.otp_secret is None)
    return {"base_url": site.url, "login": user.email, "password": user.password, **overrides}
