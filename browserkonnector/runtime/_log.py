"""The run's log: the Cozy stack's stdout protocol in job mode, coloured text in a terminal.

Every module logs through loguru's ``logger`` (``logger.bind(namespace="save_files").info(...)``); this
module installs the one sink of a run:

- **json** (job mode, or stdout not a terminal): one JSON object per line on stdout,
  ``{"time","type","message"[,"namespace"][,"label"][,"no_retry"]}``, at most 60 KiB of UTF-8 (the
  stack's scanner stops at 64 KiB): a longer message is cut and ends with "…", the line stays valid JSON.
  ``type`` is ``debug|info|warning|error|critical``; the stack turns the message of the last ``critical``
  line into the job error, so only the run's end writes one (:func:`critical`).
- **human**: ``HH:MM:SS level namespace: message`` in colour on stderr.

Whatever the sink, every message (and every bound value) passes through the run's :class:`Redactor`
first, so a secret never reaches a line at any level. Tracebacks are rendered without variable values
(``diagnose=False``): loguru's diagnose mode would print a password held in a local variable.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, Literal, TextIO

from loguru import logger

from browserkonnector._redact import Redactor

if TYPE_CHECKING:
    from loguru import Message, Record

__all__ = ["LogMode", "critical", "install", "pick_mode"]

LogMode = Literal["json", "human"]
#: The stack reads stdout with a ``bufio.Scanner`` of 64 KiB (worker/exec/common.go): a longer line
#: ends its reading for good (later lines, the final ``critical`` included, are lost and the job hangs
#: on a full pipe). Lines are cut well below, in UTF-8 bytes, newline included.
MAX_LINE_BYTES = 60 * 1024
_TYPES = {
    "TRACE": "debug",
    "DEBUG": "debug",
    "INFO": "info",
    "SUCCESS": "info",
    "WARNING": "warning",
    "ERROR": "error",
    "CRITICAL": "critical",
}
_LEVELS = {
    "secret": "TRACE",
    "debug": "DEBUG",
    "info": "INFO",
    "warn": "WARNING",
    "warning": "WARNING",
    "error": "ERROR",
    "critical": "CRITICAL",
}


def pick_mode(requested: LogMode | None, *, job: bool, stream: IO[str] | None = None) -> LogMode:
    """``json`` in a Cozy job or when stdout is not a terminal, ``human`` otherwise (unless requested)."""
    if requested is not None:
        return requested
    if job:
        return "json"
    stream = stream or sys.stdout
    return "human" if stream.isatty() else "json"


def _json_line(record: Record, redactor: Redactor) -> str:
    extra = record["extra"]
    entry: dict[str, Any] = {
        "time": record["time"].astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "type": extra.get("type") or _TYPES.get(record["level"].name, "info"),
    }
    if extra.get("label"):
        entry["label"] = redactor.redact(str(extra["label"]))
    if extra.get("namespace"):
        entry["namespace"] = str(extra["namespace"])
    message = redactor.redact(record["message"])
    if record["exception"] is not None and entry["type"] == "debug":
        import traceback

        exc = record["exception"]
        message += "\n" + redactor.redact("".join(traceback.format_exception(exc.type, exc.value, exc.traceback)))
    entry["message"] = message
    if extra.get("no_retry"):
        entry["no_retry"] = True
    line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
    if len(line.encode()) > MAX_LINE_BYTES:
        # Keep the longest prefix of the message that fits (bisection: a character costs 1 to 6 bytes
        # once UTF-8 encoded and JSON escaped). The cut is inside the message: the line stays one JSON.
        low, high = 0, len(message)
        while low < high:
            middle = (low + high + 1) // 2
            entry["message"] = message[:middle] + "…"
            if len(json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode()) <= MAX_LINE_BYTES:
                low = middle
            else:
                high = middle - 1
        entry["message"] = message[:low] + "…"
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
    return line


def install(
    mode: LogMode,
    redactor: Redactor,
    *,
    level: str | None = None,
    stream: IO[str] | None = None,
) -> None:
    """Replace every loguru sink by the run's one. ``level`` defaults to ``LOG_LEVEL`` or ``debug``
    (JSON) / ``info`` (human)."""
    logger.remove()
    wanted = (level or os.environ.get("LOG_LEVEL") or ("debug" if mode == "json" else "info")).lower()
    threshold = _LEVELS.get(wanted, wanted.upper())

    def patch(record: Record) -> None:
        record["message"] = redactor.redact(record["message"])
        extra = record["extra"]
        for key, value in list(extra.items()):
            if isinstance(value, str):
                extra[key] = redactor.redact(value)
        extra.setdefault("namespace", "")
        extra["sep"] = ": " if extra["namespace"] else ""

    logger.configure(patcher=patch)
    if mode == "json":
        out = stream or sys.stdout

        def sink(message: Message) -> None:
            out.write(_json_line(message.record, redactor) + "\n")
            out.flush()

        logger.add(sink, level=threshold, format="{message}", backtrace=False, diagnose=False, catch=False)
    else:
        err: TextIO = stream or sys.stderr  # type: ignore[assignment]
        colorize = err.isatty() and not os.environ.get("NO_COLOR")
        fmt = (
            "<green>{time:HH:mm:ss}</green> <level>{level: <7}</level> "
            "<cyan>{extra[namespace]}</cyan>{extra[sep]}<level>{message}</level>"
        )
        logger.add(err, level=threshold, format=fmt, colorize=colorize, backtrace=False, diagnose=False, catch=False)


def critical(code: str, *, no_retry: bool = False, namespace: str = "Konnector") -> None:
    """The last line of a failed run: its message is the error code the stack records as the job error."""
    logger.bind(namespace=namespace, no_retry=no_retry).critical(code)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RunLog:
    """Keeps the run's last log lines (JSON, redacted) in memory, for the failure bundle."""

    def __init__(self, redactor: Redactor, *, max_lines: int = 20_000) -> None:
        from collections import deque

        self.lines: deque[str] = deque(maxlen=max_lines)
        self._redactor = redactor
        self._id = logger.add(
            self._write, level="TRACE", format="{message}", backtrace=False, diagnose=False, catch=True
        )

    def _write(self, message: Message) -> None:
        self.lines.append(_json_line(message.record, self._redactor))

    def text(self) -> str:
        # Redact again at the end: a secret registered late (a token read mid-run) is scrubbed too.
        return self._redactor.redact("\n".join(self.lines) + "\n")

    def close(self) -> None:
        with contextlib.suppress(ValueError):  # already removed by a later install()
            logger.remove(self._id)
