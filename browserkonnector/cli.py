"""The ``browserkonnector`` command.

::

    browserkonnector run CONNECTOR [options]     run a connector (a folder, a .py file or module[:name])
    browserkonnector demo [--bills N] [--headed] run the demo connector against the bundled demo site
    browserkonnector demo-site [--port P]        serve the demo vendor site for a human
    browserkonnector bank-site [--port P]        serve the heavy local-first bank app for a human
    browserkonnector shop-site [--port P] ...    serve the server-rendered shop site for a human
    browserkonnector new NAME [--kind K]         scaffold a connector (api, html or spa) that passes its own test
    browserkonnector show-trace PATH             open a trace (or a failure bundle) in the trace viewer
    browserkonnector store ls|export|show        look into the embedded store
    browserkonnector browser-server [--port P]   serve one shared Chromium to runs (docs/scaling.md)
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from browserkonnector._scaffold import KINDS
from browserkonnector.runtime._options import DEFAULT_STORE, RunOptions, add_run_arguments, options_from_args

if TYPE_CHECKING:
    from browserkonnector.runtime._konnector import Konnector

__all__ = ["main"]

#: The demo connector, installed with the package (``connectors/demo_vendor`` in a clone).
DEMO_CONNECTOR = "demo_vendor"
SITES_EXTRA = "the demo sites need the 'sites' extra: pip install 'browserkonnector[sites]'"


def _cmd_run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    """Load the connector and run it. Playwright's driver (a Node process, ~0.5 s to start) starts first,
    while the connector's modules import in a thread and the TLS context (~60 ms of loading CAs, without
    the GIL) is built in another: the run's start overlaps the three. No browser is launched before the
    fields are validated."""
    from browserkonnector.browser._session import start_driver, stop_driver

    driver = start_driver()
    asyncio.get_running_loop().run_in_executor(None, _warm_tls)
    try:
        konnector = await asyncio.to_thread(_load, args.connector)
    except BaseException as exc:
        await stop_driver(driver)
        from browserkonnector.runtime._loader import ConnectorNotFound

        if isinstance(exc, ConnectorNotFound):
            print(f"browserkonnector run: {exc}", file=sys.stderr)
            return 2
        raise
    result = await konnector.execute(options_from_args(args), driver=driver)
    return result.exit_status


def _load(spec: str) -> Konnector[Any]:
    """The connector, imported with the framework's runtime (~0.5 s of imports, off the event loop)."""
    from browserkonnector.runtime._loader import load_connector

    return load_connector(spec)


def _warm_tls() -> None:
    from browserkonnector._request import default_ssl_context

    default_ssl_context()


def _missing_extra(exc: ModuleNotFoundError, command: str) -> int:
    """A site command run where only the runtime is installed: say which extra brings it (exit 2)."""
    if exc.name not in ("starlette", "uvicorn"):
        raise exc
    print(f"browserkonnector {command}: {SITES_EXTRA}", file=sys.stderr)
    return 2


def _cmd_demo(args: argparse.Namespace) -> int:
    try:
        from demo_vendor_site import DemoSite, SiteConfig
    except ModuleNotFoundError as exc:
        return _missing_extra(exc, "demo")

    from browserkonnector.runtime._loader import load_connector

    konnector = load_connector(DEMO_CONNECTOR)
    site = DemoSite(SiteConfig(bills=args.bills, seed=args.seed, latency_ms=args.latency_ms))
    url = site.start()
    user = next(u for u in site.users if u.otp_secret is None)
    print(f"Demo site: {url}  (user {user.email})", flush=True)
    options = RunOptions(
        cli_fields=(f"base_url={url}", f"login={user.email}", f"password={user.password}"),
        store_dir=args.store,
        headed=args.headed,
        slow_mo=args.slow_mo,
        trace=args.trace,
        artifacts_dir=args.artifacts_dir,
        offline_dns=True,
        log_mode=args.log_mode,
    )
    try:
        result = asyncio.run(konnector.execute(options))
    finally:
        site.stop()
    stats = result.stats
    files_root = args.store / "files" / "Administratif" / konnector.vendor
    if result.ok:
        print(
            f"Saved {stats.bills_created} new bill(s) ({stats.bills_updated} updated, {stats.bills_unchanged} "
            f"unchanged) and {stats.files_created} new file(s) ({stats.files_kept} already there) "
            f"in {result.seconds:.1f} s.\n"
            f"Bills: {files_root}\n"
            f"Look:  browserkonnector store ls --store {args.store}",
            flush=True,
        )
    else:
        print(f"The demo run failed with {result.code}: {result.detail}", flush=True)
        if result.bundle:
            print(f"Failure bundle: {result.bundle}", flush=True)
    return result.exit_status


#: Commands whose options belong to another program's parser: ``browserkonnector demo-site --port 8000``
#: hands ``--port 8000`` to the demo site's own parser (argparse's ``REMAINDER`` in a subparser refuses
#: options that come first, so these are dispatched before the main parser sees them).
SITE_COMMANDS = {
    "demo-site": ("demo_vendor_site.__main__", "serve the demo vendor site (prints URL and credentials)"),
    "bank-site": ("bank_spa_site.__main__", "serve the heavy local-first bank app (prints URL and password)"),
    "shop-site": ("shop_site.__main__", "serve the server-rendered shop site (prints URL and credentials)"),
}


def _serve_site(command: str, argv: Sequence[str]) -> int:
    import importlib

    try:
        module = importlib.import_module(SITE_COMMANDS[command][0])
    except ModuleNotFoundError as exc:
        return _missing_extra(exc, command)
    status: int = module.main(list(argv), prog=f"browserkonnector {command}")
    return status


def _cmd_new(args: argparse.Namespace) -> int:
    from browserkonnector._scaffold import ScaffoldError, scaffold

    try:
        folder = scaffold(args.name, args.dir, kind=args.kind)
    except ScaffoldError as exc:
        print(f"browserkonnector new: {exc}", file=sys.stderr)
        return 2
    print(f"Created {folder}. Try it: cd {folder} && pytest", flush=True)
    return 0


def _cmd_show_trace(args: argparse.Namespace) -> int:
    from browserkonnector.browser.instrument._viewer import TraceViewerError, resolve_trace, serve_trace

    try:
        trace = resolve_trace(args.path)
        return serve_trace(trace, open_browser=args.open)
    except TraceViewerError as exc:
        print(f"browserkonnector show-trace: {exc}", file=sys.stderr)
        return 2


def _cmd_store(args: argparse.Namespace) -> int:
    import json

    from browserkonnector.store import _inspect as store_inspect
    from browserkonnector.store._errors import StoreError

    async def go() -> int:
        if args.action == "ls":
            print(store_inspect.format_ls(await store_inspect.ls(args.store)))
        elif args.action == "export":
            if not args.doctype:
                print("browserkonnector store export: give --doctype (see `store ls`)", file=sys.stderr)
                return 2
            async for line in store_inspect.export(args.store, args.doctype):
                print(line)
        else:
            if not args.id:
                print("browserkonnector store show: give a document id", file=sys.stderr)
                return 2
            doc = await store_inspect.show(args.store, args.doctype or "io.cozy.bills", args.id)
            print(json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True))
        return 0

    import sqlite3

    try:
        return asyncio.run(go())
    except StoreError as exc:
        print(f"browserkonnector store {args.action}: {exc.message}", file=sys.stderr)
        return 1
    except sqlite3.DatabaseError as exc:  # damage found mid-read (a malformed page)
        from browserkonnector.store._sqlite import damaged

        print(
            f"browserkonnector store {args.action}: {damaged(args.store / 'store.sqlite3', exc).message}",
            file=sys.stderr,
        )
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="browserkonnector", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a connector")
    run.add_argument("connector", help="a connector folder, a .py file, or module[:name]")
    add_run_arguments(run)
    run.set_defaults(func=_cmd_run)

    demo = sub.add_parser("demo", help="run the demo connector against the bundled demo site")
    demo.add_argument("--store", type=Path, default=DEFAULT_STORE, help="embedded store folder (./bk-store)")
    demo.add_argument("--bills", type=int, default=24, help="bills on the demo site (default 24)")
    demo.add_argument("--seed", type=int, default=42, help="seed of the demo data")
    demo.add_argument("--latency-ms", type=int, default=0, help="server latency per request")
    demo.add_argument("--headed", action="store_true", help="show the browser")
    demo.add_argument("--slow-mo", type=float, default=0.0, metavar="SECONDS")
    demo.add_argument("--trace", choices=["on", "off", "retain-on-failure"], default="retain-on-failure")
    demo.add_argument("--artifacts", type=Path, default=Path("bk-artifacts"), dest="artifacts_dir")
    demo.add_argument("--log", choices=["json", "human"], default="human", dest="log_mode")
    demo.set_defaults(func=_cmd_demo)

    for command, (_module, help_text) in SITE_COMMANDS.items():  # listed in --help; run by main()
        sub.add_parser(command, help=help_text + f"; see {command} --help", add_help=False)

    new = sub.add_parser("new", help="scaffold a connector")
    new.add_argument("name", help="connector name, e.g. acme")
    new.add_argument("--dir", type=Path, default=Path("."), help="parent folder (default: .)")
    new.add_argument(
        "--kind",
        choices=KINDS,
        default="api",
        help="api: a JavaScript app with a JSON API (default); html: a server-rendered site; "
        "spa: a heavy local-first single-page app",
    )
    new.set_defaults(func=_cmd_new)

    trace = sub.add_parser("show-trace", help="open a trace or failure bundle in Playwright's viewer")
    trace.add_argument("path", type=Path)
    trace.add_argument(
        "--open",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="open the viewer in Chromium (default: when there is a display)",
    )
    trace.set_defaults(func=_cmd_show_trace)

    store = sub.add_parser("store", help="look into the embedded store")
    actions = store.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, help_text in (
        ("ls", "doctypes and counts"),
        ("export", "documents of a doctype as JSON lines"),
        ("show", "one document (a file: with its path on disk)"),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("--store", type=Path, default=DEFAULT_STORE, help="store folder (./bk-store)")
        if name == "show":
            action.add_argument("id", help="document id")
        else:
            action.set_defaults(id=None)
        action.add_argument(
            "--doctype", default=None, help="e.g. io.cozy.bills" + (" (default)" if name == "show" else "")
        )
        action.set_defaults(func=_cmd_store)

    from browserkonnector.server._command import register as register_browser_server

    register_browser_server(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SITE_COMMANDS:
        return _serve_site(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status


def entry() -> None:
    """The console script: :func:`main`, then a fast exit.

    Tearing down the interpreter after a run (the modules of Playwright, pydantic, httpx, pypdf...) takes
    ~0.3 s (measured) and does nothing useful: by then the store is closed, the browser and its driver are
    gone and every line is written. So the ``atexit`` handlers run, the standard streams are flushed, and
    the process ends. ``BROWSERKONNECTOR_FAST_EXIT=0`` exits the usual way (for tools that hook the
    interpreter's teardown, such as coverage). An exception escaping :func:`main` exits the usual way too.
    """
    try:
        status = main()
    except BrokenPipeError:
        # The reader went away (``store export ... | head -1``): what it wanted was written. Point stdout
        # at /dev/null so the interpreter's own final flush cannot raise again, and exit as a process
        # killed by SIGPIPE would (128 + 13), which is what shells expect of a cut pipe.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os._exit(141)
    if os.environ.get("BROWSERKONNECTOR_FAST_EXIT", "1") == "0":
        sys.exit(status)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)


if __name__ == "__main__":
    entry()
