"""Names a package exports but imports on first use (PEP 562), for the package and its browser layer.

A connector's ``from browserkonnector import Bill`` should not import Playwright, nor a plain run the
record/replay and scrubbing modules: each package lists ``name -> module`` and gets its module-level
``__getattr__`` and ``__dir__`` from :func:`lazy_exports`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: an exported name is imported from its module
    (absolute, or relative to ``package`` when it starts with a dot) on first access, then kept in
    ``namespace`` (the package's ``globals()``) so the next access is a plain lookup."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(namespace["__all__"])

    return __getattr__, __dir__
