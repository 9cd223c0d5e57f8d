"""Many accounts, many processes: runs on a task queue (``docs/scaling.md``).

- :mod:`.accounts` — an account's fields from a secret source, its store, which codes are retried;
- :mod:`.worker` — a worker process's kept browser and one run at a time, with its result;
- :mod:`.slots` — at most N runs of a vendor at once across workers (Redis);
- :mod:`.celery` — the Celery app and the ``browserkonnector.run_account`` task (``pip install
  browserkonnector[celery]``; the only module here that imports Celery).

Above ``runtime/`` (it runs connectors), below ``cli.py``.
"""
