"""The public surface is each package's ``__init__``, and nothing outside the package reaches past it.

- every implementation module is private (its name, or a package above it, starts with ``_``), except the
  modules named below with the reason they are imported by name;
- each lazy facade agrees with itself: the names it lists for ``__getattr__``, the names it imports for
  type checkers, and ``__all__`` are the same set, and each one resolves to an object of the module named;
- what a user reads or copies — the docs, the examples, the connectors and their tests, the fixture sites,
  the scripts and the templates ``browserkonnector new`` writes — imports only public paths, and only names
  in that package's ``__all__``.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "browserkonnector"

#: Modules imported by their own name, so public by necessity.
PUBLIC_MODULES = {
    "cli.py": "the command line (the console script's entry point, and `python -m browserkonnector.cli`)",
    "scaling/celery.py": "the Celery app a worker is started with (`celery -A browserkonnector.scaling.celery`)",
}


def _modules() -> list[str]:
    return sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if "templates" not in p.parts)


def test_every_implementation_module_is_private() -> None:
    public = [
        m for m in _modules() if m not in PUBLIC_MODULES and not any(part.startswith("_") for part in m.split("/"))
    ]
    assert public == [], f"public implementation modules (make them private, or list why): {public}"
    assert all((PACKAGE / m).is_file() for m in PUBLIC_MODULES)


def _packages() -> list[str]:
    names = ["browserkonnector"]
    for init in sorted(PACKAGE.rglob("__init__.py")):
        rel = init.parent.relative_to(PACKAGE)
        if rel.parts and "templates" not in rel.parts and not any(p.startswith("_") for p in rel.parts):
            names.append("browserkonnector." + ".".join(rel.parts))
    return names


def _facade(tree: ast.Module) -> tuple[dict[str, str] | None, set[str]]:
    """The lazy map (``_EXPORTS`` or ``_LAZY``) and the names imported under ``if TYPE_CHECKING``."""
    lazy, typed = None, set()
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign) and node.value is not None:
            target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
            if isinstance(target, ast.Name) and target.id in ("_EXPORTS", "_LAZY"):
                lazy = ast.literal_eval(node.value)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            typed |= {a.asname or a.name for n in node.body if isinstance(n, ast.ImportFrom) for a in n.names}
    return lazy, typed


@pytest.mark.parametrize("package", _packages())
def test_each_facade_agrees_with_itself_and_resolves(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    exported = set(module.__all__)
    assert len(exported) == len(module.__all__), f"{package}: a name twice in __all__"
    lazy, typed = _facade(tree)
    if lazy is not None:
        assert set(lazy) == typed, f"{package}: lazy map vs TYPE_CHECKING imports: {set(lazy) ^ typed}"
        assert set(lazy) <= exported, f"{package}: lazily exported but not in __all__: {set(lazy) - exported}"
        if package != "browserkonnector":  # the root also exports eagerly imported names
            assert set(lazy) == exported, f"{package}: __all__ vs lazy map: {set(lazy) ^ exported}"
        for name, where in lazy.items():
            source = importlib.import_module(where, package)
            assert getattr(module, name) is getattr(source, name), f"{package}.{name} is not {where}'s"
    for name in exported:
        assert getattr(module, name, None) is not None, f"{package}: {name} in __all__ does not resolve"


_USER_FILES = [
    *(REPO / "connectors").rglob("*.py"),
    *(REPO / "fixtures").rglob("*.py"),
    *(REPO / "scripts").rglob("*.py"),
    *(REPO / "docs").rglob("*.py"),
    *(PACKAGE / "templates").rglob("*.py.tmpl"),
]
_USER_DOCS = [REPO / "README.md", REPO / "CONTRIBUTING.md", *(REPO / "docs").glob("*.md")]
_DOC_IMPORT = re.compile(r"^\s*from (browserkonnector[\w.]*) import \(?([\w, \n]+?)\)?$", re.MULTILINE)


def _user_imports() -> list[tuple[str, str, str]]:
    """(file, module, name) for every ``from browserkonnector... import name`` a user reads."""
    found: list[tuple[str, str, str]] = []
    for path in _USER_FILES:
        if "__pycache__" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".tmpl":
            text = re.sub(r"\$\{(\w+)\}", r"_\1_", text)  # the placeholders are not Python
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("browserkonnector"):
                found += [(path.relative_to(REPO).as_posix(), node.module or "", a.name) for a in node.names]
            if isinstance(node, ast.Import):
                found += [
                    (path.relative_to(REPO).as_posix(), a.name, "")
                    for a in node.names
                    if a.name.startswith("browserkonnector")
                ]
    for doc in _USER_DOCS:
        for module, names in _DOC_IMPORT.findall(doc.read_text(encoding="utf-8")):
            found += [
                (doc.relative_to(REPO).as_posix(), module, n.strip().split(" as ")[0])
                for n in names.replace("\n", " ").split(",")
                if n.strip()
            ]
    return found


def test_user_facing_code_imports_only_public_names() -> None:
    imports = _user_imports()
    assert len(imports) > 50  # the scan found the connectors, docs, scripts and templates
    bad = []
    for where, module, name in imports:
        if any(part.startswith("_") for part in module.split(".")):
            bad.append(f"{where}: {module} is private")
            continue
        if not name:
            continue
        target = importlib.import_module(module)
        if name not in getattr(target, "__all__", ()) and not (
            module == "browserkonnector.scaling" and name == "celery"
        ):
            bad.append(f"{where}: {name} is not in {module}.__all__")
    assert bad == []


#: The layers, top first (docs/architecture.md): a module imports only from its own layer or those below.
#: ``testing`` may import everything and nothing imports it but the command line.
LAYERS = [
    ("cli", "_scaffold", "testing"),
    ("scaling",),
    ("server",),
    ("runtime",),
    ("browser.instrument",),
    ("browser.toolkit",),
    ("browser",),
    ("save",),
    ("store",),
    ("_request", "_parsing", "_errors", "_redact", "_lazy", "_limits", "_cookies"),
]


def _layer(dotted: str) -> int | None:
    """The layer of ``browserkonnector.<dotted>`` (the longest prefix listed)."""
    best: tuple[int, int] | None = None
    for index, names in enumerate(LAYERS):
        for name in names:
            if (dotted == name or dotted.startswith(name + ".")) and (best is None or len(name) > best[1]):
                best = (index, len(name))
    return None if best is None else best[0]


def test_imports_point_down_the_layers() -> None:
    """Function-level imports count too: a lazy import upwards is still a cycle waiting to happen."""
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")
        if rel in ("__init__", "", "browser") or rel.startswith("templates"):
            continue  # the root and the browser facades re-export from the layers below them
        mine = _layer(rel)
        assert mine is not None, f"browserkonnector.{rel} is in no layer"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else ([a.name for a in node.names] if isinstance(node, ast.Import) else [])
            )
            for target in targets:
                if target.startswith("browserkonnector.") or target == "browserkonnector":
                    names = (
                        [target]
                        if target != "browserkonnector" or isinstance(node, ast.Import)
                        else [f"browserkonnector.{a.name}" for a in node.names]
                    )
                    for full in names:
                        theirs = _layer(full.removeprefix("browserkonnector."))
                        if theirs is not None and theirs < mine and mine > 0:
                            upward.append(f"{rel} imports {full}")
    assert upward == []
