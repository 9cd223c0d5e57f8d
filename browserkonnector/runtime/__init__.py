"""The run: a connector's declaration, its context, the options and the lifecycle of one run.

This ``__init__`` is the package's contract (the most used names are also exported by
:mod:`browserkonnector`); the modules behind it are private and may move. Names are imported on first use
(PEP 562), so ``browserkonnector run`` can start Playwright's driver before importing the rest.

- :class:`Konnector` (the connector's declaration), :class:`RunContext` (what ``main`` gets),
  :class:`RunOptions` / :data:`TraceMode` / :data:`DEFAULT_STORE` (how a run is made), :class:`RunResult`;
- :func:`load_connector` / :class:`ConnectorNotFound` — a connector from a path or a module name;
- :func:`add_run_arguments` / :func:`options_from_args` — the ``run`` command's options, for a CLI of your own;
- sessions: :func:`logged_in_if`, :class:`SyncMemory` / :data:`SYNC_KEY` (incremental runs), :func:`totp`
  (a second factor from a seed), :data:`RESET_SESSION`, :class:`KeptProfile` (a kept browser profile,
  encrypted in the store: :data:`PROFILES_DIR`, :func:`profile_archive_path`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from browserkonnector._lazy import lazy_exports

if TYPE_CHECKING:
    from browserkonnector.runtime._account_session import RESET_SESSION
    from browserkonnector.runtime._context import RunContext, RunStats
    from browserkonnector.runtime._konnector import Konnector, KonnectorOptions, MainFn
    from browserkonnector.runtime._loader import ConnectorNotFound, load_connector
    from browserkonnector.runtime._login import CheckFn, LoginFn, LoginPage, logged_in_if
    from browserkonnector.runtime._options import (
        DEFAULT_ARTIFACTS,
        DEFAULT_STORE,
        RunOptions,
        TraceMode,
        add_run_arguments,
        options_from_args,
    )
    from browserkonnector.runtime._profile import PROFILES_DIR, KeptProfile, ProfileUnreadable, profile_archive_path
    from browserkonnector.runtime._run import RunResult
    from browserkonnector.runtime._sync import SYNC_KEY, SyncMemory
    from browserkonnector.runtime._twofa import totp

_EXPORTS: dict[str, str] = {  # name -> the private module defining it
    "Konnector": "._konnector",
    "KonnectorOptions": "._konnector",
    "MainFn": "._konnector",
    "RunContext": "._context",
    "RunStats": "._context",
    "DEFAULT_ARTIFACTS": "._options",
    "DEFAULT_STORE": "._options",
    "RunOptions": "._options",
    "TraceMode": "._options",
    "add_run_arguments": "._options",
    "options_from_args": "._options",
    "RunResult": "._run",
    "ConnectorNotFound": "._loader",
    "load_connector": "._loader",
    "CheckFn": "._login",
    "LoginFn": "._login",
    "LoginPage": "._login",
    "logged_in_if": "._login",
    "SYNC_KEY": "._sync",
    "SyncMemory": "._sync",
    "totp": "._twofa",
    "RESET_SESSION": "._account_session",
    "PROFILES_DIR": "._profile",
    "KeptProfile": "._profile",
    "ProfileUnreadable": "._profile",
    "profile_archive_path": "._profile",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "DEFAULT_ARTIFACTS",
    "DEFAULT_STORE",
    "PROFILES_DIR",
    "RESET_SESSION",
    "SYNC_KEY",
    "CheckFn",
    "ConnectorNotFound",
    "KeptProfile",
    "Konnector",
    "KonnectorOptions",
    "LoginFn",
    "LoginPage",
    "MainFn",
    "ProfileUnreadable",
    "RunContext",
    "RunOptions",
    "RunResult",
    "RunStats",
    "SyncMemory",
    "TraceMode",
    "add_run_arguments",
    "load_connector",
    "logged_in_if",
    "options_from_args",
    "profile_archive_path",
    "totp",
]
