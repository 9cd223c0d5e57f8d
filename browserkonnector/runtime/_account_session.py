"""The account's session across a run: vault, login keeper and sync memory, at the run's four moments.

``runtime/_run.py`` calls, in order:

1. :meth:`RunSession.prepare` before the browser starts: honours ``--fresh-session`` and the account
   state ``RESET_SESSION`` (both discard the vault), reads the vault and registers its secrets with the
   redactor before anything could log them. Its ``storage_state`` goes to the browser context;
2. :meth:`RunSession.attach` once the context and ``ctx`` exist: sessionStorage restore, ``ctx.http``
   re-login on a lost session, ``ctx.session``;
3. :meth:`RunSession.before_main`, inside the connector's task (so the run's time limit bounds it): the
   logged-in check, or the login;
4. :meth:`RunSession.finish`: keep the session of a good run, drop the one a login failure proved bad,
   and remember how the run went for ``should_full_sync``;
5. :meth:`RunSession.close_profile`, once the browser has closed: with ``keep_profile``, the whole
   profile a good run used is encrypted into the store (``runtime/_profile.py``), and its clear copy removed.

Nothing here fails a run by itself: a vault that cannot be read or written costs a warning and a login.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from browserkonnector import errors
from browserkonnector._redact import Redactor
from browserkonnector.runtime._job import Account, JobEnv
from browserkonnector.runtime._login import SessionKeeper
from browserkonnector.runtime._options import RunOptions
from browserkonnector.runtime._profile import KeptProfile, discard_profile, profile_archive_path
from browserkonnector.runtime._sync import SYNC_KEY, SyncMemory
from browserkonnector.runtime._vault import SessionVault, discard_vault

if TYPE_CHECKING:
    from browserkonnector.browser._state import BrowserState
    from browserkonnector.runtime._context import RunContext
    from browserkonnector.runtime._konnector import Konnector

__all__ = ["RESET_SESSION", "RunSession"]

RESET_SESSION = "RESET_SESSION"
#: Codes that prove the kept session (or the credentials behind it) bad: the vault is dropped.
DISCARD_ON = frozenset(
    {errors.LOGIN_FAILED, errors.USER_ACTION_NEEDED_WRONG_TWOFA_CODE, errors.USER_ACTION_NEEDED_TWOFA_EXPIRED}
)
log = logger.bind(namespace="session")


class RunSession:
    def __init__(
        self, konnector: Konnector[Any], options: RunOptions, job: JobEnv, account: Account, redactor: Redactor
    ) -> None:
        self.konnector, self.options, self.job, self.account = konnector, options, job, account
        self.redactor = redactor
        self.vault: SessionVault | None = None
        self.state: BrowserState | None = None
        self.ctx: RunContext[Any] | None = None
        #: ``keep_profile`` where this run launches its own Chromium: the whole profile is kept.
        self.profile: KeptProfile | None = None
        self.sync = SyncMemory(account.data, forced=options.full_sync)
        self.keeper = SessionKeeper(
            login=konnector.login_fn,
            check=konnector.logged_in_fn,
            login_page=konnector.login_page,
            max_relogins=konnector.max_relogins,
            save=self.save if konnector.keeps_session else None,
        )

    @property
    def keeps(self) -> bool:
        """Whether this run uses the vault: the connector keeps sessions, with a browser (without one, the
        cookies live in ``ctx.http`` only), not recorded or replayed (a recording must show the login)."""
        options = self.options
        return (
            self.konnector.keeps_session
            and self.konnector.browser
            and options.record is None
            and options.replay is None
        )

    @property
    def keeps_whole_profile(self) -> bool:
        """``keep_profile`` with a Chromium this run launches, in a local run: the profile directory is then
        kept. A connected or shared browser has no profile of ours, and a Cozy job keeps no file between
        runs: there ``keep_profile`` keeps the IndexedDB databases in the vault instead."""
        from browserkonnector.runtime._browsing import shared_session

        return (
            self.keeps
            and self.konnector.keep_profile
            and self.options.connect is None
            and not self.job.is_job
            and shared_session.get() is None
        )

    @property
    def profile_dir(self) -> Path | None:
        """The directory the run's Chromium keeps its profile in (``None``: a throwaway context)."""
        return self.profile.directory if self.profile is not None else None

    async def prepare(self) -> dict[str, Any] | None:
        """The storage state to open the browser context with, or ``None`` (a fresh context, or a kept
        profile: then :meth:`attach` puts the state in)."""
        reset = self.account.doc.get("state") == RESET_SESSION
        archive = profile_archive_path(self.options.store_dir, self.konnector.slug, self.account.id)
        if reset or (self.options.fresh_session and self.keeps):
            log.info("discarding the kept session ({})", "account state RESET_SESSION" if reset else "--fresh-session")
            await self._quiet(discard_vault(self.account))
            await self._quiet(asyncio.to_thread(discard_profile, archive))
            if reset:
                await self._quiet(self.account.set_state(None))
        if not self.keeps:
            return None
        self.vault = SessionVault.for_run(
            self.account, environ=self.options.environ, is_job=self.job.is_job, store_dir=self.options.store_dir
        )
        if self.vault is not None and self.keeps_whole_profile:
            self.profile = KeptProfile(archive, self.vault.key)
            await asyncio.to_thread(self.profile.open)
        if self.vault is None or reset or self.options.fresh_session:
            return None
        try:
            self.state = await self.vault.load()
        except Exception as exc:  # the account could not be read or written: run without the vault
            log.warning("the session vault is unavailable ({}): this run logs in", type(exc).__name__)
            self.state = None
        if self.state is None:
            return None
        from browserkonnector.browser._state import register_state_secrets

        register_state_secrets(self.state, self.redactor, secret_keys=self.konnector.secret_storage_keys)
        self.keeper.restored = True
        for origin in self.state.storage_state.get("origins") or []:
            items = {str(i.get("name")): str(i.get("value")) for i in origin.get("localStorage") or []}
            self.keeper.kept_storage.setdefault(str(origin.get("origin")), {}).update(items)
        for origin, items in self.state.session_storage.items():
            self.keeper.kept_storage.setdefault(origin, {}).update(items)
        return self.state.storage_state if self.profile is None else None

    async def attach(self, ctx: RunContext[Any]) -> None:
        self.ctx = ctx
        ctx.session = self.keeper
        ctx.sync = self.sync
        self.keeper.wrap_http(ctx.http)
        context = ctx.browser_context_or_none
        if self.state is not None and context is not None:
            from browserkonnector.browser._state import restore

            if self.profile is not None and self.profile.restored:
                # The profile holds the web storage and IndexedDB; Chromium drops session cookies (no
                # expiry) at exit, so the vault's cookies go back in.
                await context.add_cookies(self.state.cookies)  # type: ignore[arg-type]
            elif self.profile is not None:  # a fresh profile: the vault's state, as a new context gets it
                await context.set_storage_state(self.state.storage_state)  # type: ignore[arg-type]
            await restore(context, self.state)

    async def before_main(self, ctx: RunContext[Any]) -> None:
        await self.keeper.start(ctx)

    async def save(self) -> None:
        """Keep the browser's state now (after a login, at the end of a good run)."""
        if self.vault is None or self.ctx is None or self.ctx.browser_context_or_none is None:
            return
        from browserkonnector.browser._state import capture, register_state_secrets

        try:
            # With a whole profile kept, IndexedDB is in it: reading it out again would only cost time.
            indexed_db = self.konnector.keep_profile and self.profile is None
            state = await capture(self.ctx.browser_context_or_none, indexed_db=indexed_db)
            if self.state is not None:  # origins no page showed this run keep the sessionStorage they had
                state.session_storage = {**self.state.session_storage, **state.session_storage}
            register_state_secrets(state, self.redactor, secret_keys=self.konnector.secret_storage_keys)
            await self.vault.save(state, profile=self.konnector.keep_profile)
            self.state = state
        except Exception as exc:
            log.warning("could not keep the session ({}: {})", type(exc).__name__, self.redactor.redact(str(exc)))

    async def finish(self, *, ok: bool, code: str | None = None) -> None:
        """At the end of the run, while the browser is still open."""
        if self.vault is not None:
            if ok:
                await self.save()
            elif code in DISCARD_ON:
                await self._quiet(self.vault.discard())
                if self.profile is not None:
                    await self._quiet(asyncio.to_thread(self.profile.discard))
        if self.profile is not None:
            self.profile.keep = ok
        await self._quiet(self.account.save_data({SYNC_KEY: self.sync.after_run(ok=ok)}))

    async def close_profile(self) -> None:
        """Once the browser has closed (its profile flushed): keep the profile of a good run, encrypted,
        and remove the clear copy whatever happened."""
        if self.profile is not None:
            await asyncio.to_thread(self.profile.close)

    async def _quiet(self, coro: Any) -> None:
        try:
            await coro
        except Exception as exc:
            log.warning("account update failed ({}: {})", type(exc).__name__, self.redactor.redact(str(exc)))
