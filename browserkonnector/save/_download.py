"""Getting the bytes of one entry, with retries and backoff, bounded in time.

An entry's bytes come from its ``content`` (bytes, a stream, a file object), its ``fetch_file()``
callable, or its ``fileurl`` through the ``fetch(url, entry)`` downloader (default: a plain GET with
:func:`browserkonnector._request.request_factory`). Each attempt is checked by
:func:`~browserkonnector.save._validate.check_content` before anything is stored; a failing attempt is
retried with exponential backoff (tenacity) unless the failure is permanent (a 404, a 403) or means
the run must stop (a :class:`~browserkonnector._errors.KonnectorError` raised by a connector's fetch).
A stream can be read only once, so its bytes are kept for the retries of the same entry. A body
bigger than :data:`~browserkonnector.save._fetched.SPILL_BYTES` is kept in a temporary file rather than
in memory; the file of a refused attempt is removed before the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential

from browserkonnector import _limits as limits
from browserkonnector._errors import KonnectorError
from browserkonnector.save._fetched import Fetched, read_spooled
from browserkonnector.save._models import FileEntry
from browserkonnector.save._validate import InvalidContent, check_content
from browserkonnector.store._errors import StoreError, StoreUnavailable

__all__ = ["Fetch", "FileTimeout", "Source", "default_fetcher", "download"]

#: ``fetch(url, entry) -> Fetched``: how entries with a ``fileurl`` are downloaded.
Fetch: TypeAlias = Callable[[str, FileEntry], Awaitable[Fetched]]


@contextlib.asynccontextmanager
async def default_fetcher(timeout: float = 60.0) -> AsyncIterator[Fetch]:
    """A plain HTTP GET (no retries of its own: the entry-level retries also cover bad content)."""
    from browserkonnector._request import request_factory

    async with request_factory(retries=0, timeout=timeout) as client:

        async def fetch(url: str, entry: FileEntry) -> Fetched:
            async with client.stream("GET", url) as response:
                fetched = await read_spooled(response)  # a big body goes to a temporary file
            fetched.url = url
            return fetched

        yield fetch


class Source:
    """Where one entry's bytes come from; remembers a stream's bytes across retries (a big stream in a
    temporary file, removed by :meth:`close`)."""

    def __init__(self, entry: FileEntry, fetch: Fetch | None) -> None:
        self.entry = entry
        self.fetch = fetch
        self._cached: Fetched | None = None

    async def get(self) -> Fetched:
        entry = self.entry
        if self._cached is not None:
            return self._cached
        content = entry.content
        if isinstance(content, bytes):
            return Fetched(data=content, how="bytes", filename=entry.filename)
        if content is not None:
            self._cached = await _read_stream(content, entry.filename)
            return self._cached
        if entry.fetch_file is not None:
            result: Any = await entry.fetch_file()
            if isinstance(result, bytes | bytearray):
                return Fetched(data=bytes(result), how="bytes", filename=entry.filename)
            if not isinstance(result, Fetched):
                raise TypeError(f"fetch_file of {entry.describe()} returned {type(result).__name__}, not Fetched")
            return result
        if entry.fileurl and self.fetch is not None:
            return await self.fetch(entry.fileurl, entry)
        raise InvalidContent("no content, fetch_file or fileurl to get the file from", permanent=True)

    def release(self, fetched: Fetched) -> None:
        """Drop a failed attempt's temporary file (a remembered stream is kept for the next attempt)."""
        if fetched is not self._cached:
            fetched.discard()

    def close(self) -> None:
        """Drop the remembered stream's temporary file, if any."""
        if self._cached is not None:
            self._cached.discard()


async def _read_stream(stream: Any, filename: str | None) -> Fetched:
    """A stream's bytes (a big one in a temporary file), refused past the file-size cap (the rest is
    never read)."""
    if hasattr(stream, "__aiter__"):
        chunks: AsyncIterator[Any] = stream.__aiter__()
    else:
        chunks = _read_file_object(stream)
    return await Fetched.from_chunks(chunks, how="stream", filename=filename)


async def _read_file_object(stream: Any, chunk_size: int = 1 << 20) -> AsyncIterator[Any]:
    """A binary (or text) file object's chunks, each read in a worker thread."""
    while chunk := await asyncio.to_thread(stream.read, chunk_size):
        yield chunk


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, KonnectorError | asyncio.CancelledError | limits.LimitExceeded):
        return False
    if isinstance(exc, InvalidContent):
        return not exc.permanent
    if isinstance(exc, StoreError):
        return isinstance(exc, StoreUnavailable)
    if isinstance(exc, TypeError):  # a connector bug (bad fetch_file result) will not fix itself
        return False
    return isinstance(exc, Exception)


async def download(
    source: Source,
    *,
    name: str,
    forced_mime: str | None,
    retries: int,
    backoff: float,
    attempt_timeout: float | None,
    on_retry: Callable[[RetryCallState], None] | None = None,
    file_timeout: float | None = limits.FILE_TIMEOUT_S,
) -> Fetched:
    """The entry's bytes, checked; at most ``retries`` retries after the first attempt, all of them
    (and their waits) within ``file_timeout`` seconds: past it, :class:`FileTimeout`."""

    async def attempt() -> Fetched:
        async with asyncio.timeout(attempt_timeout):
            fetched = await source.get()
        try:
            if fetched.spilled or len(fetched.data) > 256 * 1024:
                await asyncio.to_thread(check_content, fetched, name=name, forced_mime=forced_mime)
            else:
                check_content(fetched, name=name, forced_mime=forced_mime)
        except BaseException:
            source.release(fetched)  # a refused copy's temporary file goes before the next attempt
            raise
        return fetched

    retrying = AsyncRetrying(
        stop=stop_after_attempt(max(0, retries) + 1),
        wait=wait_exponential(multiplier=backoff, max=max(backoff, 30.0)) if backoff > 0 else lambda _: 0.0,
        retry=retry_if_exception(_retryable),
        reraise=True,
        before_sleep=on_retry,
    )
    try:
        with limits.deadline_scope(file_timeout):  # the session client's own waits see it too
            async with asyncio.timeout(file_timeout):
                return await retrying(attempt)  # the caller discards what it returns once stored
    except TimeoutError:
        source.close()
        if file_timeout is None:
            raise
        raise FileTimeout(file_timeout) from None
    except BaseException:
        source.close()
        raise


class FileTimeout(limits.LimitExceeded, TimeoutError):
    """One file took longer than its ``file_timeout``, retries included."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"timed out: no good copy within the file time limit ({seconds:g} s, retries included)")


def describe_error(exc: BaseException) -> str:
    """A one-line, byte-free reason for a failed entry."""
    if isinstance(exc, limits.LimitExceeded):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, httpx.HTTPError):
        return f"{type(exc).__name__}: {exc}".split("\n", 1)[0][:200]
    return f"{exc}".split("\n", 1)[0][:200] or type(exc).__name__
