"""What a download hands to the save pipeline: bytes plus what is known of where they came from.

The save pipeline never imports the browser (docs/architecture.md): it calls a *fetch callable* that returns a
:class:`Fetched`. The browser layer builds those from a download event, an inline PDF response, a
``blob:`` URL, a page printed to PDF or a plain HTTP GET through the logged-in session; a connector
without a browser builds them from httpx. ``status`` and ``content_type`` let the pipeline refuse an
HTML error page before it is stored as a bill.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeAlias

__all__ = ["FetchFile", "Fetched", "How"]

#: How the bytes arrived; kept in logs and benchmarks, never used to decide validity.
How: TypeAlias = Literal["http", "download", "inline", "blob", "print", "stream", "bytes"]


@dataclass(frozen=True)
class Fetched:
    """A downloaded file. ``status`` is the HTTP status when there was one (``None`` for a print)."""

    data: bytes
    url: str | None = None
    status: int | None = None
    content_type: str | None = None
    filename: str | None = None
    how: How = "http"

    @property
    def ok(self) -> bool:
        """False for an HTTP error status; True when there was no HTTP exchange (a printed page)."""
        return self.status is None or 200 <= self.status < 300

    def __repr__(self) -> str:  # never dump the bytes into a log line
        return (f"Fetched({len(self.data)} bytes, how={self.how!r}, status={self.status}, "
                f"content_type={self.content_type!r}, url={self.url!r})")


#: A callable that fetches one file when (and only when) the pipeline decides it is needed.
FetchFile: TypeAlias = Callable[[], Awaitable[Fetched]]
