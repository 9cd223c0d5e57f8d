"""A Celery app for many accounts: ``celery -A celery_app worker`` and ``celery -A celery_app beat``.

Accounts are listed here by name only; their fields are files in ``BROWSERKONNECTOR_ACCOUNTS_DIR``
(``<account>.json``, mode 600) that only the workers read. Each account runs once a day at a minute of
its own between 01:00 and 05:59 (``daily_spread``), unless ``BK_EVERY_SECONDS`` asks for a fixed period
(the test runs it every few seconds).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from browserkonnector.scaling.celery import app, schedule_accounts

CONNECTOR = os.environ.get("BK_CONNECTOR") or str(Path(__file__).resolve().parents[3] / "connectors" / "demo_vendor")
ACCOUNTS = [name for name in os.environ.get("BK_ACCOUNTS", "alice-home").split(",") if name]
every = os.environ.get("BK_EVERY_SECONDS")

schedule_accounts(
    app, [(CONNECTOR, account) for account in ACCOUNTS], every=timedelta(seconds=float(every)) if every else None
)

__all__ = ["app"]
