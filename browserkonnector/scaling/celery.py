"""Many accounts on Celery: one task runs one connector for one account (``pip install
browserkonnector[celery]``; see ``docs/scaling.md``).

::

    celery -A browserkonnector.scaling.celery worker --concurrency 2       # each child keeps a browser
    celery -A browserkonnector.scaling.celery beat                         # the schedules, if any

    from browserkonnector.scaling.celery import run_account
    run_account.delay("connectors/demo_vendor", "alice-home").get()        # {"ok": true, "saved": {...}}

What the task guarantees:

- **fields from a secret source**, never in the task's arguments (``scaling.accounts``);
- **retries by error code**: ``VENDOR_DOWN*``, ``MAINTENANCE`` and ``UNKNOWN_ERROR.BROWSER_UNAVAILABLE``
  are retried with exponential backoff (``BROWSERKONNECTOR_RETRY_BASE`` seconds, doubling, at most
  ``BROWSERKONNECTOR_MAX_RETRIES`` times); ``LOGIN_FAILED*``, ``USER_ACTION_NEEDED*``, every ``no_retry``
  code and ``UNKNOWN_ERROR`` never;
- **a per-vendor concurrency limit** across all workers (``BROWSERKONNECTOR_VENDOR_LIMITS="demo_vendor=2"``,
  Redis slots of ``scaling.slots``);
- **a worker lost mid-run loses nothing and duplicates nothing**: ``acks_late`` + ``reject_on_worker_lost``
  put the task back in the queue, and the retried run dedups against what the lost one saved;
- **a browser kept per worker process** (its own Chromium, or ``BROWSERKONNECTOR_CONNECT`` to a
  ``browser-server``), a fresh context per task;
- **a result that says what the run saved** (:class:`~browserkonnector.scaling._worker.AccountRun`).

Configuration comes from the environment (``BROWSERKONNECTOR_BROKER``, default
``redis://127.0.0.1:6379/0``, and ``BROWSERKONNECTOR_RESULTS``, default the broker), or build your own app
with :func:`make_app` and :func:`register`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery import Celery, Task
from celery.schedules import crontab
from celery.signals import worker_process_shutdown

from browserkonnector.scaling._accounts import backoff_seconds
from browserkonnector.scaling._slots import VendorSlot
from browserkonnector.scaling._worker import close_worker_browser, worker_browser

__all__ = ["TASK_NAME", "app", "daily_spread", "make_app", "register", "run_account", "schedule_accounts"]

TASK_NAME = "browserkonnector.run_account"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    try:
        return float(value) if value else default
    except ValueError:
        raise ValueError(f"{name}={value!r}: expected a number of seconds") from None


def vendor_limits(environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """``BROWSERKONNECTOR_VENDOR_LIMITS="demo_vendor=2,acme=1"`` → ``{"demo_vendor": 2, "acme": 1}``."""
    text = (os.environ if environ is None else environ).get("BROWSERKONNECTOR_VENDOR_LIMITS", "")
    limits: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        vendor, _, number = part.partition("=")
        if not vendor or not number.isdigit() or int(number) < 1:
            raise ValueError(f"BROWSERKONNECTOR_VENDOR_LIMITS: {part!r} is not vendor=N (N >= 1)")
        limits[vendor.strip()] = int(number)
    return limits


def make_app(broker: str | None = None, backend: str | None = None, **conf: Any) -> Celery:
    """A Celery app configured for runs: late acks, a lost worker's task requeued, one task per child at a
    time, JSON only. ``conf`` overrides any setting."""
    broker = broker or os.environ.get("BROWSERKONNECTOR_BROKER") or DEFAULT_BROKER
    backend = backend or os.environ.get("BROWSERKONNECTOR_RESULTS") or broker
    run_timeout = _env_float("BROWSERKONNECTOR_RUN_TIMEOUT", 900.0)
    celery_app = Celery("browserkonnector", broker=broker, backend=backend)
    celery_app.conf.update(
        task_acks_late=True,  # acknowledged when the run ended, not when it started
        task_reject_on_worker_lost=True,  # a child killed mid-run: the task goes back to the queue
        worker_prefetch_multiplier=1,  # a child reserves no run it cannot start
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_time_limit=run_timeout + 120,  # the run stops itself at run_timeout (UNKNOWN_ERROR.TIMEOUT) first
        # A message reserved by a worker that vanished comes back after this; longer than any run.
        broker_transport_options={
            "visibility_timeout": int(_env_float("BROWSERKONNECTOR_VISIBILITY_TIMEOUT", max(3600.0, run_timeout * 2)))
        },
        result_expires=7 * 24 * 3600,
        broker_connection_retry_on_startup=True,
    )
    celery_app.conf.update(conf)
    return celery_app


def register(celery_app: Celery) -> Task:
    """Add the ``browserkonnector.run_account`` task to ``celery_app``; returns it."""

    @celery_app.task(
        bind=True,
        name=TASK_NAME,  # type: ignore[untyped-decorator]
        max_retries=int(_env_float("BROWSERKONNECTOR_MAX_RETRIES", 5)),
    )
    def run_account_task(self: Task, connector: str, account: str, vendor: str | None = None) -> dict[str, Any]:
        """One run of ``connector`` for ``account``; ``vendor`` names its concurrency limit (default: the
        connector's folder or module name)."""
        vendor = vendor or Path(connector.split(":", 1)[0]).name
        limit = vendor_limits().get(vendor)
        run_timeout = _env_float("BROWSERKONNECTOR_RUN_TIMEOUT", 900.0)
        slot = None
        if limit:
            slot = VendorSlot(
                _redis(celery_app),
                vendor,
                limit=limit,
                lease=run_timeout + 180,
                wait=_env_float("BROWSERKONNECTOR_SLOT_WAIT", 60.0),
            )
            if not slot.acquire():  # every slot taken for the whole wait: try again later, elsewhere maybe
                raise self.retry(countdown=backoff_seconds(self.request.retries, base=5.0, cap=300.0))
        try:
            result = worker_browser().run(connector, account, timeout=run_timeout)
        finally:
            if slot is not None:
                slot.release()
        if not result.ok and result.retryable and self.request.retries < (self.max_retries or 0):
            base = _env_float("BROWSERKONNECTOR_RETRY_BASE", 30.0)
            raise self.retry(countdown=backoff_seconds(self.request.retries, base=base))
        # browsers_started: how many browsers this worker process started so far (1 = kept across tasks).
        return {
            **result.as_dict(),
            "attempt": self.request.retries + 1,
            "browsers_started": worker_browser().browsers_started,
        }

    return run_account_task


_redis_clients: dict[str, Any] = {}


def _redis(celery_app: Celery) -> Any:
    """A Redis client on the broker (``BROWSERKONNECTOR_SLOTS_REDIS`` to use another), one per process."""
    import redis

    url = os.environ.get("BROWSERKONNECTOR_SLOTS_REDIS") or str(celery_app.conf.broker_url)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"per-vendor limits need Redis: set BROWSERKONNECTOR_SLOTS_REDIS (the broker is {url!r})")
    if url not in _redis_clients:
        _redis_clients[url] = redis.Redis.from_url(url)
    return _redis_clients[url]


def daily_spread(account: str, hours: Iterable[int] = range(1, 6)) -> crontab:
    """Once a day at a minute that depends on the account only: runs spread over ``hours`` instead of
    all starting at once (the Cozy stack spreads its konnector triggers the same way)."""
    window = list(hours)
    digest = int(hashlib.sha256(account.encode()).hexdigest(), 16)
    return crontab(hour=window[digest % len(window)], minute=(digest // len(window)) % 60)


def schedule_accounts(
    celery_app: Celery, accounts: Iterable[tuple[str, str]], every: timedelta | crontab | None = None
) -> dict[str, dict[str, Any]]:
    """Periodic runs for ``(connector, account)`` pairs in ``celery_app``'s beat schedule (``every``:
    default :func:`daily_spread`); returns the entries added."""
    added: dict[str, dict[str, Any]] = {}
    for connector, account in accounts:
        added[f"bk:{Path(connector).name}:{account}"] = {
            "task": TASK_NAME,
            "schedule": every if every is not None else daily_spread(account),
            "args": (connector, account),
        }
    celery_app.conf.beat_schedule = {**(celery_app.conf.beat_schedule or {}), **added}
    return added


@worker_process_shutdown.connect  # type: ignore[untyped-decorator]
def _close_browser(**_kwargs: Any) -> None:
    close_worker_browser()


app = make_app()
run_account = register(app)
