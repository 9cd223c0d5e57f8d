"""An upload body that never sits whole in memory, with the digest the stack wants up front.

The stack checks ``Content-MD5`` (base64 of the MD5 digest) and ``Content-Length`` against what it
receives, so both must be known *before* the first byte is sent:

- bytes: hashed in memory (they already are in memory);
- a path: a first pass over the file computes the digest (in a worker thread, by chunks), the upload
  is then a second pass, streamed;
- an async iterable: spooled to a temporary file while hashed, then sent from there like a path
  (the temporary file is removed by :meth:`UploadBody.cleanup`).

:meth:`UploadBody.chunks` returns a fresh stream each time, so a retried upload sends the whole body
again instead of the leftovers of a consumed stream.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio

from browserkonnector.store._base import Content, md5_base64

__all__ = ["CHUNK_SIZE", "UploadBody", "prepare_body"]

CHUNK_SIZE = 256 * 1024


@dataclass
class UploadBody:
    md5: str
    size: int
    data: bytes | None = None
    path: Path | None = None
    temp: Path | None = None

    def chunks(self) -> AsyncIterator[bytes]:
        """A new async iterator over the whole content."""
        if self.data is not None:
            return _once(self.data)
        assert self.path is not None
        return _read_file(self.path)

    async def cleanup(self) -> None:
        if self.temp is not None:
            await anyio.to_thread.run_sync(lambda: self.temp.unlink(missing_ok=True) if self.temp else None)
            self.temp = None


async def _once(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), CHUNK_SIZE):
        yield data[start : start + CHUNK_SIZE]
    if not data:
        yield b""


async def _read_file(path: Path) -> AsyncIterator[bytes]:
    handle = await anyio.open_file(path, "rb")
    try:
        while chunk := await handle.read(CHUNK_SIZE):
            yield chunk
    finally:
        await handle.aclose()


def _digest_file(path: Path) -> tuple[str, int]:
    digest = hashlib.md5()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return base64.b64encode(digest.digest()).decode(), size


async def _spool(content: AsyncIterable[bytes]) -> tuple[Path, str, int]:
    fd, name = tempfile.mkstemp(prefix="bk-upload-", suffix=".part")
    path = Path(name)
    digest = hashlib.md5()
    size = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            async for chunk in content:
                if not isinstance(chunk, bytes | bytearray | memoryview):
                    raise TypeError(f"upload content chunks must be bytes, got {type(chunk).__name__}")
                digest.update(chunk)
                size += len(chunk)
                await anyio.to_thread.run_sync(fh.write, chunk)
    except BaseException:
        os.unlink(path)  # a sync unlink of a temp file: cheap, and safe while cancelled
        raise
    return path, base64.b64encode(digest.digest()).decode(), size


async def prepare_body(content: Content, *, md5: str | None = None) -> UploadBody:
    """Digest and size of ``content`` plus a replayable stream of it. A given ``md5`` is trusted for the
    header (the server checks it: a mismatch is its 412), which saves the hashing pass over a path."""
    if isinstance(content, bytes | bytearray):
        data = bytes(content)
        return UploadBody(md5=md5 or md5_base64(data), size=len(data), data=data)
    if isinstance(content, os.PathLike):
        path = Path(content)
        if not await anyio.Path(path).is_file():
            raise FileNotFoundError(f"upload content: no file at {path}")
        if md5:
            return UploadBody(md5=md5, size=(await anyio.Path(path).stat()).st_size, path=path)
        digest, size = await anyio.to_thread.run_sync(_digest_file, path)
        return UploadBody(md5=digest, size=size, path=path)
    if isinstance(content, AsyncIterable):
        temp, digest, size = await _spool(content)
        return UploadBody(md5=md5 or digest, size=size, path=temp, temp=temp)
    raise TypeError(f"upload content must be bytes, a path or an async iterable of bytes, not {type(content).__name__}")
