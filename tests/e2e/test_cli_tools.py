"""The smaller commands a person uses: `store ls|export|show`, `--pause-on-failure`, progress lines."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from demo_vendor_site import DemoSite

from .conftest import CLI, run_args, run_cli

pytestmark = pytest.mark.browser


@pytest.mark.site(bills=5)
def test_store_commands_show_what_a_run_saved(site: DemoSite, tmp_path: Path) -> None:
    run = run_cli(run_args(site, tmp_path))
    assert run.returncode == 0, run.stdout[-2000:]
    progress = [m for m in run.messages("info") if m.startswith("bills: ")]
    assert progress == ["bills: 5/5"]  # job mode: a few plain lines, not one per bill

    store = str(tmp_path / "store")
    listing = run_cli(["store", "ls", "--store", store])
    assert listing.returncode == 0
    assert "io.cozy.bills" in listing.stdout
    assert "5 docs" in listing.stdout
    assert "(5 files," in listing.stdout

    exported = run_cli(["store", "export", "--store", store, "--doctype", "io.cozy.bills"])
    bills = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(bills) == 5
    assert {b["vendor"] for b in bills} == {"Demo Énergie"}

    file_id = bills[0]["invoice"].split(":", 1)[1]
    shown = run_cli(["store", "show", "--store", store, "--doctype", "io.cozy.files", file_id])
    doc = json.loads(shown.stdout)
    assert doc["mime"] == "application/pdf"
    assert Path(doc["disk_path"]).is_file()
    assert Path(doc["disk_path"]).read_bytes().startswith(b"%PDF")

    missing = run_cli(["store", "ls", "--store", str(tmp_path / "nowhere")])
    assert missing.returncode == 1
    assert "no local store at" in missing.stderr
    no_doctype = run_cli(["store", "export", "--store", store])
    assert no_doctype.returncode == 2


@pytest.mark.headed
@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="headed needs a display: run under xvfb-run -a")
@pytest.mark.site(bills=2)
def test_pause_on_failure_keeps_the_browser_open_until_enter(site: DemoSite, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*CLI, *run_args(site, tmp_path, password="wrong-password-77", extra=["--headed", "--pause-on-failure"])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdin is not None
    paused_at = None
    for line in process.stdout:
        if "press Enter to close the browser" in line:
            paused_at = time.monotonic()
            break
    assert paused_at is not None, "the run never paused"
    time.sleep(1.0)
    assert process.poll() is None  # still waiting, the browser still open on the failing page
    process.stdin.write("\n")
    process.stdin.flush()
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert json.loads(rest.strip().splitlines()[-1])["message"] == "LOGIN_FAILED"


def test_the_fast_exit_changes_neither_output_nor_status(tmp_path: Path) -> None:
    """The command ends with ``os._exit`` once its streams are flushed (the interpreter's teardown costs
    ~0.3 s): what it printed to a pipe, and its status, are those of the usual exit."""
    for args, status in (
        (["store", "ls", "--store", str(tmp_path / "nowhere")], 1),
        (["new", "Not A Valid Name!", "--dir", str(tmp_path)], 2),
    ):
        fast = run_cli(args)
        usual = run_cli(args, env={"BROWSERKONNECTOR_FAST_EXIT": "0"})
        assert fast.returncode == usual.returncode == status
        assert (fast.stdout, fast.stderr) == (usual.stdout, usual.stderr)
        assert fast.stderr.strip()  # the message made it out of the buffer


def test_store_export_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """``store export ... | head -1`` ended in a BrokenPipeError traceback; it now stops as a process
    killed by SIGPIPE would (status 141), with nothing on stderr."""
    import asyncio

    from browserkonnector.store._local import LocalStore

    async def fill() -> None:
        async with LocalStore(tmp_path / "store") as store:
            await store.bulk_save(
                "io.cozy.bills", [{"vendor": "Acme", "n": n, "label": "x" * 200} for n in range(3000)]
            )

    asyncio.run(fill())
    command = " ".join([*CLI, "store", "export", "--store", str(tmp_path / "store"), "--doctype", "io.cozy.bills"])
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command} | head -1"], capture_output=True, text=True, timeout=120
    )
    assert len(done.stdout.splitlines()) == 1
    assert json.loads(done.stdout)["vendor"] == "Acme"
    assert "Traceback" not in done.stderr
    assert done.stderr == ""
    assert done.returncode == 141
