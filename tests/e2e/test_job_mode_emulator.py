"""The demo connector as a konnector job of a Cozy — against the stack *emulator* (an emulator of the
documented protocol, not the real stack): the same bills and files as a run into the embedded store, a
second run uploads nothing, and the requests follow the documented protocol."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from demo_vendor_site import DemoSite

from browserkonnector.store._base import FileDoc
from browserkonnector.store._local import LocalStore
from browserkonnector.testing._emulator import StackEmulator

from .conftest import DEMO_CONNECTOR, alice, run_args, run_cli

pytestmark = pytest.mark.browser
ACCOUNT = "account-alice"


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[StackEmulator]:
    with StackEmulator(tmp_path / "cozy", slug="demo-vendor", version="1.0.0") as emu:
        yield emu


def job_env(emu: StackEmulator, site: DemoSite, folder_id: str, **extra: str) -> dict[str, str]:
    login, password = alice(site)

    async def setup(store: LocalStore) -> None:
        await store.create(
            "io.cozy.accounts",
            {
                "_id": ACCOUNT,
                "account_type": "demo-vendor",
                "auth": {"login": login, "password": password, "base_url": site.url},
            },
        )

    emu.call(setup)
    return {
        "COZY_URL": emu.url,
        "COZY_CREDENTIALS": emu.token,
        "COZY_JOB_MANUAL_EXECUTION": "false",
        "COZY_FIELDS": json.dumps({"konnector": "demo-vendor", "account": ACCOUNT, "folder_to_save": folder_id}),
        "COZY_PARAMETERS": "{}",
        "COZY_TIME_LIMIT": "600",
        **extra,
    }


def make_folder(emu: StackEmulator, path: str) -> str:
    async def mkdir(store: LocalStore) -> str:
        return (await store.mkdir_p(path)).id

    return emu.call(mkdir)


def saved(store_root: Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Bills (without ids, revs and timestamps) and {file name: its PDF text} of a LocalStore folder.

    Text, not md5: a PDF printed by Chromium embeds its creation time, so two prints differ in bytes."""
    import asyncio
    import io

    from pypdf import PdfReader

    async def read() -> tuple[list[dict[str, Any]], dict[str, str]]:
        texts: dict[str, str] = {}
        async with LocalStore(store_root) as store:
            bills = [doc async for doc in store.all_docs("io.cozy.bills")]
            async for doc in store.all_docs("io.cozy.files"):
                file = FileDoc.from_doc(doc)
                if not file.is_dir:
                    pdf = PdfReader(io.BytesIO(await store.download(file.id)))
                    texts[file.name] = "\n".join(page.extract_text() for page in pdf.pages)
        keep = ("vendor", "vendorRef", "date", "amount", "currency", "filename", "matchingCriterias")
        return sorted(({k: b.get(k) for k in keep} for b in bills), key=lambda b: str(b["vendorRef"])), texts

    return asyncio.run(read())


def job_args(site: DemoSite, tmp_path: Path) -> list[str]:
    _login, _ = alice(site)
    return ["run", str(DEMO_CONNECTOR), "--artifacts", str(tmp_path / "art"), "--offline-dns"]


def test_job_mode_saves_what_the_embedded_store_saves_emulator(
    site: DemoSite, emulator: StackEmulator, tmp_path: Path
) -> None:
    folder = make_folder(emulator, "/Administratif/Demo Énergie/alice")
    env = job_env(emulator, site, folder)
    job = run_cli(job_args(site, tmp_path), env=env)
    assert job.returncode == 0, job.stdout[-4000:]
    assert all(line["type"] != "critical" for line in job.lines)

    local = run_cli(run_args(site, tmp_path))
    assert local.returncode == 0, local.stdout[-4000:]

    job_bills, job_files = saved(tmp_path / "cozy")
    local_bills, local_files = saved(tmp_path / "store")
    assert job_bills == local_bills
    assert len(job_bills) == 8
    assert job_files == local_files

    async def check_account(store: LocalStore) -> dict[str, Any]:
        return await store.get("io.cozy.accounts", ACCOUNT)

    account = emulator.call(check_account)
    assert account["state"] == "LOGIN_SUCCESS"
    assert "browserkonnector" in account["data"]  # the site fingerprint, kept between runs

    async def bills_meta(store: LocalStore) -> list[dict[str, Any]]:
        return [doc["cozyMetadata"] async for doc in store.all_docs("io.cozy.bills")]

    for meta in emulator.call(bills_meta):
        assert meta["sourceAccount"] == ACCOUNT
        assert meta["sourceAccountIdentifier"] == alice(site)[0]
        assert meta["createdByApp"] == "demo-vendor"

    emulator.clear_requests()
    again = run_cli(job_args(site, tmp_path), env=env)
    assert again.returncode == 0
    uploads = [
        r
        for r in emulator.requests
        if r.method in ("POST", "PUT") and r.path.startswith("/files/") and r.param("Type") == "file"
    ]
    assert uploads == []
    writes = [
        r
        for r in emulator.requests
        if r.method in ("POST", "PUT")
        and r.path.startswith("/data/io.cozy.bills")
        and not r.path.endswith(("_find", "_index"))
    ]
    assert writes == [], [f"{r.method} {r.path}" for r in writes]


def test_job_requests_follow_the_documented_protocol_emulator(
    site: DemoSite, emulator: StackEmulator, tmp_path: Path
) -> None:
    folder = make_folder(emulator, "/Administratif/Demo Énergie")
    job = run_cli(job_args(site, tmp_path), env=job_env(emulator, site, folder))
    assert job.returncode == 0, job.stdout[-4000:]
    requests = emulator.requests
    assert requests
    assert all(r.header("authorization") == f"Bearer {emulator.token}" for r in requests)
    first = [f"{r.method} {r.path}" for r in requests[:2]]
    assert first == [f"GET /data/io.cozy.accounts/{ACCOUNT}", f"GET /files/{folder}"]
    uploads = [r for r in requests if r.method == "POST" and r.path == f"/files/{folder}" and r.param("Type") == "file"]
    assert len(uploads) == 8
    metadata_posts = [r for r in requests if r.method == "POST" and r.path == "/files/upload/metadata"]
    assert len(metadata_posts) == 8

    async def contents(store: LocalStore) -> dict[str, bytes]:
        found = {}
        async for doc in store.all_docs("io.cozy.files"):
            file = FileDoc.from_doc(doc)
            if not file.is_dir:
                found[file.name] = await store.download(file.id)
        return found

    stored = emulator.call(contents)
    for upload in uploads:
        name = upload.param("Name")
        assert name in stored
        assert upload.header("content-md5") == base64.b64encode(hashlib.md5(stored[name]).digest()).decode()
        assert upload.header("content-type") == "application/pdf"
        assert int(upload.header("content-length") or -1) == len(stored[name])
        assert upload.param("MetadataID")
        assert upload.param("SourceAccount") == ACCOUNT
        assert upload.param("SourceAccountIdentifier") == alice(site)[0]
    finds = [r for r in requests if r.path.endswith("/_find")]
    assert finds
    assert all(isinstance(r.json, dict) and r.json.get("use_index") for r in finds)
    assert any(
        (r.method == "POST" and r.path == f"/data/io.cozy.accounts/{ACCOUNT}")
        or (r.method == "PUT" and r.path == f"/data/io.cozy.accounts/{ACCOUNT}")
        for r in requests
    )


def test_missing_folder_is_not_existing_directory_emulator(
    site: DemoSite, emulator: StackEmulator, tmp_path: Path
) -> None:
    job = run_cli(job_args(site, tmp_path), env=job_env(emulator, site, "no-such-folder-id"))
    assert job.returncode == 1
    assert job.last["type"] == "critical"
    assert job.last["message"] == "NOT_EXISTING_DIRECTORY"


def test_missing_account_is_cannot_find_account_emulator(
    site: DemoSite, emulator: StackEmulator, tmp_path: Path
) -> None:
    env = job_env(emulator, site, make_folder(emulator, "/x"))
    env["COZY_FIELDS"] = json.dumps({"account": "nobody", "folder_to_save": "io.cozy.files.root-dir"})
    job = run_cli(job_args(site, tmp_path), env=env)
    assert job.last["message"] == "CANNOT_FIND_ACCOUNT"
    assert job.returncode == 1
    assert emulator.token not in job.stdout


def test_background_job_cannot_wait_for_a_second_factor_emulator(
    site: DemoSite, emulator: StackEmulator, tmp_path: Path
) -> None:
    bob = next(u for u in site.users if u.otp_secret)
    env = job_env(emulator, site, make_folder(emulator, "/Administratif/Demo Énergie"))

    async def use_bob(store: LocalStore) -> None:
        doc = await store.get("io.cozy.accounts", ACCOUNT)
        doc["auth"] = {"login": bob.email, "password": bob.password, "base_url": site.url}
        await store.update("io.cozy.accounts", {k: v for k, v in doc.items() if k != "_type"})

    emulator.call(use_bob)
    job = run_cli(job_args(site, tmp_path), env=env)
    assert job.last["message"] == "USER_ACTION_NEEDED.TWOFA_EXPIRED"
    assert bob.password not in job.stdout


def test_the_stack_command_script_runs_a_python_konnector_emulator(
    site: DemoSite, emulator: StackEmulator, tmp_path: Path
) -> None:
    """scripts/cozy-stack-konnector.sh, called as the stack's konnector worker calls konnectors.cmd."""
    import os
    import subprocess

    from .conftest import REPO

    workdir = tmp_path / "workdir"  # the stack copies the konnector's files into a work directory
    import shutil

    shutil.copytree(DEMO_CONNECTOR, workdir, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COZY_")}
    env.update(
        job_env(emulator, site, make_folder(emulator, "/Administratif/Demo Énergie")),
        COZY_LANGUAGE="python",
        BROWSERKONNECTOR_ARTIFACTS=str(tmp_path / "art"),
    )
    done = subprocess.run(
        [str(REPO / "scripts" / "cozy-stack-konnector.sh"), str(workdir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines
    assert all({"time", "type", "message"} <= set(line) for line in lines)

    async def count(store: LocalStore) -> int:
        return len([d async for d in store.all_docs("io.cozy.bills")])

    assert emulator.call(count) == 8
