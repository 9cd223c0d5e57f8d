"""End-to-end tests: the real CLI in a subprocess, a real Chromium, the demo site on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from demo_vendor_site import DemoSite, SiteConfig

REPO = Path(__file__).resolve().parents[2]
DEMO_CONNECTOR = REPO / "connectors" / "demo_vendor"
CLI = [sys.executable, "-m", "browserkonnector.cli"]


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[dict[str, object]]:
        """Every stdout line, parsed: the stack's protocol says each one is a JSON object."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    @property
    def last(self) -> dict[str, object]:
        return self.lines[-1]

    def messages(self, kind: str | None = None) -> list[str]:
        return [str(e["message"]) for e in self.lines if kind is None or e["type"] == kind]


def run_cli(
    args: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 180, cwd: Path | None = None
) -> CliRun:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COZY_")}
    environ.update(env or {})
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=environ, cwd=cwd)
    return CliRun(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def site(request: pytest.FixtureRequest) -> Iterator[DemoSite]:
    marker = request.node.get_closest_marker("site")
    demo = DemoSite(SiteConfig(**{"bills": 8, **(marker.kwargs if marker else {})}))
    demo.start()
    yield demo
    demo.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "site(**config): SiteConfig of the demo site for this test")


def alice(site: DemoSite) -> tuple[str, str]:
    user = next(u for u in site.users if u.otp_secret is None)
    return user.email, user.password


def run_args(
    site: DemoSite,
    tmp_path: Path,
    *,
    password: str | None = None,
    connector: Path = DEMO_CONNECTOR,
    extra: Sequence[str] = (),
) -> list[str]:
    """``browserkonnector run`` of the demo connector against ``site`` as alice (or with ``password``)."""
    login, real_password = alice(site)
    return [
        "run",
        str(connector),
        "--store",
        str(tmp_path / "store"),
        "--artifacts",
        str(tmp_path / "art"),
        "--offline-dns",
        "--field",
        f"base_url={site.url}",
        "--field",
        f"login={login}",
        "--field",
        f"password={password or real_password}",
        *extra,
    ]
