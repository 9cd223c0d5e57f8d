"""JSON-aware rules for traces and HARs: find the secrets the redactor does not know yet, then mask.

Playwright's trace (``trace.trace``, ``trace.network``) and a HAR share one vocabulary: header and cookie
lists of ``{"name", "value"}``, ``queryString``, ``postData`` with ``text``/``params``, ``content`` with
``encoding: base64``. Secrets hide there in forms a value-based redactor misses until told: the session
cookie (``Cookie``/``Set-Cookie`` headers and cookie arrays), the bearer token (``Authorization``), a
CSRF header, a value typed into a password field (the DOM snapshot's ``__playwright_value_``, the
``fill`` action's params). So scrubbing is two passes over the parsed JSON:

1. :func:`harvest` registers those values with the redactor (so they vanish from *every* file of the
   trace, e.g. a response body that echoed the token, and from later log lines);
2. :func:`scrub` rewrites the document: sensitive headers and cookie values masked whole, secret-named
   query/form parameters masked, base64 bodies decoded → scrubbed → re-encoded, every string redacted.

Working on parsed JSON (not bytes) keeps every line valid — the trace viewer must still open the file —
and catches double-escaped forms (a JSON login body inside a JSON trace line).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode

from browserkonnector._redact import MASK, SENSITIVE_HEADERS, Redactor
from browserkonnector.browser._secrets import register_cookie_values

__all__ = ["harvest", "mask_url_query", "scrub", "secret_name", "sensitive_header"]

_SECRET_WORDS = re.compile(
    r"pass|pwd|secret|token|csrf|xsrf|jwt|signature|credential|api[-_]?key|auth(?!or)|session|cvv|cvc|otp",
    re.IGNORECASE,
)
_SECRET_NAMES = frozenset({"code", "pin", "sig", "key", "sid", "nonce", "ticket", "state"})
_INPUT_HINTS = ("type", "name", "id", "autocomplete")
_FILL_METHODS = frozenset({"fill", "type", "pressSequentially", "press_sequentially"})
_QUERY_PARAM = re.compile(r"([?&;])([^=&#;]+)=([^&#;]*)")
_LISTS_OF_PAIRS = frozenset({"queryString", "params"})
#: Header names that match a secret word without holding a secret (``...-Allow-Credentials: true``).
_PUBLIC_HEADERS = re.compile(r"^(?:access-control-|sec-|www-authenticate$)", re.IGNORECASE)


def secret_name(name: str) -> bool:
    """A parameter or field name whose value is a secret whatever it holds (``password``, ``access_token``)."""
    return name.lower() in _SECRET_NAMES or bool(_SECRET_WORDS.search(name))


def sensitive_header(name: str) -> bool:
    """A header whose value is masked whole: the redactor's list, plus any CSRF/token/session-named one
    (``X-CSRFToken``, ``X-Session-Id``...)."""
    lowered = name.lower()
    return lowered in SENSITIVE_HEADERS or (secret_name(lowered) and not _PUBLIC_HEADERS.match(lowered))


def mask_url_query(url: str) -> str:
    """``url`` with the values of secret-named query parameters masked, the rest left byte for byte."""
    if "?" not in url:
        return url

    def repl(match: re.Match[str]) -> str:
        sep, name, value = match.groups()
        return f"{sep}{name}={MASK}" if value and secret_name(unquote_plus(name)) else match.group(0)

    head, _, tail = url.partition("?")
    return head + "?" + _QUERY_PARAM.sub(repl, "?" + tail)[1:]


def _pairs(items: Any) -> Iterator[dict[str, Any]]:
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("name"), str) and "value" in item:
                yield item


def _header_secrets(name: str, value: str) -> list[str]:
    """The secret parts of one sensitive header's value."""
    lowered = name.lower()
    if lowered == "cookie":
        return [part.split("=", 1)[1] for part in value.split(";") if "=" in part]
    if lowered == "set-cookie":
        first = value.split(";", 1)[0]
        return [first.split("=", 1)[1]] if "=" in first else []
    found = [value]
    scheme, _, credentials = value.partition(" ")
    if credentials:
        found.append(credentials.strip())
        if scheme.lower() == "basic":
            try:
                user_pass = base64.b64decode(credentials, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                user_pass = ""
            found += [user_pass, user_pass.partition(":")[2]]
    return found


def _secret_input(attrs: dict[str, Any]) -> bool:
    return any(
        isinstance(attrs.get(k), str) and (attrs[k].lower() == "password" or secret_name(attrs[k]))
        for k in _INPUT_HINTS
    )


def _body_pairs(post: dict[str, Any]) -> tuple[str, Any]:
    """``("form", [(k, v)...])``, ``("json", obj)`` or ``("text", None)`` for a postData block."""
    text, mime = post.get("text"), str(post.get("mimeType", "")).lower()
    if not isinstance(text, str) or not text:
        return "text", None
    if "x-www-form-urlencoded" in mime:
        return "form", parse_qsl(text, keep_blank_values=True)
    if "json" in mime:
        try:
            return "json", json.loads(text)
        except ValueError:
            return "text", None
    return "text", None


def _json_secret_values(value: Any, under_secret: bool = False) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _json_secret_values(item, under_secret or secret_name(str(key)))
    elif isinstance(value, list):
        for item in value:
            yield from _json_secret_values(item, under_secret)
    elif under_secret and isinstance(value, str | int) and not isinstance(value, bool):
        yield str(value)


def _mask_json_secrets(value: Any, under_secret: bool = False) -> Any:
    if isinstance(value, dict):
        return {k: _mask_json_secrets(v, under_secret or secret_name(str(k))) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_json_secrets(v, under_secret) for v in value]
    if under_secret and isinstance(value, str | int) and not isinstance(value, bool):
        return MASK
    return value


# -- pass 1: harvest --------------------------------------------------------------------------------------
def harvest(doc: Any, redactor: Redactor) -> None:
    """Register every secret ``doc`` (a parsed trace line or HAR) carries in a known place."""
    _walk(doc, None, lambda key, node: _harvest_node(key, node, redactor))


def _walk(node: Any, key: str | None, visit: Callable[[str | None, Any], None]) -> None:
    visit(key, node)
    if isinstance(node, dict):
        for k, v in node.items():
            _walk(v, k, visit)
    elif isinstance(node, list):
        for v in node:
            _walk(v, key, visit)


def _harvest_node(key: str | None, node: Any, redactor: Redactor) -> None:
    if isinstance(node, list) and key == "headers":
        for pair in _pairs(node):
            if pair["name"].lower() in SENSITIVE_HEADERS:
                redactor.add_all(_header_secrets(pair["name"], str(pair["value"])))
            elif sensitive_header(pair["name"]):  # a looser match: only values that look like secrets
                register_cookie_values([("", str(pair["value"]))], redactor)
    elif isinstance(node, list) and key == "cookies":
        register_cookie_values(((p["name"], str(p["value"])) for p in _pairs(node)), redactor)
    elif isinstance(node, list) and key in _LISTS_OF_PAIRS:
        redactor.add_all(str(p["value"]) for p in _pairs(node) if secret_name(p["name"]))
    elif isinstance(node, dict):
        if isinstance(node.get("__playwright_value_"), str) and _secret_input(node):
            redactor.add(node["__playwright_value_"])
        params = node.get("params")
        if (
            node.get("method") in _FILL_METHODS
            and isinstance(params, dict)
            and secret_name(str(params.get("selector", "")))
            and isinstance(params.get("value"), str)
        ):
            redactor.add(params["value"])
        if key == "postData":
            kind, body = _body_pairs(node)
            if kind == "form":
                redactor.add_all(v for k, v in body if secret_name(k))
            elif kind == "json":
                redactor.add_all(_json_secret_values(body))


# -- pass 2: scrub ----------------------------------------------------------------------------------------
def scrub(node: Any, redactor: Redactor, key: str | None = None) -> Any:
    """A copy of ``node`` with every secret masked (see the module docstring for the rules)."""
    if isinstance(node, str):
        text = mask_url_query(node) if node.startswith(("http://", "https://")) else node
        return redactor.redact(text)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int | float):
        return MASK if redactor.contains_secret(str(node)) else node
    if isinstance(node, list):
        return [
            _scrub_pair(key, item, redactor) if isinstance(item, dict) else scrub(item, redactor, key) for item in node
        ]
    if isinstance(node, dict):
        return _scrub_dict(key, node, redactor)
    return node


def _scrub_pair(key: str | None, item: dict[str, Any], redactor: Redactor) -> Any:
    if isinstance(item.get("name"), str) and "value" in item:
        name = item["name"]
        if (
            (key == "headers" and sensitive_header(name))
            or key == "cookies"
            or (key in _LISTS_OF_PAIRS and secret_name(name))
        ):
            return {**scrub(item, redactor, None), "value": MASK}
    return scrub(item, redactor, key)


def _scrub_dict(key: str | None, node: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    node = dict(node)
    if "__playwright_value_" in node and _secret_input(node):
        node["__playwright_value_"] = MASK
    params = node.get("params")
    if (
        node.get("method") in _FILL_METHODS
        and isinstance(params, dict)
        and "value" in params
        and secret_name(str(params.get("selector", "")))
    ):
        node["params"] = {**params, "value": MASK}
    if key == "postData":
        kind, body = _body_pairs(node)
        if kind == "form":
            node["text"] = urlencode([(k, MASK if secret_name(k) else v) for k, v in body])
        elif kind == "json":
            node["text"] = json.dumps(_mask_json_secrets(body), ensure_ascii=False)
    if node.get("encoding") == "base64" and isinstance(node.get("text"), str):
        try:
            raw = base64.b64decode(node["text"], validate=True)
        except binascii.Error:
            raw = None
        if raw is not None:
            node["text"] = base64.b64encode(redactor.redact_bytes(raw)).decode()
            return {redactor.redact(k): v if k == "text" else scrub(v, redactor, k) for k, v in node.items()}
    return {redactor.redact(k): scrub(v, redactor, k) for k, v in node.items()}
