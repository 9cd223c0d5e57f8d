"""Find the :class:`Konnector` a command names: a folder, a ``.py`` file, or a module path.

``browserkonnector run connectors/demo_vendor`` loads the folder as a package (so the connector's own
relative imports work) under a private module name; ``browserkonnector run my_pkg.my_connector[:name]``
imports a module from the Python path. Inside, the connector is the attribute ``konnector`` (or the
named one), else the only ``Konnector`` instance at module level.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from browserkonnector.runtime._konnector import Konnector

__all__ = ["ConnectorNotFound", "load_connector"]

ENTRY_FILES = ("__init__.py", "konnector.py", "main.py")


class ConnectorNotFound(ValueError):
    """The spec names no loadable connector; the message says what was tried."""


def _load_path(path: Path) -> ModuleType:
    path = path.resolve()
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    if path.is_dir():
        entry = next((path / name for name in ENTRY_FILES if (path / name).is_file()), None)
        if entry is None:
            raise ConnectorNotFound(f"{path} has none of {', '.join(ENTRY_FILES)}")
        name = f"_bk_connector_{path.name}_{digest}"
        spec = importlib.util.spec_from_file_location(
            name, entry, submodule_search_locations=[str(path)] if entry.name == "__init__.py" else None
        )
    else:
        name = f"_bk_connector_{path.stem}_{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConnectorNotFound(f"cannot load {path}")
    if name in sys.modules:
        return sys.modules[name]
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _find(module: ModuleType, attr: str | None, spec: str) -> Konnector[Any]:
    if attr is not None:
        value = getattr(module, attr, None)
        if not isinstance(value, Konnector):
            raise ConnectorNotFound(f"{spec}: {attr!r} is not a Konnector")
        return value
    value = getattr(module, "konnector", None)
    if isinstance(value, Konnector):
        return value
    found = [v for v in vars(module).values() if isinstance(v, Konnector)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ConnectorNotFound(f"{spec}: no Konnector found (define `konnector = Konnector(...)`)")
    raise ConnectorNotFound(f"{spec}: several Konnectors; name one with {spec}:NAME")


def load_connector(spec: str) -> Konnector[Any]:
    """The connector named by ``spec`` (folder, file, or ``module[:attr]``)."""
    target, _, attr = spec.partition(":") if not Path(spec).exists() else (spec, "", "")
    path = Path(target)
    if path.exists():
        return _find(_load_path(path), attr or None, spec)
    try:
        module = importlib.import_module(target)
    except ModuleNotFoundError as exc:
        raise ConnectorNotFound(f"{spec!r} is neither a folder, a file nor an importable module ({exc.msg})") from None
    return _find(module, attr or None, spec)
