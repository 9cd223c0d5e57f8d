"""The bundle's last scan says in which file it found a secret (it used to give a count alone)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from browserkonnector._redact import Redactor
from browserkonnector.browser import find_secrets
from browserkonnector.runtime._bundle import describe_findings

SECRET = "s3cret-Token-0042"


def test_findings_are_named_by_file_and_zip_member_never_by_value(tmp_path: Path) -> None:
    bundle = tmp_path / "2026-12-06-login_failed"
    bundle.mkdir()
    (bundle / "page.html").write_text(f"<p>{SECRET}</p><p>{SECRET}</p>")
    (bundle / "run.log").write_text("nothing here\n")
    with zipfile.ZipFile(bundle / "trace.zip", "w") as archive:
        archive.writestr("resources/answer.json", json.dumps({"token": SECRET}))
    findings = find_secrets(bundle, Redactor([SECRET]))
    text = describe_findings(findings, bundle)
    assert text.startswith("page.html (2), trace.zip!resources/answer.json (")  # one count per form found
    assert SECRET not in text
