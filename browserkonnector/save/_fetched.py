"""What a download hands to the save pipeline: its body plus what is known of where it came from.

The save pipeline never imports the browser (docs/architecture.md): it calls a *fetch callable* that returns a
:class:`Fetched`. The browser layer builds those from a download event, an inline PDF response, a
``blob:`` URL, a page printed to PDF or a plain HTTP GET through the logged-in session; a connector
without a browser builds them from httpx. ``status`` and ``content_type`` let the pipeline refuse an
HTML error page before it is stored as a bill.

A small body is kept in memory (``data``). A body bigger than :data:`SPILL_BYTES` is written to a
temporary file while it is read (:func:`read_spooled`, :meth:`Fetched.from_chunks`), so a 300 MB
statement never sits in memory: the pipeline checks it from its first and last bytes (and pypdf opens
the file itself) and the store uploads it from the file. Such a ``Fetched`` owns its file: it is
removed by :meth:`Fetched.discard` (the pipeline calls it once the file is stored or has failed), and
in any case when the object is garbage-collected, so no path (error, cancellation) leaves it behind.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import tempfile
import weakref
from collections.abc import AsyncIterable, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from browserkonnector import _limits as limits

if TYPE_CHECKING:
    import httpx

__all__ = ["SPILL_BYTES", "FetchFile", "Fetched", "How", "new_spool_file", "read_spooled"]

#: How the bytes arrived; kept in logs and benchmarks, never used to decide validity.
How: TypeAlias = Literal["http", "download", "inline", "blob", "print", "stream", "bytes"]

#: A body larger than this goes to a temporary file instead of memory (bigger costs memory per
#: concurrent download, smaller costs a file for many ordinary bills).
SPILL_BYTES = 8 * 1024 * 1024
#: Writes to the temporary file are batched to this size (one worker-thread hop per batch).
_WRITE_BATCH = 1024 * 1024


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def new_spool_file() -> Path:
    """A fresh, empty temporary file (in the system's temp folder) for a body that will not fit in memory."""
    fd, name = tempfile.mkstemp(prefix="bk-fetch-", suffix=".part")
    os.close(fd)
    return Path(name)


class Fetched:
    """A downloaded file. ``status`` is the HTTP status when there was one (``None`` for a print).

    Its body is either ``data`` (in memory) or the file at ``path`` (a big download spilled to disk).
    ``temporary=True`` makes the object own that file: :meth:`discard`, or garbage collection, removes it.
    Read the body with :meth:`head`, :meth:`tail`, :attr:`size`, :attr:`content` (what a store uploads)
    rather than ``data``, which loads a spilled file whole into memory.
    """

    __slots__ = (
        "__weakref__",
        "_data",
        "_finalizer",
        "_md5",
        "content_type",
        "filename",
        "how",
        "path",
        "status",
        "url",
    )

    def __init__(
        self,
        data: bytes = b"",
        url: str | None = None,
        status: int | None = None,
        content_type: str | None = None,
        filename: str | None = None,
        how: How = "http",
        *,
        path: str | os.PathLike[str] | None = None,
        temporary: bool = False,
        md5: bytes | None = None,
    ) -> None:
        if path is not None and data:
            raise ValueError("Fetched: give data or path, not both")
        self._data = bytes(data)
        self.path: Path | None = Path(path) if path is not None else None
        self.url, self.status, self.content_type, self.filename, self.how = url, status, content_type, filename, how
        self._md5 = md5  # the raw digest, when the writer computed it on the way
        self._finalizer = (
            weakref.finalize(self, _unlink, str(self.path)) if temporary and self.path is not None else None
        )

    @property
    def ok(self) -> bool:
        """False for an HTTP error status; True when there was no HTTP exchange (a printed page)."""
        return self.status is None or 200 <= self.status < 300

    @property
    def spilled(self) -> bool:
        """True when the body is on disk (``path``) rather than in memory."""
        return self.path is not None

    @property
    def data(self) -> bytes:
        """The whole body in memory (for a spilled file this reads it all: prefer :attr:`content`)."""
        return self._data if self.path is None else self.path.read_bytes()

    @property
    def content(self) -> bytes | Path:
        """The body as a store's upload takes it: the bytes, or the file path (streamed, never read whole)."""
        return self._data if self.path is None else self.path

    @property
    def size(self) -> int:
        return len(self._data) if self.path is None else self.path.stat().st_size

    def head(self, n: int = 1024) -> bytes:
        """The first ``n`` bytes (enough to sniff a PDF or an HTML page)."""
        if self.path is None:
            return self._data[:n]
        with self.path.open("rb") as fh:
            return fh.read(n)

    def tail(self, n: int = 2048) -> bytes:
        """The last ``n`` bytes (where a complete PDF has its ``%%EOF``)."""
        if self.path is None:
            return self._data[-n:]
        with self.path.open("rb") as fh:
            fh.seek(max(0, self.size - n))
            return fh.read(n)

    def md5_base64(self) -> str:
        """The store's ``md5sum`` form (base64 of the digest); a spilled file is hashed in chunks, unless
        its digest was computed while it was written. Blocking for a big file: call it in a thread."""
        if self._md5 is None:
            digest = hashlib.md5(usedforsecurity=False)
            if self.path is None:
                digest.update(self._data)
            else:
                with self.path.open("rb") as fh:
                    while chunk := fh.read(_WRITE_BATCH):
                        digest.update(chunk)
            self._md5 = digest.digest()
        return base64.b64encode(self._md5).decode("ascii")

    def discard(self) -> None:
        """Remove the temporary file this object owns (nothing for an in-memory body or a caller's file)."""
        if self._finalizer is not None:
            self._finalizer()

    @classmethod
    async def from_chunks(
        cls,
        chunks: AsyncIterable[bytes | str],
        *,
        cap: int | None = None,
        spill_at: int = SPILL_BYTES,
        url: str | None = None,
        status: int | None = None,
        content_type: str | None = None,
        filename: str | None = None,
        how: How = "http",
    ) -> Fetched:
        """Read ``chunks`` into memory, or into a temporary file once past ``spill_at`` bytes; refused
        past ``cap`` (default :func:`~browserkonnector._limits.max_file_bytes`) with
        :class:`~browserkonnector._limits.FileTooLarge`, the rest never read. The partial file is removed
        on any error or cancellation."""
        cap = limits.max_file_bytes() if cap is None else cap
        where = url.split("?", 1)[0] if url else None
        meta: dict[str, Any] = {
            "url": url,
            "status": status,
            "content_type": content_type,
            "filename": filename,
            "how": how,
        }
        buffer = bytearray()
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        path: Path | None = None
        fh = None
        try:
            async for raw in chunks:
                chunk = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
                size += len(chunk)
                if size > cap:
                    raise limits.FileTooLarge(size, cap, where)
                buffer += chunk
                if path is None and size > spill_at:
                    path = new_spool_file()
                    fh = await asyncio.to_thread(path.open, "wb")
                if fh is not None and len(buffer) >= _WRITE_BATCH:
                    digest.update(buffer)
                    await asyncio.to_thread(fh.write, bytes(buffer))
                    buffer.clear()
            if fh is None:
                return cls(bytes(buffer), **meta)
            digest.update(buffer)
            await asyncio.to_thread(fh.write, bytes(buffer))
            await asyncio.to_thread(fh.close)
            return cls(path=path, temporary=True, md5=digest.digest(), **meta)
        except BaseException:
            if fh is not None:
                fh.close()
            if path is not None:
                _unlink(str(path))
            raise

    @classmethod
    def from_file(
        cls,
        path: Path,
        *,
        cap: int | None = None,
        spill_at: int = SPILL_BYTES,
        url: str | None = None,
        content_type: str | None = None,
        filename: str | None = None,
        how: How = "download",
    ) -> Fetched:
        """Take over the temporary file ``path`` (it is ours to remove): over ``cap``, removed and
        :class:`~browserkonnector._limits.FileTooLarge`; up to ``spill_at``, read into memory and removed;
        bigger, kept as the body. Blocking: call it in a thread."""
        cap = limits.max_file_bytes() if cap is None else cap
        try:
            size = path.stat().st_size
            if size > cap:
                raise limits.FileTooLarge(size, cap, url.split("?", 1)[0] if url else None)
            if size <= spill_at:
                data = path.read_bytes()
                _unlink(str(path))
                return cls(data, url=url, content_type=content_type, filename=filename, how=how)
        except BaseException:
            _unlink(str(path))
            raise
        return cls(path=path, temporary=True, url=url, content_type=content_type, filename=filename, how=how)

    def __repr__(self) -> str:  # never dump the bytes into a log line
        where = " on disk" if self.path is not None else ""
        size = self.size if self.path is None or self.path.exists() else "discarded"
        return (
            f"Fetched({size} bytes{where}, how={self.how!r}, status={self.status}, "
            f"content_type={self.content_type!r}, url={self.url!r})"
        )


async def read_spooled(
    response: httpx.Response, cap: int | None = None, *, spill_at: int = SPILL_BYTES, how: How = "http"
) -> Fetched:
    """A *streamed* httpx response (``client.stream(...)``) as a :class:`Fetched`: like
    :func:`~browserkonnector._limits.read_capped` (a ``Content-Length`` over the cap stops before the
    first byte, a body that keeps coming stops at the cap), but a body past ``spill_at`` goes to a
    temporary file instead of memory."""
    cap = limits.max_file_bytes() if cap is None else cap
    url = str(response.url)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise limits.FileTooLarge(int(declared), cap, url.split("?", 1)[0])
    return await Fetched.from_chunks(
        response.aiter_bytes(),
        cap=cap,
        spill_at=spill_at,
        url=url,
        status=response.status_code,
        content_type=response.headers.get("content-type"),
        how=how,
    )


#: A callable that fetches one file when (and only when) the pipeline decides it is needed.
FetchFile: TypeAlias = Callable[[], Awaitable[Fetched]]
