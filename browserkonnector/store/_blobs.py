"""File contents of a LocalStore: streamed to a temp file, fsynced, measured; and who owns pending work.

Content never goes straight to its final path. :func:`write_temp` streams it to
``<root>/.tmp/<owner>.<random>.part`` — from bytes, a file on disk read in 64 KiB chunks, or async
chunks; never the whole of a large file in memory — computing size and MD5 on the way, stopping early
when a size limit (the quota) is crossed, and fsyncs it in a worker thread. Only then does ``_files``
record the operation and move the temp file into place with ``os.replace`` (atomic on one filesystem;
``.tmp`` sits beside ``files/`` for that reason), so ``files/`` never shows a partial file.

**Owners.** Each open LocalStore is an *owner* (a random id) holding an exclusive ``flock`` on
``<root>/.locks/<owner>.lock`` for its lifetime. The kernel drops the lock when the process dies, even by
``SIGKILL``, so another process can tell a crashed owner (lock obtainable) from a live one (lock held):
its pending operations can be finished and its temp files removed, while a live writer's are left alone.
Unlike a pid, an owner id is never reused.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import fcntl
import hashlib
import os
import uuid
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import anyio.to_thread

from browserkonnector.store._base import Content
from browserkonnector.store._errors import BadRequest, QuotaExceeded

__all__ = ["Owner", "TempBlob", "fsync_dir", "owner_is_dead", "remove_quietly", "write_temp"]

CHUNK = 1 << 16


@dataclass(frozen=True)
class TempBlob:
    """A complete, fsynced temp file and what it holds."""

    path: Path
    size: int
    md5: str  # base64 of the 16-byte digest, the stack's ``md5sum`` form


class Owner:
    """This process's claim on the store (see the module docstring)."""

    def __init__(self, locks_dir: Path) -> None:
        self.id = uuid.uuid4().hex
        locks_dir.mkdir(parents=True, exist_ok=True)
        self.path = locks_dir / f"{self.id}.lock"
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    @classmethod
    def reader(cls) -> Owner:
        """A claim for a read-only store: it holds no lock and writes nothing."""
        owner = cls.__new__(cls)
        owner.id = f"reader-{uuid.uuid4().hex}"
        owner.path = Path(os.devnull)
        owner._fd = None
        return owner

    def release(self) -> None:
        if self._fd is None:
            return
        remove_quietly(self.path)
        os.close(self._fd)  # closing drops the flock
        self._fd = None


def owner_is_dead(locks_dir: Path, owner_id: str) -> bool:
    """True when no live process holds ``owner_id``'s lock (it crashed, or closed without finishing).

    Opening the lock file anew gives another open file description, so even this process's own lock
    counts as held: an owner never declares itself dead.
    """
    path = locks_dir / f"{owner_id}.lock"
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # releases the probe's lock if it got it
    return True


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def fsync_dir(path: Path) -> None:
    """Make a rename or creation in ``path`` durable (POSIX needs the directory itself fsynced)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def write_temp(tmp_dir: Path, owner: Owner, content: Content, *, max_bytes: int | None = None) -> TempBlob:
    """Stream ``content`` to a new fsynced temp file. On any failure or cancellation nothing is left.

    ``max_bytes`` (the room left under the quota) raises :class:`QuotaExceeded` as soon as it is
    crossed, without reading the rest.
    """
    path = tmp_dir / f"{owner.id}.{uuid.uuid4().hex}.part"
    # Creating the file, like writing it, happens in a worker thread: on a journaling filesystem a file
    # creation waits for the journal commit that another thread's fsync is forcing (measured ~1.3 ms per
    # file with uploads in flight), which on the event loop stalled every other download and print.
    fh: IO[bytes] | None = None
    digest = hashlib.md5()
    size = 0
    try:
        if isinstance(content, bytes | bytearray | memoryview):
            data = bytes(content)
            _check_room(len(data), max_bytes)
            size = len(data)
            await anyio.to_thread.run_sync(_write_all, path, data, digest)  # created, written, fsynced: one hop
        elif isinstance(content, os.PathLike):
            size = await anyio.to_thread.run_sync(_copy_from, Path(content), path, digest, max_bytes)  # the same
        elif isinstance(content, AsyncIterable):
            fh = await anyio.to_thread.run_sync(path.open, "xb")
            async for chunk in content:
                if not isinstance(chunk, bytes | bytearray | memoryview):
                    raise BadRequest(f"content chunks must be bytes, got {type(chunk).__name__}")
                size += len(chunk)
                _check_room(size, max_bytes)
                digest.update(chunk)
                fh.write(chunk)  # to the page cache: fast; the fsync below is what may block
            await anyio.to_thread.run_sync(_flush_and_sync, fh)
            fh.close()
        else:
            raise BadRequest(f"content must be bytes, a path or async chunks, got {type(content).__name__}")
    except BaseException as exc:
        if fh is not None:
            with contextlib.suppress(OSError):  # closing flushes: a full disk fails here too
                fh.close()
        remove_quietly(path)
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise QuotaExceeded(
                f"the disk of the store is full ({exc.strerror}): the file was not written; "
                "free some space and run again",
                reason="disk_full",
            ) from None
        raise
    return TempBlob(path, size, base64.b64encode(digest.digest()).decode())


def _check_room(size: int, max_bytes: int | None) -> None:
    if max_bytes is not None and size > max_bytes:
        raise QuotaExceeded("the store is full: this file does not fit in the quota", reason="quota")


def _write_all(path: Path, data: bytes, digest: hashlib._Hash) -> None:
    digest.update(data)
    with path.open("xb") as fh:
        fh.write(data)
        _flush_and_sync(fh)


def _copy_from(src: Path, path: Path, digest: hashlib._Hash, max_bytes: int | None) -> int:
    size = 0
    try:
        source = src.open("rb")
    except OSError as exc:
        raise BadRequest(f"cannot read the content file {src}: {exc.strerror}") from exc
    with source, path.open("xb") as fh:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            _check_room(size, max_bytes)
            digest.update(chunk)
            fh.write(chunk)
        _flush_and_sync(fh)
    return size


def _flush_and_sync(fh: IO[bytes]) -> None:
    fh.flush()
    os.fsync(fh.fileno())
