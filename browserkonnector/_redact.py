"""Keep secret values out of everything a run writes: log lines, traces, HAR files, failure bundles.

A :class:`Redactor` holds the secret values of one run (passwords, tokens, OTP seeds, cookie values) and
replaces them, in any text or bytes, by ``***``. A secret leaks in more shapes than its plain form: a
login form posts it URL-encoded, a JSON body or a trace escapes it, a HAR stores bodies in base64. The
redactor therefore registers, for each secret, every *variant* it knows how to find:

- the plain value, its URL-encodings (``quote`` and ``quote_plus``, upper and lower hex) and its
  JSON-escaped form (with and without ``ensure_ascii``);
- the base64 of each of those, at the three byte alignments a secret can take inside a longer base64
  string (the middle part of ``b64(prefix + secret)`` does not depend on the prefix once aligned), in the
  standard and URL-safe alphabets.

Base64 variants are replaced by a same-length run of ``A`` so the surrounding base64 stays decodable.

Variants are found with one regular expression of literal alternatives, except the long ones (over
:data:`LONG_VARIANT` characters: a pasted 1 MB "password"), which are replaced with plain substring
search first: compiling a 1 MB alternation costs about a minute, a substring search microseconds.

Values shorter than :data:`MIN_SECRET_LENGTH` are refused: redacting ``"a"`` would shred every log line,
and such a value is no secret. This module is a bottom layer: it imports nothing of ours.

**Placeholders.** A recording of a run (``--record``) must not hold secrets either, but replacing them all
by ``***`` would make a recorded login body useless to match against. A secret may therefore carry a
*label* (``add(value, label="password")``), and :meth:`Redactor.placeholder` replaces it by a stable,
named placeholder instead of the mask: ``{{password}}``, ``{{cookie:session}}``, ``{{storage:apiToken}}``,
or ``{{secret:N}}`` when unnamed (numbered in registration order). A replay run labels its own secrets
the same way, so the request it sends normalises to the recorded one whatever password it typed. A
secret whose value already is a placeholder (a replayed session cookie) stands for itself.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus

__all__ = [
    "LONG_VARIANT",
    "MASK",
    "MIN_SECRET_LENGTH",
    "PLACEHOLDER_RE",
    "SENSITIVE_HEADERS",
    "Redactor",
    "secret_variants",
]

MASK = "***"
MIN_SECRET_LENGTH = 4
#: Variants longer than this are searched as plain substrings, not through the compiled pattern.
LONG_VARIANT = 256
#: Header names whose values are secret whatever they hold (compared lowercase).
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-csrf-token",
        "x-xsrf-token",
        "x-api-key",
        "x-auth-token",
    }
)
#: What a placeholder looks like: ``{{label}}`` (a label is letters, digits and ``_.:-``).
PLACEHOLDER_RE = re.compile(r"\{\{[A-Za-z0-9_.:-]{1,100}\}\}")
_LABEL_CHARS = re.compile(r"[^A-Za-z0-9_.:-]+")


def _text_variants(value: str) -> set[str]:
    found = {value, quote(value, safe=""), quote_plus(value, safe=""), quote(value, safe="/")}
    found |= {v.lower() for v in list(found) if "%" in v}
    found.add(json.dumps(value)[1:-1])
    found.add(json.dumps(value, ensure_ascii=False)[1:-1])
    found.add(value.replace("/", "\\/"))  # JSON writers that escape slashes (PHP, some JS)
    return {v for v in found if v}


def _b64_cores(raw: bytes) -> set[str]:
    """The parts of any base64 text that encode ``raw``, whatever bytes come before it.

    For each of the three alignments, prefix 0–2 filler bytes, encode, and keep only the characters
    that depend on ``raw`` alone: skip the characters touched by the filler, and drop the last, partial
    group (it mixes in whatever follows).
    """
    cores: set[str] = set()
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw).decode()
        start = {0: 0, 1: 2, 2: 3}[pad]
        usable = (pad + len(raw)) // 3 * 4
        core = encoded[start:usable]
        if pad == 0 and len(raw) % 3 == 0:
            core = encoded
        if len(core) >= 4:
            cores.add(core)
            cores.add(core.replace("+", "-").replace("/", "_"))
    return cores


def secret_variants(value: str) -> tuple[set[str], set[str]]:
    """``(text_variants, base64_variants)`` of one secret: what a leak of it can look like."""
    texts = _text_variants(value)
    b64: set[str] = set()
    for text in texts:
        b64 |= _b64_cores(text.encode())
    return texts, b64 - texts


class Redactor:
    """A set of secrets and the means to scrub them from text and bytes. Thread-safe, cheap to call.

    >>> r = Redactor(["hunter2-secret"])
    >>> r.redact("password=hunter2-secret&user=bob")
    'password=***&user=bob'
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._order: list[str] = []  # registration order: numbers the unnamed placeholders
        self._labels: dict[str, str] = {}
        self._owner: dict[str, str] = {}  # variant -> the secret it encodes (first registered wins)
        self._text: set[str] = set()
        self._b64: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._bpattern: re.Pattern[bytes] | None = None
        self._long: list[str] = []  # long variants, longest first (see the module docstring)
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None, label: str | None = None) -> bool:
        """Register a secret value; returns False (and ignores it) when it is empty or too short.

        ``label`` names it for :meth:`placeholder` (``"password"``, ``"cookie:session"``); a secret keeps
        the first label it is given, so registering it again later with another label changes nothing.
        Returns False too for a secret already known (its label is still set if it had none).
        """
        if secret is None:
            return False
        secret = str(secret)
        if len(secret) < MIN_SECRET_LENGTH:
            return False
        if secret in self._values:
            if label:
                self.label(secret, label)
            return False
        texts, b64 = secret_variants(secret)
        with self._lock:
            self._values.add(secret)
            self._order.append(secret)
            if label:
                self._labels.setdefault(secret, _clean_label(label))
            kept_text = {t for t in texts if len(t) >= MIN_SECRET_LENGTH}
            kept_b64 = {b for b in b64 if len(b) >= MIN_SECRET_LENGTH}
            for variant in kept_text | kept_b64:
                self._owner.setdefault(variant, secret)
            self._text |= kept_text
            self._b64 |= kept_b64
            self._pattern = self._bpattern = None
        return True

    def label(self, secret: str, label: str) -> bool:
        """Name a known secret (no effect on an unknown one, or one already named); True if it took."""
        with self._lock:
            if secret not in self._values or secret in self._labels:
                return False
            self._labels[secret] = _clean_label(label)
            return True

    def label_of(self, secret: str) -> str | None:
        return self._labels.get(secret)

    def add_all(self, secrets: Iterable[str | None]) -> None:
        for secret in secrets:
            self.add(secret)

    @property
    def values(self) -> frozenset[str]:
        """The plain secrets registered (for tests and scanners, never for logging)."""
        return frozenset(self._values)

    def __bool__(self) -> bool:
        return bool(self._values)

    def _compiled(self) -> tuple[re.Pattern[str], re.Pattern[bytes]]:
        with self._lock:
            if self._pattern is None or self._bpattern is None:
                # Longest first, so a secret's URL-encoded form wins over a shorter secret inside it.
                every = sorted(self._text | self._b64, key=len, reverse=True)
                self._long = [a for a in every if len(a) > LONG_VARIANT]
                alts = [a for a in every if len(a) <= LONG_VARIANT] or ["(?!x)x"]
                self._pattern = re.compile("|".join(re.escape(a) for a in alts))
                self._bpattern = re.compile(b"|".join(re.escape(a.encode()) for a in alts))
            return self._pattern, self._bpattern

    def _replace_long(self, text: str, by: Callable[[str], str]) -> str:
        for variant in self._long:
            if variant in text:
                text = text.replace(variant, by(variant))
        return text

    def _replace_long_bytes(self, data: bytes, by: Callable[[str], str]) -> bytes:
        for variant in self._long:
            raw = variant.encode()
            if raw in data:
                data = data.replace(raw, by(variant).encode())
        return data

    def _mask_for(self, found: str) -> str:
        return "A" * len(found) if found in self._b64 and found not in self._text else MASK

    def redact(self, text: str) -> str:
        """``text`` with every variant of every secret replaced."""
        if not self._values or not text:
            return text
        pattern, _ = self._compiled()
        text = self._replace_long(text, self._mask_for)
        return pattern.sub(lambda m: self._mask_for(m.group(0)), text)

    def redact_bytes(self, data: bytes) -> bytes:
        """The same on bytes (files of a trace or a bundle, whatever their encoding)."""
        if not self._values or not data:
            return data
        _, pattern = self._compiled()
        data = self._replace_long_bytes(data, self._mask_for)
        return pattern.sub(lambda m: self._mask_for(m.group(0).decode()).encode(), data)

    def contains_secret(self, data: str | bytes) -> bool:
        """True if any variant of any secret occurs in ``data`` (used by scanners and tests)."""
        if not self._values:
            return False
        pattern, bpattern = self._compiled()
        if isinstance(data, bytes):
            return any(v.encode() in data for v in self._long) or bpattern.search(data) is not None
        return any(v in data for v in self._long) or pattern.search(data) is not None

    # -- placeholders --------------------------------------------------------------------------------------
    def placeholder_for(self, secret: str) -> str:
        """The placeholder of one registered secret (see the module docstring)."""
        if PLACEHOLDER_RE.search(secret):
            return secret  # a value a replay served: it already is a placeholder
        label = self._labels.get(secret)
        if label is None:
            unnamed = [s for s in self._order if s not in self._labels and not PLACEHOLDER_RE.search(s)]
            label = f"secret:{unnamed.index(secret) + 1}" if secret in unnamed else "secret"
        return "{{" + label + "}}"

    def _placeholder_of(self, found: str) -> str:
        if found in self._b64 and found not in self._text:
            return "A" * len(found)  # inside base64: keep it decodable, as redact() does
        secret = self._owner.get(found)
        if secret is None:
            return MASK
        holder = self.placeholder_for(secret)
        if found == secret:
            return holder
        if "%" in found and "%" not in secret:  # the secret URL-encoded: keep the URL or form valid
            return quote(holder, safe="")
        return holder

    def placeholder(self, text: str) -> str:
        """``text`` with every secret replaced by its named placeholder instead of ``***``."""
        if not self._values or not text:
            return text
        pattern, _ = self._compiled()
        text = self._replace_long(text, self._placeholder_of)
        return pattern.sub(lambda m: self._placeholder_of(m.group(0)), text)

    def placeholder_bytes(self, data: bytes) -> bytes:
        """The same on bytes (a recorded body, whatever its encoding)."""
        if not self._values or not data:
            return data
        _, pattern = self._compiled()
        data = self._replace_long_bytes(data, self._placeholder_of)
        return pattern.sub(lambda m: self._placeholder_of(m.group(0).decode()).encode(), data)

    def redact_headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """Headers with sensitive ones masked whole, and secrets scrubbed from the others."""
        return [(name, MASK if name.lower() in SENSITIVE_HEADERS else self.redact(value)) for name, value in headers]


def _clean_label(label: str) -> str:
    cleaned = _LABEL_CHARS.sub("_", label.strip())[:100]
    return cleaned or "secret"
