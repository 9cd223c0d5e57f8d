"""Group commit of a LocalStore's files-tree changes: many concurrent changes, one worker-thread trip.

Every change of the files tree is two transactions (``_fileops``: record the intent, then make the disk
change, fsync the folder and commit the document). Done one change at a time, a run saving hundreds of
bills paid per file two commits, a folder fsync and a worker-thread hop, while the other uploads of the
same ``save_files`` call waited behind the write lock anyway.

Here the changes requested while a batch is being written queue up, and the next batch takes them all:
step 1 of each (in one transaction, each plan under a savepoint so that one refused change — a name
taken, a quota crossed, a ``Busy`` entry — does not undo the others), then step 2 of all of them
(:meth:`~._fileops.FileOps.finish_many`: every disk change, every folder touched fsynced once, one
commit). A caller's ``await`` still returns only once its change is committed and durable, as before;
a lone change is written at once (no waiting for company), so nothing gets slower when there is no
batch to make.

Cancellation: a change not yet taken by a batch is withdrawn (nothing was written); a change being
written is waited for (milliseconds), then the cancellation is raised — the caller's clean-up must not
remove a temp file the batch is moving into place.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread

from browserkonnector.store._base import FileDoc
from browserkonnector.store._errors import NotFound
from browserkonnector.store._fileops import FileOps, Op

__all__ = ["Committer"]

Plan = Callable[..., "Op | FileDoc"]


@dataclass(eq=False)
class _Request:
    plan: Plan
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    future: asyncio.Future[FileDoc]
    taken: bool = False
    outcome: FileDoc | BaseException | None = field(default=None)


def _plan_all(ops: FileOps, batch: list[_Request]) -> list[tuple[_Request, Op]]:
    """Step 1 of every request, in one transaction; those that need no step 2 get their outcome."""
    planned: list[tuple[_Request, Op]] = []
    with ops.db.write() as conn:
        for req in batch:
            conn.execute("SAVEPOINT bk_plan")
            try:
                out = req.plan(ops, conn, *req.args, **req.kwargs)
            except Exception as exc:
                if isinstance(exc, sqlite3.DatabaseError):
                    raise  # the transaction itself failed: no plan of the batch is committed
                conn.execute("ROLLBACK TO bk_plan")
                conn.execute("RELEASE bk_plan")
                req.outcome = exc
                continue
            conn.execute("RELEASE bk_plan")
            if isinstance(out, FileDoc):
                req.outcome = out
            else:
                planned.append((req, out))
    return planned


def _write_batch(ops: FileOps, batch: list[_Request]) -> None:
    """Both steps of every request of ``batch`` (in a worker thread); each request gets its outcome."""
    try:
        planned = _plan_all(ops, batch)
    except Exception as exc:
        for req in batch:
            req.outcome = exc
        return
    if not planned:
        return
    try:
        done = ops.finish_many([op for _, op in planned])
    except Exception as exc:  # the commit failed: every intent stays for recovery
        for req, _ in planned:
            req.outcome = exc
        return
    for (req, _), result in zip(planned, done, strict=True):
        req.outcome = (
            result if result is not None else NotFound("the destination folder was deleted meanwhile", reason="missing")
        )


class Committer:
    """The queue of files-tree changes of one LocalStore on one event loop (see the module docstring)."""

    def __init__(self, ops: FileOps) -> None:
        self.ops = ops
        self._queue: list[_Request] = []
        self._drainer: asyncio.Task[None] | None = None

    async def change(self, plan: Plan, *args: Any, **kwargs: Any) -> FileDoc:
        """Step 1 (``plan``) then step 2 of one change, written with whatever else is queued."""
        loop = asyncio.get_running_loop()
        req = _Request(plan, args, kwargs, loop.create_future())
        self._queue.append(req)
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain())
        try:
            return await asyncio.shield(req.future)
        except asyncio.CancelledError:
            if not req.taken:
                with contextlib.suppress(ValueError):
                    self._queue.remove(req)  # withdrawn before anything was written
                raise
            while not req.future.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait({req.future})
            if not req.future.cancelled():
                req.future.exception()  # retrieved: the cancellation is what the caller gets
            raise

    async def _drain(self) -> None:
        cancelled = False
        while self._queue and not cancelled:
            batch, self._queue = self._queue, []
            for req in batch:
                req.taken = True
            job = asyncio.ensure_future(anyio.to_thread.run_sync(_write_batch, self.ops, batch))
            while not job.done():  # the thread cannot be stopped: its outcome is always delivered
                try:
                    await asyncio.wait({job})
                except asyncio.CancelledError:
                    cancelled = True
            failure = None if job.cancelled() else job.exception()
            for req in batch:
                if req.future.done():
                    continue
                outcome = failure or req.outcome
                if isinstance(outcome, BaseException):
                    req.future.set_exception(outcome)
                elif outcome is None:
                    req.future.set_exception(RuntimeError("a files-tree change got no outcome"))
                else:
                    req.future.set_result(outcome)
        if cancelled:  # the loop is going away: what was not taken is not written
            for req in self._queue:
                req.future.cancel()
            self._queue.clear()
            raise asyncio.CancelledError
