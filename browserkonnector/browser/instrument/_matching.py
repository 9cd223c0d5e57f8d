"""Which recorded exchange answers a request at replay: normalisation and matching, pure logic.

Playwright's HAR replay compares requests byte for byte (playwright#21319): a cache buster
(``_=1718...``), a CSRF token or a fresh session id in a request and the replay misses (#34171), and a
repeated call always gets the first answer (#32272). Real sites do all three on every visit. Here a
request is reduced to a :class:`Key` that keeps only what identifies *which* answer it wants:

- **method and path**; the origin is dropped (the demo site's port changes on every run; a replay
  serves whatever origin the connector asks and rewrites the recorded origin in what it serves);
- **query parameters**, sorted, minus the volatile ones: a default list (:data:`DEFAULT_VOLATILE_PARAMS`:
  cache busters, timestamps, nonces, CSRF tokens), the connector's additions (:class:`MatchRules`, kept
  in ``recording.json``), any value that looks like a millisecond timestamp, and those *learned* from the
  recording (:func:`learn_volatile`): a parameter whose opaque value differs across otherwise identical
  requests to one endpoint;
- **the body**, parsed: JSON with keys sorted and volatile keys dropped (at any depth), a form likewise,
  multipart with its random boundary fixed; secrets are first turned into their named placeholders
  (:meth:`~browserkonnector._redact.Redactor.placeholder`) so any password typed at replay matches the
  ``{{password}}`` of the recording;
- **headers**: ignored, but for the names a connector lists in :attr:`MatchRules.headers`.

Tokens the *server* issued (a CSRF token, a session cookie, an API token) reach the replayed page from
the recording itself, so they come back unchanged, as placeholders; and where they sit in a header or a
CSRF-named field they are ignored anyway. :class:`Matcher` serves repeated calls to one key in recorded
order, then the last one again (flagged ``repeat``), and names the closest candidate when nothing matches.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from browserkonnector._redact import MIN_SECRET_LENGTH, PLACEHOLDER_RE

__all__ = [
    "DEFAULT_VOLATILE_KEYS",
    "DEFAULT_VOLATILE_PARAMS",
    "Candidate",
    "Key",
    "Match",
    "MatchRules",
    "Matcher",
    "RequestData",
    "endpoint_of",
    "learn_volatile",
    "looks_like_ms_timestamp",
    "looks_opaque",
    "normalise",
    "origin_of",
]

#: Query parameters dropped before matching (compared lowercase).
DEFAULT_VOLATILE_PARAMS: frozenset[str] = frozenset(
    {
        "_",
        "__",
        "_t",
        "_ts",
        "_dc",
        "ts",
        "timestamp",
        "t",
        "cb",
        "cachebuster",
        "cache_buster",
        "cachebust",
        "nocache",
        "no_cache",
        "rand",
        "random",
        "rnd",
        "nonce",
        "_nonce",
        "csrf",
        "csrf_token",
        "csrftoken",
        "_csrf",
        "_csrf_token",
        "xsrf",
        "_xsrf",
        "xsrf_token",
        "authenticity_token",
        "_token",
        "request_id",
        "requestid",
        "correlation_id",
    }
)
#: Body keys (JSON, at any depth) and form fields dropped before matching (compared lowercase).
DEFAULT_VOLATILE_KEYS: frozenset[str] = frozenset(
    {
        "_",
        "ts",
        "timestamp",
        "nonce",
        "_nonce",
        "csrf",
        "csrf_token",
        "csrftoken",
        "_csrf",
        "_csrf_token",
        "xsrf",
        "_xsrf",
        "xsrf_token",
        "authenticity_token",
        "_token",
        "request_id",
        "requestid",
        "correlation_id",
        "cachebuster",
        "cache_buster",
        "csrfmiddlewaretoken",
        "__requestverificationtoken",
    }
)
_MS_MIN, _MS_MAX = 946_684_800_000, 4_102_444_800_000  # 2000-01-01 .. 2100-01-01, in milliseconds
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}(-\d{2})?([T ][\d:.]+Z?)?$")
_BOUNDARY = re.compile(r"boundary=\"?([^\";]+)\"?", re.IGNORECASE)
_ID_SEGMENT = re.compile(r"\d")


def looks_like_ms_timestamp(value: str) -> bool:
    """A 13-digit number within this century in milliseconds: ``Date.now()``, a cache buster."""
    return len(value) == 13 and value.isdigit() and _MS_MIN <= int(value) <= _MS_MAX


def looks_opaque(value: str) -> bool:
    """A token-like value (``a9f3c2e1``, ``1718030301``): never a page number, a word or a date."""
    if len(value) < 8 or _DATE_LIKE.match(value):
        return False
    if value.isdigit():
        return len(value) >= 10
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    return (has_digit and has_alpha) or (len(value) >= 16 and not value.isalpha())


@dataclass(frozen=True)
class MatchRules:
    """What a connector adds to the defaults; stored in ``recording.json`` under ``matching``."""

    volatile_params: frozenset[str] = DEFAULT_VOLATILE_PARAMS
    volatile_keys: frozenset[str] = DEFAULT_VOLATILE_KEYS
    #: Header names compared (lowercase); every other header is ignored.
    headers: tuple[str, ...] = ()

    def extended(
        self, *, params: Iterable[str] = (), keys: Iterable[str] = (), headers: Iterable[str] = ()
    ) -> MatchRules:
        return MatchRules(
            self.volatile_params | {p.lower() for p in params},
            self.volatile_keys | {k.lower() for k in keys},
            tuple(sorted({*self.headers, *(h.lower() for h in headers)})),
        )

    def to_json(self) -> dict[str, list[str]]:
        """Only the additions to the defaults: the file stays short and the defaults can evolve."""
        return {
            "volatile_params": sorted(self.volatile_params - DEFAULT_VOLATILE_PARAMS),
            "volatile_keys": sorted(self.volatile_keys - DEFAULT_VOLATILE_KEYS),
            "headers": list(self.headers),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None, *, where: str = "matching") -> MatchRules:
        data = data or {}
        unknown = set(data) - {"volatile_params", "volatile_keys", "headers"}
        if unknown:
            raise ValueError(
                f"{where}: unknown key(s) {sorted(unknown)}; known: volatile_params, volatile_keys, headers"
            )
        lists: dict[str, list[str]] = {}
        for name in ("volatile_params", "volatile_keys", "headers"):
            value = data.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{where}.{name}: expected a list of strings, got {value!r}")
            lists[name] = value
        return cls().extended(params=lists["volatile_params"], keys=lists["volatile_keys"], headers=lists["headers"])


@dataclass(frozen=True)
class RequestData:
    """A request as both network paths see it (the browser's route, an httpx transport)."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


@dataclass(frozen=True)
class Key:
    """What identifies the answer a request wants (see the module docstring)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: str
    headers: tuple[tuple[str, str], ...] = ()

    def describe(self, limit: int = 160) -> str:
        text = f"{self.method} {self.path}"
        if self.query:
            text += "?" + urlencode(self.query, safe="{}:/")
        if self.body:
            text += f" body {self.body[:limit]}{'…' if len(self.body) > limit else ''}"
        return text


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def endpoint_of(method: str, url: str) -> str:
    """``GET /api/bills/{id}/pdf``: segments holding a digit become ``{id}`` (for diffs and summaries)."""
    segments = urlsplit(url).path.split("/")
    return f"{method.upper()} " + "/".join("{id}" if _ID_SEGMENT.search(s) else s for s in segments)


def _identity(text: str) -> str:
    return text


def _query(url: str, rules: MatchRules, learned: frozenset[str]) -> tuple[tuple[str, str], ...]:
    kept = []
    for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        lowered = name.lower()
        if lowered in rules.volatile_params or lowered in learned or looks_like_ms_timestamp(value):
            continue
        kept.append((name, value))
    return tuple(sorted(kept))


def _drop_keys(node: Any, volatile: frozenset[str]) -> Any:
    if isinstance(node, dict):
        return {k: _drop_keys(v, volatile) for k, v in node.items() if str(k).lower() not in volatile}
    if isinstance(node, list):
        return [_drop_keys(v, volatile) for v in node]
    return node


def _body(request: RequestData, rules: MatchRules, placeholder: Callable[[str], str]) -> str:
    data = request.body
    if not data:
        return ""
    content_type = (request.header("content-type") or "").lower()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "sha1:" + hashlib.sha1(data).hexdigest()
    text = placeholder(text)
    stripped = text.lstrip()
    if "json" in content_type or stripped[:1] in ("{", "["):
        try:
            doc = json.loads(text)
        except ValueError:
            pass
        else:
            return json.dumps(
                _drop_keys(doc, rules.volatile_keys), sort_keys=True, ensure_ascii=False, separators=(",", ":")
            )
    if "x-www-form-urlencoded" in content_type:
        pairs = [(k, v) for k, v in parse_qsl(text, keep_blank_values=True) if k.lower() not in rules.volatile_keys]
        return urlencode(sorted(pairs))
    if "multipart/" in content_type:
        found = _BOUNDARY.search(content_type)
        if found:
            text = text.replace(found.group(1), "BOUNDARY")
    return text


def normalise(
    request: RequestData,
    rules: MatchRules,
    learned: frozenset[str] = frozenset(),
    placeholder: Callable[[str], str] = _identity,
) -> Key:
    """The :class:`Key` of ``request`` (``placeholder`` turns its secrets into named placeholders)."""
    url = placeholder(request.url)
    headers = tuple(
        sorted((name.lower(), placeholder(value)) for name, value in request.headers if name.lower() in rules.headers)
    )
    return Key(
        request.method.upper(),
        urlsplit(url).path or "/",
        _query(url, rules, learned),
        _body(request, rules, placeholder),
        headers,
    )


def learn_volatile(requests: Iterable[RequestData], rules: MatchRules) -> frozenset[str]:
    """Parameters whose opaque value differs across otherwise identical requests to one endpoint.

    ``/api/x?page=1&_r=k2j3h4g5`` and ``/api/x?page=1&_r=z9y8x7w6`` teach that ``_r`` is volatile;
    ``page=1`` / ``page=2`` teach nothing (a page number is not opaque: it selects an answer).
    """
    groups: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)
    for request in requests:
        params = {
            name: value
            for name, value in parse_qsl(urlsplit(request.url).query, keep_blank_values=True)
            if name.lower() not in rules.volatile_params
        }
        body = _body(request, rules, _identity)
        groups[(request.method.upper(), urlsplit(request.url).path, body)].append(params)
    learned: set[str] = set()
    for members in groups.values():
        names = {name for params in members for name in params}
        for name in names:
            values_by_rest: dict[tuple[tuple[str, str], ...], set[str]] = defaultdict(set)
            for params in members:
                if name in params:
                    rest = tuple(sorted((k, v) for k, v in params.items() if k != name))
                    values_by_rest[rest].add(params[name])
            if any(len(values) > 1 and all(looks_opaque(v) for v in values) for values in values_by_rest.values()):
                learned.add(name.lower())
    return frozenset(learned)


@dataclass(frozen=True)
class Match:
    """The recorded exchange to serve: its index in the recording, and whether it is served again."""

    index: int
    repeat: bool


@dataclass(frozen=True)
class Candidate:
    """The recorded request most like one that matched nothing, and how they differ."""

    index: int
    key: Key
    differences: tuple[str, ...]


@dataclass
class Matcher:
    """Serves the recorded exchanges of one recording (see the module docstring).

    ``recorded`` are the recording's requests in order; ``placeholder`` is applied to each incoming one
    (the replay run's :meth:`Redactor.placeholder <browserkonnector._redact.Redactor.placeholder>`).
    """

    recorded: Sequence[RequestData]
    rules: MatchRules = field(default_factory=MatchRules)
    learned: frozenset[str] = field(init=False)
    keys: list[Key] = field(init=False)
    _queues: dict[Key, list[int]] = field(init=False)
    _served: dict[Key, int] = field(init=False)

    def __post_init__(self) -> None:
        self.learned = learn_volatile(self.recorded, self.rules)
        self.keys = [normalise(r, self.rules, self.learned) for r in self.recorded]
        self._queues = defaultdict(list)
        for index, key in enumerate(self.keys):
            self._queues[key].append(index)
        self._served = defaultdict(int)

    def key_of(self, request: RequestData, placeholder: Callable[[str], str] = _identity) -> Key:
        return normalise(request, self.rules, self.learned, placeholder)

    def match(self, request: RequestData, placeholder: Callable[[str], str] = _identity) -> Match | None:
        """The next recorded exchange for ``request`` (in recorded order; the last one again past the end)."""
        key = self.key_of(request, placeholder)
        queue = self._queues.get(key)
        if not queue:
            return None
        served = self._served[key]
        self._served[key] = served + 1
        if served < len(queue):
            return Match(queue[served], repeat=False)
        return Match(queue[-1], repeat=True)

    def unserved(self) -> list[int]:
        """Indexes of recorded exchanges never served (the connector did less than when recorded)."""
        left = []
        for key, queue in self._queues.items():
            left.extend(queue[self._served.get(key, 0) :])
        return sorted(left)

    def closest(self, request: RequestData, placeholder: Callable[[str], str] = _identity) -> Candidate | None:
        """The recorded request most like ``request``: same method first, then the most similar path,
        query and body."""
        key = self.key_of(request, placeholder)
        pool = [i for i, k in enumerate(self.keys) if k.method == key.method] or list(range(len(self.keys)))
        if not pool:
            return None

        def score(index: int) -> float:
            other = self.keys[index]
            path = difflib.SequenceMatcher(None, key.path, other.path).ratio()
            query = difflib.SequenceMatcher(None, urlencode(key.query), urlencode(other.query)).ratio()
            body = difflib.SequenceMatcher(None, key.body[:2000], other.body[:2000]).ratio()
            return 4 * path + 2 * query + body + (0.5 if key.headers == other.headers else 0)

        best = max(pool, key=score)
        return Candidate(best, self.keys[best], differences(key, self.keys[best]))


def differences(asked: Key, recorded: Key, limit: int = 120) -> tuple[str, ...]:
    """What tells two keys apart, in words (for the no-match message)."""
    found: list[str] = []
    if asked.method != recorded.method:
        found.append(f"method {asked.method} (recorded {recorded.method})")
    if asked.path != recorded.path:
        found.append(f"path {asked.path} (recorded {recorded.path})")
    mine, theirs = dict(asked.query), dict(recorded.query)
    for name in sorted(set(mine) | set(theirs)):
        if mine.get(name) != theirs.get(name):
            found.append(f"query {name}={mine.get(name, '<absent>')} (recorded {theirs.get(name, '<absent>')})")
    if asked.body != recorded.body:
        mine_body, their_body = _around_difference(asked.body, recorded.body, limit)
        found.append(f"body {mine_body} (recorded {their_body})")
        missing = sorted(set(PLACEHOLDER_RE.findall(recorded.body)) - set(PLACEHOLDER_RE.findall(asked.body)))
        if missing:
            found.append(
                f"the recording has {', '.join(missing)} where this request has a value that is not a "
                f"known secret of this run (values shorter than {MIN_SECRET_LENGTH} characters never "
                "are): replay with the same kind of value, or re-record"
            )
    if asked.headers != recorded.headers:
        found.append(f"headers {dict(asked.headers)} (recorded {dict(recorded.headers)})")
    return tuple(found)


def _around_difference(mine: str, theirs: str, limit: int) -> tuple[str, str]:
    """Both texts cut to ``limit`` characters *around their first difference*: a long form body that
    differs in its last field must show that field, not the shared beginning (``…`` marks each cut)."""
    if not mine or not theirs:
        return (mine[:limit] + ("…" if len(mine) > limit else "")) or "<empty>", (
            theirs[:limit] + ("…" if len(theirs) > limit else "")
        ) or "<empty>"
    common = 0
    for a, b in zip(mine, theirs, strict=False):
        if a != b:
            break
        common += 1
    start = max(0, common - limit // 4)

    def cut(text: str) -> str:
        part = text[start : start + limit]
        return ("…" if start else "") + part + ("…" if start + limit < len(text) else "")

    return cut(mine), cut(theirs)
