"""The environment the stack gives a konnector job, built as ``PrepareCmdEnv`` builds it.

cozy-stack's konnector worker (worker/exec/konnector.go ``PrepareCmdEnv``, worker/exec/common.go
``ctxToTimeLimit``) runs the command with exactly these variables and nothing else: ``COZY_URL`` is the
instance's page URL for ``/`` (with its trailing slash), ``COZY_FIELDS`` the trigger's message as sent,
``COZY_PARAMETERS`` the manifest's ``parameters`` marshalled as they are (``null`` without any),
``COZY_LANGUAGE`` the manifest's language (``node`` when empty), ``COZY_TIME_LIMIT`` the seconds left
before the deadline rounded up, plus 5, ``COZY_JOB_MANUAL_EXECUTION`` Go's ``strconv.FormatBool``, and
``COZY_TRIGGER_ID`` only for a triggered job. Tests run the command under ``env -i`` with it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["job_environment"]


def job_environment(
    url: str,
    token: str,
    message: Mapping[str, Any],
    *,
    parameters: Mapping[str, Any] | None = None,
    language: str | None = None,
    locale: str = "en",
    seconds_left: float = 300.0,
    job_id: str = "emulated-job",
    manual: bool = False,
    trigger_id: str | None = None,
    payload: str = "",
) -> dict[str, str]:
    """The ``COZY_*`` variables of a konnector job (see the module docstring)."""
    env = {
        "COZY_URL": url.rstrip("/") + "/",
        "COZY_CREDENTIALS": token,
        "COZY_FIELDS": json.dumps(dict(message), separators=(",", ":")),
        "COZY_PARAMETERS": json.dumps(dict(parameters) if parameters is not None else None, separators=(",", ":")),
        "COZY_PAYLOAD": payload,
        "COZY_LANGUAGE": language or "node",
        "COZY_LOCALE": locale,
        "COZY_TIME_LIMIT": str(math.ceil(seconds_left) + 5),
        "COZY_JOB_ID": job_id,
        "COZY_JOB_MANUAL_EXECUTION": "true" if manual else "false",
    }
    if trigger_id is not None:
        env["COZY_TRIGGER_ID"] = trigger_id
    return env
