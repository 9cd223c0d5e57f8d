"""The whole browser profile of an account, kept between runs, encrypted at rest.

What a local-first app relies on between two visits is not only its cookies and web storage (which the
session vault keeps) but the whole profile: its IndexedDB, its service workers, Chromium's HTTP cache
(a multi-megabyte bundle the app never downloads twice) and V8's code cache (the same bundle not parsed
twice). ``Konnector(keep_profile=True)`` keeps all of it: the run's Chromium opens a persistent context on
a user-data directory of its own, and after a good run, once Chromium has closed and flushed it, the
directory is archived (tar + gzip), encrypted with the vault's key (Fernet, as the vault) and written to
``<store>/profiles/<id>.profile`` (mode 0600). The next run decrypts it into a private temporary directory
(mode 0700), used by that run's Chromium and deleted at its end: the profile is in clear only while a
run uses it, as the browser itself needs it.

An archive that cannot be read (corrupt, another key, not a profile) is discarded with a warning and the
run starts a fresh profile: as with the vault, losing it costs a slower run, never a failed one. What is
never worth keeping (GPU shader caches, crash reports, the lock files of the Chromium that wrote it) is
left out of the archive.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from loguru import logger

__all__ = ["PROFILES_DIR", "KeptProfile", "ProfileUnreadable", "profile_archive_path"]

#: The folder of the store that holds the encrypted profiles.
PROFILES_DIR = "profiles"
MAGIC = b"browserkonnector-profile-1\n"
#: Parts of a Chromium profile that are worthless on the next run (rebuilt at once, machine-specific,
#: or the lock of the process that wrote them).
SKIPPED = frozenset(
    {
        "GPUCache",
        "GrShaderCache",
        "ShaderCache",
        "GraphiteDawnCache",
        "DawnGraphiteCache",
        "DawnWebGPUCache",
        "Crashpad",
        "BrowserMetrics",
        "component_crx_cache",
        "Safe Browsing",
        "optimization_guide_model_store",
        "segmentation_platform",
        "DevToolsActivePort",
        "SingletonLock",
        "SingletonCookie",
        "SingletonSocket",
        "LOCK",
        "lockfile",
        ".bk-owner",
    }
)
PREFIX = "bk-profile-"
#: In each clear profile: the pid of the run using it, so that the next run removes a profile a killed
#: run (SIGKILL, power loss) could not (its cookies are in clear there).
OWNER = ".bk-owner"
log = logger.bind(namespace="session")


class ProfileUnreadable(Exception):
    """The kept profile cannot be used; the message says why (never with any of its content)."""


def profile_archive_path(store_dir: Path, slug: str, account_id: str) -> Path:
    """Where the account's encrypted profile lives: named by a digest, so the file name tells nothing."""
    digest = hashlib.sha256(f"{slug}\0{account_id}".encode()).hexdigest()[:24]
    return store_dir / PROFILES_DIR / f"{digest}.profile"


def _skip(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    name = info.name.rsplit("/", 1)[-1]
    if name in SKIPPED or info.issym() or info.islnk() or not (info.isfile() or info.isdir()):
        return None
    return info


def pack(directory: Path, key: bytes) -> bytes:
    """The archive of ``directory``: the magic line, then the Fernet token of its gzipped tar."""
    from cryptography.fernet import Fernet

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:  # the cache is mostly compressed
        for child in sorted(directory.iterdir()):
            tar.add(child, arcname=child.name, filter=_skip)
    return MAGIC + Fernet(key).encrypt(buffer.getvalue())


def unpack(blob: bytes, key: bytes, into: Path) -> None:
    """Decrypt and extract an archive made by :func:`pack` into ``into``; :class:`ProfileUnreadable`
    (nothing extracted is kept) when it cannot be."""
    from cryptography.fernet import Fernet, InvalidToken

    if not blob.startswith(MAGIC):
        raise ProfileUnreadable("not a kept profile (unknown header)")
    try:
        plain = Fernet(key).decrypt(blob[len(MAGIC) :])
    except (InvalidToken, ValueError):
        raise ProfileUnreadable("corrupt, or encrypted with another key (decryption failed)") from None
    try:
        with tarfile.open(fileobj=io.BytesIO(plain), mode="r:gz") as tar:
            tar.extractall(into, filter="data")  # no absolute paths, no '..', no links out, no devices
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ProfileUnreadable(f"corrupt archive ({type(exc).__name__})") from None


class KeptProfile:
    """One run's profile: unpacked before the browser starts, packed after it closed, always removed."""

    def __init__(self, archive: Path, key: bytes) -> None:
        self.archive = archive
        self.key = key
        self.directory: Path | None = None
        #: The kept profile was put back (``False``: a fresh one, first run or discarded).
        self.restored = False
        #: Set by a good run: pack the profile when the browser has closed.
        self.keep = False

    def open(self) -> Path:
        """A private directory (0700) holding the kept profile, or empty; an unreadable archive is
        discarded with a warning."""
        sweep_stale_profiles()
        self.directory = Path(tempfile.mkdtemp(prefix=PREFIX))  # mkdtemp: mode 0700
        (self.directory / OWNER).write_text(str(os.getpid()))
        try:
            blob = self.archive.read_bytes()
        except FileNotFoundError:
            return self.directory
        except OSError as exc:
            log.warning("the kept browser profile cannot be read ({}): this run starts a fresh one", type(exc).__name__)
            return self.directory
        try:
            unpack(blob, self.key, self.directory)
        except ProfileUnreadable as exc:
            log.warning("the kept browser profile cannot be read ({}): discarding it, this run starts a fresh one", exc)
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory.mkdir(mode=0o700)
            self.discard()
            return self.directory
        self.restored = True
        log.info("restoring the kept browser profile ({:.1f} MiB)", len(blob) / 2**20)
        return self.directory

    def save(self) -> None:
        """Encrypt the (closed) profile into the archive, atomically, mode 0600."""
        assert self.directory is not None
        blob = pack(self.directory, self.key)
        self.archive.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = self.archive.with_name(self.archive.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(blob)
        os.replace(partial, self.archive)
        log.debug("browser profile kept ({:.1f} MiB, encrypted)", len(blob) / 2**20)

    def close(self) -> None:
        """After the browser closed: keep the profile if the run asked, then remove the clear copy."""
        try:
            if self.keep and self.directory is not None:
                try:
                    self.save()
                except Exception as exc:
                    log.warning("could not keep the browser profile ({}: {})", type(exc).__name__, exc)
        finally:
            if self.directory is not None:
                shutil.rmtree(self.directory, ignore_errors=True)
                self.directory = None

    def discard(self) -> None:
        discard_profile(self.archive)


def discard_profile(archive: Path) -> None:
    """Drop a kept profile (no key needed)."""
    try:
        archive.unlink()
    except FileNotFoundError:
        return
    log.info("discarded the kept browser profile")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def sweep_stale_profiles(root: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove the clear profiles that runs killed before their cleanup left in ``root`` (the temporary
    folder): those of this user whose owner process is gone. A profile without an owner file (being
    made right now) or whose owner lives is left alone. Returns what was removed."""
    removed: list[Path] = []
    for folder in Path(root or tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            if folder.stat().st_uid != os.getuid() or not folder.is_dir():
                continue
            pid = int((folder / OWNER).read_text().strip())
        except (OSError, ValueError):
            continue
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
            log.info("removed the clear browser profile a killed run left behind ({})", folder.name)
    return removed
