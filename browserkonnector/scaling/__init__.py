"""Many accounts, many processes: runs on a task queue (``docs/scaling.md``).

- :mod:`._accounts` — an account's fields from a secret source, its store, which codes are retried;
- :mod:`._worker` — a worker process's kept browser and one run at a time, with its result;
- :mod:`._slots` — at most N runs of a vendor at once across workers (Redis);
- :mod:`.celery` — the Celery app and the ``browserkonnector.run_account`` task (``pip install
  browserkonnector[celery]``; the only module here that imports Celery).

Above ``runtime/`` (it runs connectors), below ``cli.py``.

This ``__init__`` is the package's contract (names imported on first use); the modules behind it are
private, except :mod:`.celery`, the module a Celery worker is started with (``-A
browserkonnector.scaling.celery``), which needs the ``celery`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from browserkonnector._lazy import lazy_exports

if TYPE_CHECKING:
    from browserkonnector.scaling._accounts import RETRYABLE, AccountError, account_store, is_retryable
    from browserkonnector.scaling._slots import VendorSlot
    from browserkonnector.scaling._worker import AccountRun, WorkerBrowser, worker_browser

_EXPORTS: dict[str, str] = {  # name -> the private module defining it
    "AccountError": "._accounts",
    "RETRYABLE": "._accounts",
    "account_store": "._accounts",
    "is_retryable": "._accounts",
    "VendorSlot": "._slots",
    "AccountRun": "._worker",
    "WorkerBrowser": "._worker",
    "worker_browser": "._worker",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "RETRYABLE",
    "AccountError",
    "AccountRun",
    "VendorSlot",
    "WorkerBrowser",
    "account_store",
    "is_retryable",
    "worker_browser",
]
