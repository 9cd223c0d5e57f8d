"""The stdout protocol of the Cozy stack, and secrets redacted from every line whatever the level."""

from __future__ import annotations

import io
import json

import pytest
from loguru import logger

from browserkonnector._redact import Redactor
from browserkonnector.runtime._log import MAX_LINE_BYTES, RunLog, critical, install


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_have_the_stack_fields_and_no_secret() -> None:
    out = io.StringIO()
    redactor = Redactor(["hunter2-password"])
    install("json", redactor, stream=out, level="debug")
    logger.bind(namespace="save_files").info("saved with hunter2-password")
    logger.debug("url-encoded hunter2%2Dpassword stays? {}", "hunter2-password")
    logger.warning("careful")
    critical("LOGIN_FAILED", no_retry=True)
    got = lines(out)
    assert [entry["type"] for entry in got] == ["info", "debug", "warning", "critical"]
    assert got[0] == {"time": got[0]["time"], "type": "info", "namespace": "save_files", "message": "saved with ***"}
    assert got[-1]["message"] == "LOGIN_FAILED"
    assert got[-1]["no_retry"] is True
    assert "hunter2-password" not in out.getvalue()
    assert str(got[0]["time"]).endswith("Z")


def test_exceptions_keep_their_traceback_in_debug_lines_without_variable_values() -> None:
    out = io.StringIO()
    install("json", Redactor(["pw-value-123"]), stream=out, level="debug")
    password = "pw-value-123"
    try:
        raise ValueError("bad " + password)
    except ValueError:
        logger.opt(exception=True).debug("failed")
    text = out.getvalue()
    assert "ValueError" in text
    assert "Traceback" in text
    assert "pw-value-123" not in text


@pytest.mark.parametrize("text", ["x" * (200 * 1024), "é€" * (70 * 1024), "\x01" * (40 * 1024)])
def test_long_messages_are_cut_below_the_stacks_64_kib_line(text: str) -> None:
    """Counted in UTF-8 bytes of the line (multi-byte characters, JSON escapes), newline included."""
    out = io.StringIO()
    install("json", Redactor(), stream=out)
    logger.info(text)
    raw = out.getvalue()
    assert raw.count("\n") == 1
    line = raw.splitlines()[0]
    assert len(raw.encode()) <= MAX_LINE_BYTES + 1 < 64 * 1024
    message = json.loads(line)["message"]
    assert message.endswith("…")
    assert message.startswith(text[:100])
    assert len(raw.encode()) > MAX_LINE_BYTES - 64  # cut near the limit, not emptied


def test_level_threshold_drops_debug() -> None:
    out = io.StringIO()
    install("json", Redactor(), stream=out, level="info")
    logger.debug("hidden")
    logger.info("shown")
    assert [entry["message"] for entry in lines(out)] == ["shown"]


def test_human_mode_is_readable_and_redacted() -> None:
    err = io.StringIO()
    install("human", Redactor(["s3cret-value"]), stream=err, level="info")
    logger.bind(namespace="demo").info("token s3cret-value")
    text = err.getvalue()
    assert "demo: token ***" in text
    assert "s3cret-value" not in text


def test_run_log_keeps_lines_and_redacts_late_secrets() -> None:
    redactor = Redactor()
    install("json", redactor, stream=io.StringIO())
    run_log = RunLog(redactor)
    logger.info("token is late-token-42")
    redactor.add("late-token-42")
    assert "late-token-42" not in run_log.text()
    run_log.close()
