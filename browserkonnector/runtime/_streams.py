"""The process's stdout and stderr pass through the run's redactor while the run lasts.

The log sinks redact every line, but a connector can also ``print()`` a token, a library can write a
warning holding a URL with a session id in it, and Python prints a traceback of an exception that
escaped. In a Cozy job, stdout *is* the log the stack records. So for the length of a run,
``sys.stdout`` and ``sys.stderr`` are replaced by :class:`RedactingStream` proxies that scrub each write
(plain, URL-encoded, JSON-escaped and base64 forms, as everywhere) before it reaches the real stream.

A write is redacted whole: a secret cut across two writes (a connector printing it one character at a
time) is not recognised, which is why nothing of the framework writes that way.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from browserkonnector._redact import Redactor

__all__ = ["RedactingStream", "redacted_std_streams"]


class RedactingStream:
    """A text stream that redacts every write; everything else goes to the wrapped stream."""

    def __init__(self, inner: TextIO, redactor: Redactor) -> None:
        self._inner = inner
        self._redactor = redactor

    @property
    def wrapped(self) -> TextIO:
        return self._inner

    def write(self, text: str) -> int:
        self._inner.write(self._redactor.redact(text))
        return len(text)  # what the caller gave: some callers check it

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._inner.flush()

    def isatty(self) -> bool:
        return self._inner.isatty()

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, buffer, errors...
        return getattr(self._inner, name)


@contextlib.contextmanager
def redacted_std_streams(redactor: Redactor) -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` redacted by ``redactor`` within the block (nested runs keep
    the outer proxies, and add theirs)."""
    old_out, old_err = sys.stdout, sys.stderr
    sys.stdout = RedactingStream(old_out, redactor)
    sys.stderr = RedactingStream(old_err, redactor)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        sys.stdout, sys.stderr = old_out, old_err
