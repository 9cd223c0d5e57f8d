"""The kept profile's archive on its own (no browser): encrypted, left lean, refused when damaged, never
extracted outside its directory, and its clear copy removed at the end of a run."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from browserkonnector.runtime._profile import (
    MAGIC,
    OWNER,
    KeptProfile,
    ProfileUnreadable,
    pack,
    profile_archive_path,
    unpack,
)


def profile_dir(root: Path) -> Path:
    (root / "Default" / "IndexedDB").mkdir(parents=True)
    (root / "Default" / "IndexedDB" / "data.ldb").write_bytes(b"token=s3cr3t-session-value")
    (root / "Default" / "GPUCache").mkdir()
    (root / "Default" / "GPUCache" / "index").write_bytes(b"x" * 100)
    (root / "SingletonLock").write_text("host-123")
    return root


def test_pack_and_unpack_round_trip_leave_out_what_is_not_worth_keeping(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    blob = pack(profile_dir(tmp_path / "profile"), key)
    assert blob.startswith(MAGIC)
    assert b"s3cr3t-session-value" not in blob
    unpack(blob, key, tmp_path / "out")
    assert (tmp_path / "out" / "Default" / "IndexedDB" / "data.ldb").read_bytes() == b"token=s3cr3t-session-value"
    assert not (tmp_path / "out" / "Default" / "GPUCache").exists()
    assert not (tmp_path / "out" / "SingletonLock").exists()


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda blob, key: blob[:-40], "corrupt, or encrypted with another key"),
        (lambda blob, key: pack_with(Fernet.generate_key()), "corrupt, or encrypted with another key"),
        (lambda blob, key: b"PK\x03\x04" + blob, "not a kept profile"),
        (lambda blob, key: MAGIC + Fernet(key).encrypt(b"not a tar at all"), "corrupt archive"),
    ],
)
def test_an_unreadable_archive_is_refused_saying_why(tmp_path: Path, damage: object, why: str) -> None:
    key = Fernet.generate_key()
    blob = damage(pack(profile_dir(tmp_path / "p"), key), key)  # type: ignore[operator]
    with pytest.raises(ProfileUnreadable, match=why):
        unpack(blob, key, tmp_path / "out")


def pack_with(key: bytes) -> bytes:
    return MAGIC + Fernet(key).encrypt(b"whatever")


def test_a_member_that_climbs_out_is_not_extracted(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escaped")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(ProfileUnreadable, match="corrupt archive"):
        unpack(MAGIC + Fernet(key).encrypt(raw.getvalue()), key, tmp_path / "out")
    assert not (tmp_path / "escaped").exists()


def test_a_kept_profile_is_written_0600_and_its_clear_copy_removed(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    archive = profile_archive_path(tmp_path / "store", "bank-spa", "account-1")
    assert "account-1" not in archive.name
    assert "bank" not in archive.name
    run = KeptProfile(archive, key)
    directory = run.open()
    assert not run.restored
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    profile_dir(directory)
    run.keep = True
    run.close()
    assert not directory.exists()
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600

    again = KeptProfile(archive, key)
    restored = again.open()
    assert again.restored
    assert (restored / "Default" / "IndexedDB" / "data.ldb").exists()
    again.close()  # a failed run: nothing kept, the copy removed all the same
    assert not restored.exists()
    assert archive.exists()

    archive.write_bytes(b"garbage")
    broken = KeptProfile(archive, key)
    fresh = broken.open()
    assert not broken.restored
    assert list(fresh.iterdir()) == []
    assert not archive.exists()
    broken.close()


def test_a_clear_profile_a_killed_run_left_is_removed_by_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SIGKILLed run cannot remove its clear profile (its cookies in clear): the next run does, when
    the pid the profile names is gone; a live run's profile and one being made are left alone."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    stale, live, making = tmp_path / "bk-profile-stale", tmp_path / "bk-profile-live", tmp_path / "bk-profile-new"
    for folder, owner in ((stale, str(dead_pid)), (live, str(os.getppid())), (making, None)):
        (folder / "Default").mkdir(parents=True)
        (folder / "Default" / "Cookies").write_bytes(b"session=in-clear")
        if owner is not None:
            (folder / OWNER).write_text(owner)
    run = KeptProfile(tmp_path / "archive.profile", Fernet.generate_key())
    opened = run.open()
    assert not stale.exists()
    assert live.exists()
    assert making.exists()
    assert (opened / OWNER).read_text() == str(os.getpid())
    run.keep = True
    run.close()
    assert not opened.exists()
    assert OWNER.encode() not in (tmp_path / "archive.profile").read_bytes()  # never archived (encrypted anyway)
    with tarfile.open(fileobj=io.BytesIO(_plain(tmp_path / "archive.profile", run.key)), mode="r:gz") as tar:
        assert not any(name.endswith(OWNER) for name in tar.getnames())


def _plain(archive: Path, key: bytes) -> bytes:
    return Fernet(key).decrypt(archive.read_bytes()[len(MAGIC) :])
