"""Second factor, wherever a run happens: a TOTP helper, the Home app in a Cozy job, a terminal prompt.

Where the code comes from:

- a TOTP seed the account holds (a field): :func:`totp`, no person needed — the seed is registered as a
  secret before the code is computed;
- a Cozy job: the Home app, through the account (``waitForTwoFaCode``: ``TWOFA_NEEDED*`` states, the
  code written into ``twoFACode``); a background job has nobody to ask and fails with ``TWOFA_EXPIRED``;
- a local run in a terminal (stdin is a TTY): a prompt on stderr (stdout may carry the JSON protocol);
- anything else (a local run without a terminal) fails at once with ``TWOFA_EXPIRED``, saying why,
  instead of waiting for a code nobody can give.

:func:`second_factor` does the whole exchange: get a code, let the connector submit it, and when the site
refuses it ask again (``TWOFA_NEEDED_RETRY`` in a job, a new prompt in a terminal) up to ``tries`` times,
then end with ``USER_ACTION_NEEDED.WRONG_TWOFA_CODE`` — a TOTP code that is refused is not asked again
(the seed is wrong: a new code would be refused too).

While it waits, nothing times the page out: Playwright's timeouts only run during an action, and the
wait itself is bounded by the run's time limit (``deadline``), so it ends, with ``TWOFA_EXPIRED``, before
the run would be killed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import IO, TYPE_CHECKING, Any

from loguru import logger

from browserkonnector import _errors as errors
from browserkonnector._errors import InvalidFields, TwoFactorFailed

if TYPE_CHECKING:
    from browserkonnector._redact import Redactor
    from browserkonnector.runtime._job import Account, JobEnv

__all__ = ["ask_code", "is_interactive", "prompt_terminal", "second_factor", "totp"]

log = logger.bind(namespace="2FA")
#: What a deadline leaves, at least, to end the run cleanly after a wait that used the rest.
END_MARGIN_S = 5.0


def totp(secret: Any, *, redactor: Redactor | None = None, at: float | None = None) -> str:
    """The current TOTP code (RFC 6238: 6 digits, 30 s, SHA-1, what authenticator apps use) of a base32
    ``secret`` (a ``str`` or pydantic ``SecretStr``; spaces and case do not matter, as apps show them).

    The seed is registered with ``redactor`` first. A seed that is not base32 raises ``ValueError``
    saying so (never showing it)."""
    import pyotp

    raw = secret.get_secret_value() if hasattr(secret, "get_secret_value") else str(secret)
    if redactor is not None:
        redactor.add(raw)
    seed = raw.replace(" ", "").replace("-", "").upper()
    try:
        if not seed:
            raise binascii.Error
        base64.b32decode(seed + "=" * (-len(seed) % 8))
    except (binascii.Error, ValueError):
        raise ValueError(
            "the TOTP secret is not a base32 key (letters A-Z and digits 2-7, as the vendor's setup page shows it)"
        ) from None
    try:
        generator = pyotp.TOTP(seed)
    except ValueError as exc:  # pyotp refuses seeds under 112 bits
        raise ValueError(f"the TOTP secret is not a usable key ({exc})") from None
    code: str = generator.at(at) if at is not None else generator.now()
    if redactor is not None:
        redactor.add(seed)
    return code


def is_interactive(job: JobEnv, stdin: IO[str] | None = None) -> bool:
    """A person at a terminal: not a Cozy job, and stdin is a TTY."""
    stream = sys.stdin if stdin is None else stdin
    try:
        return not job.is_job and stream is not None and stream.isatty()
    except (ValueError, OSError):  # closed
        return False


async def prompt_terminal(
    message: str, *, timeout: float, stdin: IO[str] | None = None, stderr: IO[str] | None = None
) -> str | None:
    """Ask on ``stderr``, read one line of ``stdin``; ``None`` on end of input or after ``timeout`` s.

    The read runs in a daemon thread: a blocked ``readline`` cannot be cancelled, and must not keep the
    process alive after a run that gave up waiting."""
    source = sys.stdin if stdin is None else stdin
    out = sys.stderr if stderr is None else stderr
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str | None] = loop.create_future()

    def read() -> None:
        try:
            line: str | None = source.readline()
        except (OSError, ValueError):
            line = None
        value = line.strip() if line else None

        def settle() -> None:
            if not answer.done():
                answer.set_result(value)

        # RuntimeError: the run ended (its loop closed) while this thread still waited for a line.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle)

    print(message, end="", file=out, flush=True)
    threading.Thread(target=read, name="browserkonnector-2fa-prompt", daemon=True).start()
    try:
        return await asyncio.wait_for(answer, timeout=max(timeout, 0.0))
    except TimeoutError:
        print("", file=out, flush=True)
        return None


def _bounded(timeout: float, deadline: float | None) -> float:
    """``timeout``, shortened so the run still has time to end before its deadline (monotonic)."""
    if deadline is None:
        return timeout
    return max(min(timeout, deadline - time.monotonic() - END_MARGIN_S), 0.0)


async def ask_code(
    *,
    account: Account,
    job: JobEnv,
    type: str = "email",
    timeout: float = 180.0,
    heartbeat: float = 5.0,
    retry: bool = False,
    deadline: float | None = None,
    stdin: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> str:
    """A code from whoever can give it (see the module docstring); ``TWOFA_EXPIRED`` when nobody does."""
    wait = _bounded(timeout, deadline)
    if job.is_job:
        return await account.wait_for_two_fa_code(
            manual_execution=job.manual_execution, type=type, timeout=wait, heartbeat=heartbeat, retry=retry
        )
    if not is_interactive(job, stdin):
        raise TwoFactorFailed(
            errors.USER_ACTION_NEEDED_TWOFA_EXPIRED,
            "the site asks for a second-factor code, and this run has nobody to ask: run it in "
            "a terminal, or give the account's TOTP secret as a field",
        )
    what = {"email": "received by email", "sms": "received by SMS", "app_code": "from your authenticator app"}
    again = "That code was refused. " if retry else ""
    code = await prompt_terminal(
        f"{again}Second-factor code {what.get(type, '')} (waiting {wait:.0f} s): ",
        timeout=wait,
        stdin=stdin,
        stderr=stderr,
    )
    if not code:
        raise TwoFactorFailed(errors.USER_ACTION_NEEDED_TWOFA_EXPIRED, f"no code entered within {wait:.0f} s")
    return code


async def second_factor(
    submit: Callable[[str], Awaitable[bool]],
    *,
    account: Account,
    job: JobEnv,
    redactor: Redactor,
    totp_secret: Any = None,
    type: str = "app_code",
    tries: int = 3,
    timeout: float = 180.0,
    heartbeat: float = 5.0,
    deadline: float | None = None,
    stdin: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> None:
    """Get a code, ``submit`` it (``True``: accepted), ask again on a refusal; ``WRONG_TWOFA_CODE`` at last."""
    if tries < 1:
        raise ValueError(f"tries={tries}: give at least 1")
    for attempt in range(1, tries + 1):
        if totp_secret is not None:
            try:
                code = totp(totp_secret, redactor=redactor)
            except ValueError as exc:
                raise InvalidFields(str(exc)) from None
        else:
            code = await ask_code(
                account=account,
                job=job,
                type=type,
                timeout=timeout,
                heartbeat=heartbeat,
                retry=attempt > 1,
                deadline=deadline,
                stdin=stdin,
                stderr=stderr,
            )
        if await submit(code):
            log.info("second factor accepted")
            return
        log.warning("the site refused the second-factor code (try {} of {})", attempt, tries)
        if totp_secret is not None:
            break  # a computed code that is refused means a wrong seed: asking again changes nothing
    raise TwoFactorFailed("the site refused the second-factor code")
