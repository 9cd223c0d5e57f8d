"""The ``browser-server`` subcommand's options, kept here so that ``cli.py`` only registers it."""

from __future__ import annotations

import argparse
import asyncio
import sys

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``browserkonnector browser-server`` to the command's subparsers."""
    parser = sub.add_parser(
        "browser-server",
        help="serve one shared Chromium to runs (--connect / BROWSERKONNECTOR_CONNECT)",
        description="Serve the system's Chromium over Playwright's protocol; each connected run gets its own "
        "context, closed when it disconnects. Prints the ws:// endpoint, runs until SIGTERM/SIGINT.",
    )
    add = parser.add_argument
    add(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; anything else exposes a "
        "browser to whoever reaches the port: keep it on a private network)",
    )
    add("--port", type=int, default=0, help="port (default 0: a free one, printed)")
    add("--path", default=None, help="endpoint path (default: a random one, a shared secret)")
    add("--max-clients", type=int, default=8, help="runs connected at once (default 8); more wait")
    add(
        "--queue-timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="how long a run past the cap waits before a 503 (default 60)",
    )
    add("--chromium", default=None, metavar="PATH", help="Chromium binary (default: the system's headless shell)")
    add(
        "--chromium-arg",
        action="append",
        default=[],
        dest="chromium_args",
        metavar="ARG",
        help="extra Chromium switch, e.g. --chromium-arg=--renderer-process-limit=4 (repeatable)",
    )
    add("--offline-dns", action="store_true", help="resolve only localhost/127.0.0.1 (tests, the demo site)")
    parser.set_defaults(func=_cmd)


def _cmd(args: argparse.Namespace) -> int:
    from browserkonnector.browser._discovery import ChromiumNotFound
    from browserkonnector.server._host import HostOptions, HostStartError, serve

    try:
        options = HostOptions(
            host=args.host,
            port=args.port,
            path=args.path,
            max_clients=args.max_clients,
            queue_timeout=args.queue_timeout,
            chromium=args.chromium,
            chromium_args=tuple(args.chromium_args),
            offline_dns=args.offline_dns,
        )
        return asyncio.run(serve(options))
    except (ValueError, ChromiumNotFound, HostStartError) as exc:
        print(f"browserkonnector browser-server: {exc}", file=sys.stderr)
        return 2
