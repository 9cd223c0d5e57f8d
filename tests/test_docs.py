"""The docs stay true: every import they show resolves, and every block marked ``<!-- runnable -->`` runs.

A block is marked by an HTML comment on the line before its fence (invisible once rendered). Blocks that
need a browser or a site are run by the tests named beside them instead; the marker is for examples that
stand alone.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])
FENCE = re.compile(r"```python\n(.*?)```", re.DOTALL)
RUNNABLE = re.compile(r"<!-- runnable -->\s*\n```python\n(.*?)```", re.DOTALL)
IMPORT = re.compile(r"^\s*from (browserkonnector[\w.]*) import \(?([\w, \n]+?)\)?$", re.MULTILINE)


def imports() -> list[tuple[str, str, str]]:
    found = []
    for doc in DOCS:
        for block in FENCE.findall(doc.read_text(encoding="utf-8")):
            for module, names in IMPORT.findall(block):
                for name in (n.strip() for n in names.replace("\n", " ").split(",")):
                    if name:
                        found.append((doc.name, module, name.split(" as ")[0]))
    return found


@pytest.mark.parametrize(("doc", "module", "name"), imports())
def test_every_import_in_the_docs_resolves(doc: str, module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name), f"{doc}: from {module} import {name}"


def runnable() -> list[tuple[str, int, str]]:
    return [
        (doc.name, n, block)
        for doc in DOCS
        for n, block in enumerate(RUNNABLE.findall(doc.read_text(encoding="utf-8")))
    ]


@pytest.mark.parametrize(("doc", "index", "block"), runnable())
def test_every_runnable_block_runs(doc: str, index: int, block: str) -> None:
    exec(compile(block, f"{doc}[runnable {index}]", "exec"), {"__name__": f"docs_{index}"})


def test_the_docs_have_checked_examples() -> None:
    assert len(imports()) >= 10
    assert runnable()


def test_the_qualification_page_lists_every_label_of_the_table() -> None:
    from browserkonnector.save import qualification_labels

    page = (REPO / "docs" / "qualification-labels.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| `([a-z_]+)` \|", page, re.MULTILINE)
    assert listed == qualification_labels()


def test_the_guides_the_connector_guide_links_exist() -> None:
    guide = (REPO / "docs" / "connector-guide.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([\w.-]+\.md)\)", guide):
        assert (REPO / "docs" / target).is_file(), target
