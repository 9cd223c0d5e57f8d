"""``browserkonnector new NAME``: a connector folder that passes its own tests out of the box.

The template (``browserkonnector/templates/connector``) is a small, complete connector for the demo
vendor site — login behind a cookie overlay, API token from sessionStorage, JSON API through the
session, PDFs and printed bills — with a manifest, a dev config and tests using the pytest plugin.
Starting from something that works beats starting from a blank page with TODOs.
"""

from __future__ import annotations

import re
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

__all__ = ["ScaffoldError", "scaffold"]

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


def scaffold(name: str, parent: Path) -> Path:
    """Create ``parent/<name>`` from the template; returns the folder."""
    if not NAME.match(name):
        raise ScaffoldError(f"{name!r}: use lowercase letters, digits, '-' or '_', starting with a letter")
    names = _names(name)
    folder = parent / names["slug_py"]
    if folder.exists():
        raise ScaffoldError(f"{folder} already exists")
    template_root = files("browserkonnector").joinpath("templates", "connector")
    for relative, source in _walk(template_root, Path()):
        target = folder / Template(str(relative)).substitute(names)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(Template(source.read_text(encoding="utf-8")).substitute(names), encoding="utf-8")
    return folder
