"""URL patterns as Playwright documents them, matched in Python by our own code.

A connector names the requests it cares about the way Playwright's ``page.route`` does: a glob string,
a compiled regular expression (searched, not anchored), or a ``Callable[[str], bool]``. The network
owner (:mod:`._network`) decides in Python which of its handlers a routed request belongs to, and a
listening capture decides which responses to read, so both need the same matching without importing
Playwright's private modules (whose paths move between releases).

Glob semantics (Playwright's documentation of ``URL`` patterns):

- ``*`` matches any characters except ``/``; ``**`` matches any characters including ``/`` (and
  ``**/`` also matches nothing, so ``**/x.js`` matches ``https://h/x.js``);
- ``?`` matches a literal question mark (it is not a one-character wildcard);
- ``{a,b}`` matches either alternative (no nesting); a comma outside braces is literal;
- ``\\`` escapes the next character;
- the whole URL must match (the glob is anchored at both ends);
- a glob that starts with a scheme and host (``https://Example.com:443/*``) is compared with the host in
  lower case and without the scheme's default port, as the URL the browser reports has them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TypeAlias
from urllib.parse import urlsplit

__all__ = ["UrlPattern", "glob_to_regex", "url_matches"]

UrlPattern: TypeAlias = str | re.Pattern[str] | Callable[[str], bool]

_SPECIAL = frozenset("$^+.*()|\\?{}[]")
_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}
_ORIGIN = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<host>[^/?#]*)(?P<rest>.*)$", re.DOTALL)


def _normalise_origin(glob: str) -> str:
    """Lower-case a literal scheme and host, and drop the scheme's default port (``:443`` for https)."""
    found = _ORIGIN.match(glob)
    if found is None:
        return glob
    scheme, host, rest = found["scheme"], found["host"], found["rest"]
    if re.search(r"[*?{}\\]", scheme + host):
        return glob  # a wildcard in the origin: left as written
    scheme = scheme.lower()
    host = host.lower()
    port = _DEFAULT_PORTS.get(scheme)
    if port and host.endswith(":" + port):
        host = host[: -len(port) - 1]
    return f"{scheme}://{host}{rest or '/'}"


@functools.lru_cache(maxsize=256)
def glob_to_regex(glob: str) -> re.Pattern[str]:
    """The anchored regular expression of a Playwright URL glob (see the module docstring).

    A malformed glob (an unmatched or nested brace) raises ``ValueError`` naming it.
    """
    if not glob.startswith("*"):
        glob = _normalise_origin(glob)
    tokens = ["^"]
    in_group = False
    i = 0
    while i < len(glob):
        char = glob[i]
        if char == "\\" and i + 1 < len(glob):
            following = glob[i + 1]
            tokens.append("\\" + following if following in _SPECIAL else re.escape(following))
            i += 2
            continue
        if char == "*":
            before = glob[i - 1] if i > 0 else None
            stars = 1
            while i + 1 < len(glob) and glob[i + 1] == "*":
                stars += 1
                i += 1
            if stars > 1:
                after = glob[i + 1] if i + 1 < len(glob) else None
                if after == "/":  # "**/" also matches nothing: a file at the root
                    tokens.append("((.+/)|)" if before == "/" else "(.*/)")
                    i += 1
                else:
                    tokens.append("(.*)")
            else:
                tokens.append("([^/]*)")
        elif char == "{":
            if in_group:
                raise ValueError(f"invalid URL glob {glob!r}: nested '{{' is not supported")
            in_group = True
            tokens.append("(")
        elif char == "}":
            if not in_group:
                raise ValueError(f"invalid URL glob {glob!r}: unmatched '}}'")
            in_group = False
            tokens.append(")")
        elif char == ",":
            tokens.append("|" if in_group else ",")
        else:
            tokens.append("\\" + char if char in _SPECIAL else char)
        i += 1
    if in_group:
        raise ValueError(f"invalid URL glob {glob!r}: unmatched '{{'")
    tokens.append("$")
    return re.compile("".join(tokens))


def url_matches(url: str, pattern: UrlPattern | None) -> bool:
    """Whether ``url`` matches ``pattern`` (``None`` or ``""`` match everything)."""
    if pattern is None or pattern == "":
        return True
    if isinstance(pattern, str):
        return glob_to_regex(pattern).search(url) is not None
    if isinstance(pattern, re.Pattern):
        return pattern.search(url) is not None
    if not callable(pattern):
        raise TypeError(f"URL pattern {pattern!r}: expected a glob string, a compiled regex or a function")
    if not urlsplit(url).scheme:
        return False
    return bool(pattern(url))
