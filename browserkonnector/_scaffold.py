"""``browserkonnector new NAME [--kind api|html|spa]``: a connector folder that passes its own tests.

Each kind is a small, complete connector for one of the bundled fixture sites, with a manifest, a dev
config and tests using the pytest plugin: ``api`` (``templates/connector``) for the demo vendor site — a
JavaScript app whose JSON API it reads, past a cookie overlay, with an API token from sessionStorage;
``html`` (``templates/connector-html``) for the server-rendered shop — a form login, parsed pages, skipped
known items; ``spa`` (``templates/connector-spa``) for the heavy local-first bank app — a slow boot,
IndexedDB, a virtualised list. Starting from something that works beats a blank page with TODOs.
"""

from __future__ import annotations

import re
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

__all__ = ["KINDS", "ScaffoldError", "scaffold"]

#: The kinds of site a new connector can start from, each a template folder under ``templates/``:
#: ``api`` a JavaScript app whose JSON API the connector reads, ``html`` a server-rendered site whose pages
#: it parses, ``spa`` a heavy local-first app whose rendered (virtualised) lists it collects.
KINDS = ("api", "html", "spa")
_TEMPLATES = {"api": "connector", "html": "connector-html", "spa": "connector-spa"}

NAME = re.compile(r"^[a-z][a-z0-9_-]{1,40}$")


class ScaffoldError(ValueError):
    """The name is not usable or the folder exists; the message says which."""


def _names(name: str) -> dict[str, str]:
    slug = name.replace("_", "-")
    title = " ".join(part.capitalize() for part in re.split(r"[-_]", name))
    return {"slug": slug, "slug_py": slug.replace("-", "_"), "title": title, "vendor": title}


def _walk(node: Traversable, prefix: Path) -> list[tuple[Path, Traversable]]:
    found: list[tuple[Path, Traversable]] = []
    for child in node.iterdir():
        if child.is_dir():
            found += _walk(child, prefix / child.name)
        elif child.name.endswith(".tmpl"):
            found.append((prefix / child.name.removesuffix(".tmpl"), child))
    return found


def scaffold(name: str, parent: Path, *, kind: str = "api") -> Path:
    """Create ``parent/<name>`` from the template of ``kind`` (one of :data:`KINDS`); returns the folder."""
    if kind not in _TEMPLATES:
        raise ScaffoldError(f"--kind {kind!r}: choose one of {', '.join(KINDS)}")
    if not NAME.match(name):
        raise ScaffoldError(f"{name!r}: use lowercase letters, digits, '-' or '_', starting with a letter")
    names = _names(name)
    folder = parent / names["slug_py"]
    if folder.exists():
        raise ScaffoldError(f"{folder} already exists")
    template_root = files("browserkonnector").joinpath("templates", _TEMPLATES[kind])
    if not template_root.is_dir():
        raise ScaffoldError(f"--kind {kind}: this installation has no template for it ({_TEMPLATES[kind]})")
    for relative, source in _walk(template_root, Path()):
        target = folder / Template(str(relative)).substitute(names)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(Template(source.read_text(encoding="utf-8")).substitute(names), encoding="utf-8")
    return folder
