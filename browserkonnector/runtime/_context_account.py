"""What a run context knows of its account: the connector's state between runs, the Home app's login
states, the second factor and incremental runs. A part of :class:`~._context.RunContext`, kept apart so
each file reads in one sitting; it relies only on the attributes declared below, which the context sets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import timedelta

    from loguru import Logger

    from browserkonnector._redact import Redactor
    from browserkonnector.runtime._job import Account, JobEnv
    from browserkonnector.runtime._sync import SyncMemory

__all__ = ["AccountMixin"]


class AccountMixin:
    """The account's side of a run context (see the module docstring)."""

    account: Account
    account_data: dict[str, Any]
    job: JobEnv
    redactor: Redactor
    deadline: float | None
    sync: SyncMemory | None
    log: Logger

    # -- account ----------------------------------------------------------------------------------------
    def get_account_data(self) -> dict[str, Any]:
        """``getAccountData``: the connector's state saved by earlier runs (a copy)."""
        return dict(self.account_data)

    async def save_account_data(self, data: Mapping[str, Any], *, merge: bool = True) -> dict[str, Any]:
        """``saveAccountData``: connector state kept between runs (merged by default)."""
        self.account_data = await self.account.save_data(data, merge=merge)
        return self.account_data

    async def notify_login_success(self) -> None:
        """``notifySuccessfulLogin``: tell the Home app the credentials work (state ``LOGIN_SUCCESS``)."""
        await self.account.set_state("LOGIN_SUCCESS")

    async def deactivate_auto_successful_login(self) -> None:
        """``deactivateAutoSuccessfulLogin``: the Home app must wait for :meth:`notify_login_success`."""
        await self.account.set_state("HANDLE_LOGIN_SUCCESS")

    async def wait_for_two_fa_code(
        self, *, type: str = "email", timeout: float = 180.0, heartbeat: float = 5.0, retry: bool = False
    ) -> str:
        """``waitForTwoFaCode``: a code from the Home app in a Cozy job (manual runs only), from a prompt
        in a terminal run; bounded by the run's time limit (docs/sessions.md)."""
        from browserkonnector.runtime._twofa import ask_code

        return await ask_code(
            account=self.account,
            job=self.job,
            type=type,
            timeout=timeout,
            heartbeat=heartbeat,
            retry=retry,
            deadline=self.deadline,
        )

    async def second_factor(
        self,
        submit: Callable[[str], Any],
        *,
        totp_secret: Any = None,
        type: str = "app_code",
        tries: int = 3,
        timeout: float = 180.0,
    ) -> None:
        """Get a code (from ``totp_secret``, the Home app or a terminal prompt), ``await submit(code)``
        (``True``: accepted), ask again on a refusal; ``USER_ACTION_NEEDED.WRONG_TWOFA_CODE`` at last."""
        from browserkonnector.runtime._twofa import second_factor

        await second_factor(
            submit,
            account=self.account,
            job=self.job,
            redactor=self.redactor,
            totp_secret=totp_secret,
            type=type,
            tries=tries,
            timeout=timeout,
            deadline=self.deadline,
        )

    def totp(self, secret: Any) -> str:
        """The current TOTP code of a base32 seed (the seed is declared secret first)."""
        from browserkonnector.runtime._twofa import totp

        return totp(secret, redactor=self.redactor)

    # -- sessions and incremental runs ------------------------------------------------------------------
    def should_full_sync(self, max_age: timedelta | float | None = None) -> bool:
        """Whether to look at everything (first run, last run failed, ``--full-sync``, last full sync
        older than ``max_age``) or only at what is new; remembered in the account data."""
        from browserkonnector.runtime._sync import SyncMemory

        if self.sync is None:
            self.sync = SyncMemory(self.account_data)
        answer = self.sync.should_full_sync(max_age)
        self.log.info("full sync: {}", self.sync.reason if answer else "no, " + self.sync.reason)
        return answer
