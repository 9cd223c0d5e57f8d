"""The package uses Playwright and httpx through their public APIs only.

Private paths and attributes move between releases (which is what an exact version pin protects), and a
patched object behaves differently from the library's documentation. So the package's source is read
(its syntax tree, not its text, so that docstrings explaining the rule do not trip it) for:

- imports of private modules (``playwright._impl...``, ``httpx._...``);
- access to an attribute Playwright or httpx keep private (``route._impl_obj``, ``client._transport``,
  any ``_impl`` name...), and to any ``_private`` attribute of an object, in the modules that use them;
- assignments to an attribute that Playwright's or httpx's objects define (``page.route = ...``,
  ``client.event_hooks = ...``): monkeypatching; and ``setattr`` in those modules;
- a subclass overriding one of their private methods (``def _merge_cookies``): a dependency on internals
  that silently stops applying when they change;
- ``WeakKeyDictionary`` registries in those modules (per-context state belongs to the context's network
  owner; a module that never touches a browser or a client, like the store keeping one committer per
  event loop, is not concerned).

The one exception is listed with its reason: Playwright has no public way to move a navigation on after
a redirect answered by a route (a fulfilled 3xx is followed by Chromium without routing the next request;
its own HAR replay uses the call recording and replay make).
"""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import playwright.async_api as pw

PACKAGE = Path(__file__).resolve().parents[1] / "browserkonnector"

#: (file relative to the package, the end of the finding) allowed: the text that must still be in the
#: file for the exception to be needed, and why.
ALLOWED = {
    ("browser/instrument/_taps.py", "route._impl_obj._redirect_navigation_request"): (
        "_redirect_navigation_request",
        "no public API moves a routed navigation on (playwright#33893)",
    ),
    ("browser/instrument/_taps.py", "route._impl_obj"): ("_impl_obj", "the same call"),
}

#: Underscored but public: a named tuple's documented methods (``urlsplit(url)._replace(...)``).
PUBLIC_UNDERSCORED = frozenset({"_replace", "_asdict", "_fields", "_make", "_field_defaults"})

_LIBRARY_TYPES = (
    pw.Page,
    pw.BrowserContext,
    pw.Browser,
    pw.Route,
    pw.Request,
    pw.Response,
    pw.Frame,
    pw.APIResponse,
    pw.Download,
    httpx.AsyncClient,
    httpx.Client,
    httpx.AsyncHTTPTransport,
    httpx.Request,
    httpx.Response,
)
#: The attribute names Playwright's and httpx's objects define, public or not.
LIBRARY_ATTRIBUTES = frozenset(name for kind in _LIBRARY_TYPES for name in dir(kind) if not name.startswith("__"))


def _uses_the_libraries(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] in ("playwright", "httpx") for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("playwright", "httpx"):
            return True
    return False


def _is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in ("self", "cls")


def _own_attributes(tree: ast.Module) -> frozenset[str]:
    """Names the module's own classes define (methods, class-level fields, ``self.x = ...``): using
    those on an object is the module using its own classes, not the libraries'."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    names.add(item.target.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _is_self(node.value):
            names.add(node.attr)
    return frozenset(names)


def findings(path: Path, source: str, own: frozenset[str] = frozenset()) -> list[str]:
    """What breaks the rule in one module's ``source`` (``path`` names it in the messages); ``own``: the
    attribute names the package's classes define (the module's own are added)."""
    tree = ast.parse(source)
    uses = _uses_the_libraries(tree)
    own = own | _own_attributes(tree)
    found: list[str] = []

    def report(node: ast.AST, what: str) -> None:
        found.append(f"{path}:{getattr(node, 'lineno', 0)}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[0] in ("playwright", "httpx") and any(p.startswith("_") for p in parts[1:]):
                report(node, f"private module {node.module}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] in ("playwright", "httpx") and any(p.startswith("_") for p in parts[1:]):
                    report(node, f"private module {alias.name}")
        elif isinstance(node, ast.Attribute):
            name = node.attr
            private = name.startswith("_") and not name.startswith("__") and name not in PUBLIC_UNDERSCORED
            library_private = "_impl" in name or name in ("_transport", "_mounts", "_channel", "_connection")
            if library_private or (uses and private and not _is_self(node.value) and name not in own):
                report(node, f"private attribute {ast.unparse(node)}")
            if (
                isinstance(node.ctx, ast.Store)
                and uses
                and not _is_self(node.value)
                and name in LIBRARY_ATTRIBUTES
                and name not in own
            ):
                report(node, f"assignment to {ast.unparse(node)} (monkeypatching)")
        elif isinstance(node, ast.Call):
            called = ast.unparse(node.func)
            if uses and called == "setattr":
                report(node, "setattr()")
            if uses and called.endswith("WeakKeyDictionary"):
                report(node, "a WeakKeyDictionary registry")
        elif isinstance(node, ast.Name) and node.id == "WeakKeyDictionary" and uses:
            report(node, "a WeakKeyDictionary registry")
        elif isinstance(node, ast.ClassDef) and uses and node.bases:
            for item in node.body:
                if (
                    isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                    and item.name.startswith("_")
                    and not item.name.startswith("__")
                    and item.name in LIBRARY_ATTRIBUTES
                ):
                    report(item, f"override of the private {node.name}.{item.name}")
    return found


def _allowed(finding: str) -> bool:
    location, _, what = finding.partition(": ")
    file = location.rsplit(":", 1)[0]
    return any(file.endswith(allowed_file) and what.endswith(expression) for allowed_file, expression in ALLOWED)


def test_the_package_uses_playwright_and_httpx_publicly() -> None:
    sources = {path: path.read_text(encoding="utf-8") for path in sorted(PACKAGE.rglob("*.py"))}
    own = frozenset().union(*(_own_attributes(ast.parse(source)) for source in sources.values()))
    problems = []
    for path, source in sources.items():
        problems += [f for f in findings(path, source, own) if not _allowed(f)]
    assert problems == [], "\n".join(problems)


def test_the_allowed_exception_is_still_needed() -> None:
    """An exception nobody needs any more is removed from the list."""
    for (file, _), (needle, _) in ALLOWED.items():
        assert needle in (PACKAGE / file).read_text(encoding="utf-8"), (file, needle)


def test_the_check_finds_what_it_forbids() -> None:
    """Each kind of breach, written the way it was in this package before the network owner."""
    source = """
from weakref import WeakKeyDictionary
from playwright._impl.isomorphic.url_match import url_matches
import httpx
from playwright.async_api import BrowserContext

_FILTERS: WeakKeyDictionary[BrowserContext, str] = WeakKeyDictionary()

def patch(target, client):
    target.route = lambda *a: None
    client.event_hooks = {}
    setattr(client, "_transport", None)
    client._transport = None
    return target._impl_obj

class Client(httpx.AsyncClient):
    def _merge_cookies(self, cookies=None):
        return None
"""
    found = "\n".join(findings(Path("example.py"), source))
    for expected in (
        "private module playwright._impl.isomorphic.url_match",
        "WeakKeyDictionary registry",
        "assignment to target.route",
        "assignment to client.event_hooks",
        "setattr()",
        "private attribute client._transport",
        "private attribute target._impl_obj",
        "override of the private Client._merge_cookies",
    ):
        assert expected in found, expected
    assert findings(Path("fine.py"), "import httpx\nclass A:\n    def f(self):\n        self._x = 1\n") == []
