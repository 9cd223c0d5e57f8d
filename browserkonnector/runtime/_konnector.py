"""``Konnector``: the BaseKonnector of this framework — one async function and a declaration.

As short as ``module.exports = new BaseKonnector(start)``::

    konnector = Konnector(start)                      # slug and version from manifest.konnector

or, with typed fields validated before the browser starts::

    class Fields(BaseModel):
        login: str
        password: SecretStr

    konnector = Konnector(slug="demo-vendor", fields=Fields)

    @konnector.main
    async def start(ctx: RunContext[Fields]) -> None: ...

    if __name__ == "__main__":
        konnector.run()

The connector's folder (where ``manifest.konnector`` and ``konnector-dev-config.json`` live) is the folder
of the module that defines ``main``, unless given.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypedDict, TypeVar, Unpack, overload

from pydantic import BaseModel

from browserkonnector.runtime._locale import check_locale, check_timezone
from browserkonnector.runtime._manifest import Manifest, load_manifest
from browserkonnector.runtime._options import RunOptions, parse_run_args

if TYPE_CHECKING:
    from browserkonnector.runtime._config import Fields
    from browserkonnector.runtime._context import RunContext
    from browserkonnector.runtime._login import CheckFn, LoginFn, LoginPage
    from browserkonnector.runtime._run import RunResult

__all__ = ["DEFAULT_BLOCKED", "Konnector", "KonnectorOptions", "MainFn"]

F = TypeVar("F")
M = TypeVar("M", bound=BaseModel)
MainFn = Callable[["RunContext[Any]"], Coroutine[Any, Any, None]]
#: Resource types a connector does not need to read bills: blocking them makes pages load faster.
DEFAULT_BLOCKED: frozenset[str] = frozenset({"image", "media", "font"})
MANIFEST_NAME = "manifest.konnector"


class KonnectorOptions(TypedDict, total=False):
    """The keyword options of :class:`Konnector` (their meaning and defaults: its docstring). One list for
    its overloads, so that they cannot drift apart."""

    slug: str | None
    name: str | None
    vendor: str | None
    version: str | None
    browser: bool  # default True
    block_resources: frozenset[str] | set[str]  # default DEFAULT_BLOCKED
    secret_storage_keys: Sequence[str]
    folder: str | Path | None
    locale: str | None
    timezone: str | None
    keep_session: bool | None  # default: on when a login is declared
    keep_profile: bool  # default False
    login_page: LoginPage | None
    max_relogins: int  # default 10


class Konnector(Generic[F]):
    """A connector: its ``main`` coroutine plus what the runtime must know to run it.

    ``slug``/``name``/``version`` default to the manifest's; ``vendor`` names the destination folder
    (``/Administratif/<vendor>``) when the Cozy gives none; ``fields`` is an optional pydantic model of
    the fields; ``browser=False`` runs without Chromium (the context then has ``http`` but no ``page``);
    ``block_resources`` lists the resource types to abort; ``secret_storage_keys`` names
    sessionStorage/localStorage keys whose values are secrets (scrubbed from traces and bundles).
    ``locale`` and ``timezone`` name the browser language and time zone the connector was written against
    (its text selectors, its amount and date parsing); a run's ``--locale``/``--timezone`` still win, and
    without them the Cozy's language, then the machine's apply (:mod:`browserkonnector.runtime._locale`).

    Sessions (docs/sessions.md): ``@konnector.login`` and ``@konnector.is_logged_in`` declare how to log
    in and how to tell a live session; ``keep_session`` (default: on when a login is declared) keeps the
    browser's state in the encrypted vault between runs, ``keep_profile`` keeps the whole browser profile
    too (HTTP cache, IndexedDB, service workers: ``runtime/_profile.py``); ``login_page``
    (a URL glob, a regex or a predicate) is where the site sends a lost session, so that a redirect there
    triggers a re-login like a 401 does; ``max_relogins`` bounds the re-logins of one run.
    """

    # The overloads bind the type parameter: ``Konnector(fields=MyFields)`` is a ``Konnector[MyFields]``
    # whose main must take a ``RunContext[MyFields]``; without a model, fields are a ``Fields`` dict.
    @overload
    def __init__(
        self: Konnector[Fields],
        main: Callable[[RunContext[Fields]], Coroutine[Any, Any, None]] | None = None,
        *,
        fields: None = None,
        **options: Unpack[KonnectorOptions],
    ) -> None: ...

    @overload
    def __init__(
        self: Konnector[M],
        main: Callable[[RunContext[M]], Coroutine[Any, Any, None]] | None = None,
        *,
        fields: type[M],
        **options: Unpack[KonnectorOptions],
    ) -> None: ...

    def __init__(
        self,
        main: Callable[[RunContext[Any]], Coroutine[Any, Any, None]] | None = None,
        *,
        fields: type[BaseModel] | None = None,
        **options: Unpack[KonnectorOptions],
    ) -> None:
        unknown = sorted(set(options) - KonnectorOptions.__optional_keys__)
        if unknown:  # a TypedDict is not checked at run time: a misspelt option must not pass silently
            raise TypeError(
                f"Konnector() got unknown option(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(KonnectorOptions.__optional_keys__))}"
            )
        folder, locale, timezone = options.get("folder"), options.get("locale"), options.get("timezone")
        self._main: MainFn | None = None
        self._folder = Path(folder).resolve() if folder is not None else None
        self._slug, self._name = options.get("slug"), options.get("name")
        self._version, self._vendor = options.get("version"), options.get("vendor")
        self.fields_model = fields
        self.browser = options.get("browser", True)
        self.block_resources = frozenset(options.get("block_resources", DEFAULT_BLOCKED))
        self.secret_storage_keys = tuple(options.get("secret_storage_keys", ()))
        self.locale = check_locale(locale, "Konnector(locale=...)") if locale else None
        self.timezone = check_timezone(timezone, "Konnector(timezone=...)") if timezone else None
        self._manifest: Manifest | None = None
        self._manifest_loaded = False
        self.max_relogins = options.get("max_relogins", 10)
        if self.max_relogins < 0:
            raise ValueError(f"Konnector(max_relogins={self.max_relogins}): give 0 or more")
        self._keep_session = options.get("keep_session")
        self.keep_profile = options.get("keep_profile", False)
        self.login_page = options.get("login_page")
        self.login_fn: LoginFn | None = None
        self.logged_in_fn: CheckFn | None = None
        if main is not None:
            self.main(main)

    def main(
        self,
        fn: Callable[[RunContext[F]], Coroutine[Any, Any, None]],
    ) -> Callable[[RunContext[F]], Coroutine[Any, Any, None]]:
        """Declare the connector's main coroutine (usable as a decorator); it takes a ``RunContext`` of
        this connector's fields model, which mypy checks."""
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"{getattr(fn, '__name__', fn)!r} must be an async function (async def)")
        self._main = fn
        if self._folder is None:
            try:
                self._folder = Path(inspect.getfile(fn)).resolve().parent
            except (TypeError, OSError):
                self._folder = Path.cwd()
        return fn

    def login(
        self, fn: Callable[[RunContext[F]], Coroutine[Any, Any, None]]
    ) -> Callable[[RunContext[F]], Coroutine[Any, Any, None]]:
        """Declare how to log in (usable as a decorator): run before ``main`` when no kept session is
        logged in, and again when the session is lost mid-run. It raises ``KonnectorError`` on failure."""
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"login: {getattr(fn, '__name__', fn)!r} must be an async function (async def)")
        self.login_fn = fn
        return fn

    def is_logged_in(
        self, fn: Callable[[RunContext[F]], Coroutine[Any, Any, bool]]
    ) -> Callable[[RunContext[F]], Coroutine[Any, Any, bool]]:
        """Declare how to tell a live session (usable as a decorator, or with ``logged_in_if(...)``):
        an async function of the context returning ``True`` when logged in."""
        if not callable(fn):
            raise TypeError(f"is_logged_in: {fn!r} is not a function")
        self.logged_in_fn = fn
        return fn

    @property
    def keeps_session(self) -> bool:
        return self._keep_session if self._keep_session is not None else self.login_fn is not None

    @property
    def main_fn(self) -> MainFn:
        if self._main is None:
            raise RuntimeError("this Konnector has no main function: use Konnector(start) or @konnector.main")
        return self._main

    @property
    def folder(self) -> Path:
        return self._folder or Path.cwd()

    @property
    def manifest(self) -> Manifest | None:
        """``manifest.konnector`` of the connector's folder, if there is one (read once)."""
        if not self._manifest_loaded:
            path = self.folder / MANIFEST_NAME
            self._manifest = load_manifest(path) if path.is_file() else None
            self._manifest_loaded = True
        return self._manifest

    @property
    def slug(self) -> str:
        if self._slug:
            return self._slug
        if self.manifest is not None:
            return self.manifest.slug
        return self.folder.name.replace("_", "-").lower()

    @property
    def name(self) -> str:
        return self._name or (self.manifest.name if self.manifest and self.manifest.name else self.slug)

    @property
    def vendor(self) -> str:
        return self._vendor or self.name

    @property
    def version(self) -> str:
        return self._version or (self.manifest.version if self.manifest else "0.0.0")

    async def execute(self, options: RunOptions | None = None, *, driver: Awaitable[Any] | None = None) -> RunResult:
        """Run once with ``options``; never raises for a connector failure (see ``RunResult``).

        ``driver``: a Playwright driver already starting (``browser.session.start_driver``), taken over.
        """
        from browserkonnector.runtime._run import execute

        return await execute(self, options or RunOptions(), driver=driver)

    def run(self, argv: Sequence[str] | None = None) -> NoReturn:
        """Parse the command line like ``browserkonnector run``, run, and exit with the run's status."""
        options = parse_run_args(argv, prog=f"python -m {self.slug}")
        result = asyncio.run(self.execute(options))
        sys.exit(result.exit_status)

    def __repr__(self) -> str:
        return f"Konnector(slug={self.slug!r}, folder={str(self.folder)!r})"
