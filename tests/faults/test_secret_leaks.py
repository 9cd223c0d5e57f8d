"""No secret anywhere, whatever a connector does to print it (finding 2 of the reliability issue).

``connectors/leaky.py`` logs the session cookie, the API token (read with a raw ``page.evaluate``) and
the password in every way it can, before any ``ctx.http`` call, then fails with them in its exception.
The real process's stdout and stderr, the failure bundle (folder and zip, trace included), the
recording and the store must hold none of them, in any encoding the redactor knows (plain,
URL-encoded, JSON-escaped, base64).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import quote

import pytest
from demo_vendor_site import DemoSite, SiteConfig

from browserkonnector._redact import Redactor
from browserkonnector.browser.instrument._scrub import find_secrets
from tests.e2e.conftest import alice, run_cli

LEAKY = Path(__file__).parent / "connectors" / "leaky.py"
pytestmark = pytest.mark.browser


def forms(secret: str) -> list[str]:
    """What a leak can look like in text: plain, URL-encoded, JSON-escaped, base64."""
    return [secret, quote(secret, safe=""), json.dumps(secret)[1:-1], base64.b64encode(secret.encode()).decode()]


def test_a_connector_printing_secrets_every_way_leaks_none(tmp_path: Path) -> None:
    site = DemoSite(SiteConfig(bills=4))
    site.start()
    try:
        login, password = alice(site)
        run = run_cli(
            [
                "run",
                str(LEAKY),
                "--store",
                str(tmp_path / "store"),
                "--artifacts",
                str(tmp_path / "art"),
                "--offline-dns",
                "--trace",
                "on",
                "--record",
                str(tmp_path / "rec"),
                "--field",
                f"base_url={site.url}",
                "--field",
                f"login={login}",
                "--field",
                f"password={password}",
            ],
            timeout=120,
        )
        sessions = list(site._state.auth._sessions.values())  # test-only: what the site handed out
    finally:
        site.stop()
    last = json.loads(run.stdout.strip().splitlines()[-1])  # the connector's print() lines are not JSON
    assert last["message"] == "UNKNOWN_ERROR", run.stdout[-2000:]
    assert sessions, "the connector did not log in"
    secrets = [password, *(s.id for s in sessions), *(s.token for s in sessions)]
    assert "print stdout: session=*** token=*** password=***" in run.stdout
    assert "print stderr: session=*** token=*** password=***" in run.stderr
    assert "giving up, holding session=*** token=*** password=***" in run.stdout
    for secret in secrets:
        for form in forms(secret):
            assert form not in run.stdout, f"a secret reached stdout: {run.stdout[-2000:]}"
            assert form not in run.stderr, f"a secret reached stderr: {run.stderr[-2000:]}"
    redactor = Redactor(secrets)
    bundle = next(p for p in (tmp_path / "art").iterdir() if p.is_dir())
    assert (bundle / "trace.zip").is_file()
    for where in (bundle, bundle.with_suffix(".zip"), tmp_path / "rec", tmp_path / "store"):
        assert where.exists(), where
        assert find_secrets(where, redactor) == [], where
