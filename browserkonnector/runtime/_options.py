"""The options of one run, and the command-line parser that fills them.

Both ``browserkonnector run CONNECTOR`` and a connector's own ``konnector.run()`` (``python -m
my_connector``) parse the same options, so this parser lives in the runtime, below the CLI.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from browserkonnector.runtime._locale import check_locale, check_timezone

if TYPE_CHECKING:  # not at run time: the CLI parses its options before loguru loads
    from browserkonnector.runtime._log import LogMode

__all__ = ["DEFAULT_ARTIFACTS", "DEFAULT_STORE", "RunOptions", "TraceMode", "add_run_arguments", "options_from_args"]

TraceMode = Literal["on", "off", "retain-on-failure"]
DEFAULT_STORE = Path("bk-store")
DEFAULT_ARTIFACTS = Path("bk-artifacts")


@dataclass
class RunOptions:
    """Everything that shapes one run besides the connector itself."""

    fields_file: Path | None = None
    cli_fields: tuple[str, ...] = ()
    store_dir: Path = DEFAULT_STORE
    headed: bool = False
    slow_mo: float = 0.0
    trace: TraceMode = "retain-on-failure"
    artifacts_dir: Path = DEFAULT_ARTIFACTS
    timeout: float | None = None
    pause_on_failure: bool = False
    log_mode: LogMode | None = None
    log_level: str | None = None
    connect: str | None = None
    chromium: str | None = None
    chromium_args: tuple[str, ...] = ()
    #: Resolve no host name but localhost (the demo site, tests, replays). Off for real vendor sites.
    offline_dns: bool = False
    #: The browser's language and time zone (``None``: the connector's, then the Cozy's, then the machine's).
    locale: str | None = None
    timezone: str | None = None
    record: Path | None = None
    replay: Path | None = None
    progress: bool = True
    #: Discard the kept session (docs/sessions.md) and log in.
    fresh_session: bool = False
    #: ``ctx.should_full_sync()`` answers True whatever the account's history.
    full_sync: bool = False
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``browserkonnector run`` (also accepted by ``konnector.run()``)."""
    add = parser.add_argument
    add(
        "--fields",
        type=Path,
        dest="fields_file",
        metavar="FILE",
        help="JSON file of fields (comments allowed); beats the job environment and the dev config",
    )
    add(
        "--field",
        action="append",
        default=[],
        dest="cli_fields",
        metavar="KEY=VALUE",
        help="one field, beats everything (repeatable)",
    )
    add(
        "--store",
        type=Path,
        default=DEFAULT_STORE,
        dest="store_dir",
        metavar="DIR",
        help="embedded store folder (default ./bk-store; ignored in a Cozy job)",
    )
    add("--headed", action="store_true", help="show the browser window (full Chromium; needs a display)")
    add("--slow-mo", type=float, default=0.0, metavar="SECONDS", help="pause after every browser action (e.g. 0.3)")
    add(
        "--trace",
        choices=["on", "off", "retain-on-failure"],
        default="retain-on-failure",
        help="Playwright trace (screenshots + DOM snapshots), scrubbed of secrets (default retain-on-failure)",
    )
    add(
        "--artifacts",
        type=Path,
        default=DEFAULT_ARTIFACTS,
        dest="artifacts_dir",
        metavar="DIR",
        help="where traces and failure bundles go (default ./bk-artifacts)",
    )
    add(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="stop cleanly after S seconds, 0 for no limit (default: COZY_TIME_LIMIT minus a margin in a "
        "Cozy job, else BROWSERKONNECTOR_TIMEOUT, else 1800)",
    )
    add(
        "--pause-on-failure",
        action="store_true",
        help="with --headed, keep the browser open on the failing page until Enter is pressed",
    )
    add(
        "--log",
        choices=["json", "human"],
        default=None,
        dest="log_mode",
        help="log format (default: json in a Cozy job or when stdout is not a terminal)",
    )
    add("--log-level", default=None, help="debug|info|warning|error (default LOG_LEVEL, else debug/info)")
    add(
        "--connect",
        default=None,
        metavar="URL",
        help="drive a running browser: ws://... (Playwright server, e.g. `browserkonnector browser-server`) or "
        "http://... (CDP) instead of launching (default: BROWSERKONNECTOR_CONNECT)",
    )
    add("--chromium", default=None, metavar="PATH", help="Chromium binary to launch")
    add(
        "--chromium-arg",
        action="append",
        default=[],
        dest="chromium_args",
        metavar="ARG",
        help="extra Chromium command-line switch, e.g. --chromium-arg=--proxy-server=... (repeatable)",
    )
    add("--offline-dns", action="store_true", help="resolve only localhost/127.0.0.1 (demo site, tests, replays)")
    add(
        "--locale",
        type=_checked(check_locale, "--locale"),
        default=None,
        metavar="TAG",
        help="the browser's language, e.g. en-GB or de-DE (default: the connector's, then COZY_LOCALE in a "
        "Cozy job, then the machine's LANG); ctx.http sends the same Accept-Language",
    )
    add(
        "--timezone",
        type=_checked(check_timezone, "--timezone"),
        default=None,
        metavar="ZONE",
        help="the browser's time zone, e.g. UTC or Europe/Berlin (default: the connector's, then the machine's)",
    )
    add("--record", type=Path, default=None, metavar="DIR", help="record the run's network into DIR")
    add("--replay", type=Path, default=None, metavar="DIR", help="run offline against a recording")
    add("--no-progress", action="store_false", dest="progress", help="no progress counter")
    add("--fresh-session", action="store_true", help="discard the kept session of the account and log in")
    add("--full-sync", action="store_true", help="ctx.should_full_sync() says yes: look at everything again")


def _checked(check: Callable[[str, str], str], option: str) -> Callable[[str], str]:
    """An argparse ``type=`` that turns the check's ``ValueError`` into argparse's own error (exit 2)."""

    def convert(value: str) -> str:
        try:
            return check(value, option)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{option}: ")) from None

    return convert


def options_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> RunOptions:
    return RunOptions(
        fields_file=args.fields_file,
        cli_fields=tuple(args.cli_fields),
        store_dir=args.store_dir,
        headed=args.headed,
        slow_mo=args.slow_mo,
        trace=args.trace,
        artifacts_dir=args.artifacts_dir,
        timeout=args.timeout,
        pause_on_failure=args.pause_on_failure,
        log_mode=args.log_mode,
        log_level=args.log_level,
        connect=args.connect or (os.environ if environ is None else environ).get("BROWSERKONNECTOR_CONNECT") or None,
        chromium=args.chromium,
        chromium_args=tuple(args.chromium_args),
        offline_dns=args.offline_dns or args.replay is not None,
        locale=args.locale,
        timezone=args.timezone,
        record=args.record,
        replay=args.replay,
        progress=args.progress,
        fresh_session=getattr(args, "fresh_session", False),
        full_sync=getattr(args, "full_sync", False),
        environ=dict(os.environ if environ is None else environ),
    )


def parse_run_args(argv: Sequence[str] | None, prog: str) -> RunOptions:
    parser = argparse.ArgumentParser(prog=prog, description="Run this connector.")
    add_run_arguments(parser)
    return options_from_args(parser.parse_args(argv))
