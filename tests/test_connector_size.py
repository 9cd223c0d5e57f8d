"""The three bundled connectors stay what the toolkit promises: small, public API only, no event-listener
plumbing and no injected JavaScript beyond a one-line expression."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

CONNECTORS = Path(__file__).resolve().parents[1] / "connectors"
MAIN_FILES = [
    CONNECTORS / "demo_vendor" / "konnector.py",
    CONNECTORS / "shop_vendor" / "konnector.py",
    CONNECTORS / "bank_spa" / "konnector.py",
]
MAX_LINES = 60


def code_lines(source: str) -> int:
    """Non-blank lines, docstrings excluded (comments count: they are code a reader reads)."""
    tree = ast.parse(source)
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                docstrings.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return sum(1 for n, line in enumerate(source.splitlines(), 1) if line.strip() and n not in docstrings)


@pytest.mark.parametrize("path", MAIN_FILES, ids=lambda p: p.parent.name)
def test_a_connector_is_small_and_uses_the_public_api_only(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert code_lines(source) <= MAX_LINES, f"{path}: {code_lines(source)} lines of code, target {MAX_LINES}"
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("browserkonnector"):
            assert node.module in ("browserkonnector", "browserkonnector.browser"), f"{path}: {node.module}"
            assert not any(alias.name.startswith("_") for alias in node.names)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in ("on", "once", "remove_listener", "add_init_script"), (
                f"{path}:{node.lineno}: event-listener plumbing ({node.func.attr})"
            )
            if node.func.attr in ("evaluate", "evaluate_all", "wait_for_function") and node.args:
                script = node.args[0]
                if isinstance(script, ast.Constant) and isinstance(script.value, str):
                    where = f"{path}:{node.lineno}: injected JavaScript beyond a one-line expression"
                    assert "\n" not in script.value, where
                    assert len(script.value) <= 120, where
    assert not re.search(r"\bplaywright\._impl\b|asyncio\.Future|create_future", source)
