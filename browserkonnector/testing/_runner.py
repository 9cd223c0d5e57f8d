"""Run a connector from a test, and look at what it saved.

:func:`run_connector` runs a connector once (live against a local site, or offline from a recording) into
a temporary embedded store and returns a :class:`ConnectorRun` to assert on: the result code, the bills
and files saved, the text of their PDFs, the failure bundle. It runs the connector's event loop in a
worker thread, so it works from plain (sync) tests, beside pytest-playwright's sync fixtures.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from browserkonnector.runtime._konnector import Konnector
from browserkonnector.runtime._loader import load_connector
from browserkonnector.runtime._options import RunOptions, TraceMode
from browserkonnector.runtime._run import RunResult
from browserkonnector.store._base import Doc, FileDoc

__all__ = ["ConnectorRun", "run_connector"]


@dataclass
class ConnectorRun:
    """One finished run: its result and the store it wrote to."""

    result: RunResult
    store_dir: Path
    konnector: Konnector[Any]

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def code(self) -> str | None:
        return self.result.code

    def explain(self) -> str:
        """A failure in words, for assertion messages: code, detail, and where the bundle is."""
        if self.result.ok:
            return "the run succeeded"
        text = f"{self.result.code}: {self.result.detail}"
        if self.result.bundle is not None:
            text += f"\nfailure bundle: {self.result.bundle}"
            error = self.result.bundle / "error.txt"
            if error.is_file():
                text += "\n" + error.read_text(encoding="utf-8")[-3000:]
        return text

    def _query(self, coro_fn: Any) -> Any:
        from browserkonnector.store._local import LocalStore

        async def go() -> Any:
            async with LocalStore(self.store_dir) as store:
                return await coro_fn(store)

        return _run_in_thread(go())

    def documents(self, doctype: str) -> list[Doc]:
        async def fetch(store: Any) -> list[Doc]:
            return [doc async for doc in store.all_docs(doctype)]

        docs: list[Doc] = self._query(fetch)
        return docs

    def bills(self) -> list[Doc]:
        """Every ``io.cozy.bills`` document, sorted by date."""
        return sorted(self.documents("io.cozy.bills"), key=lambda d: (str(d.get("date")), str(d.get("_id"))))

    def files(self) -> list[FileDoc]:
        """Every stored file (not directories, not trashed), with its ``path``, sorted by path."""

        async def fetch(store: Any) -> list[FileDoc]:
            found: list[FileDoc] = []
            async for doc in store.all_docs("io.cozy.files"):
                file = FileDoc.from_doc(doc)
                if not file.is_dir and not file.trashed:
                    found.append(await store.stat(file.id))  # stat: a file's path is computed, not stored
            return sorted(found, key=lambda f: str(f.path))

        files: list[FileDoc] = self._query(fetch)
        return files

    def file_for(self, bill: Mapping[str, Any]) -> FileDoc:
        """The file a bill points to (``invoice: io.cozy.files:<id>``)."""
        invoice = str(bill.get("invoice", ""))
        file_id = invoice.split(":", 1)[1] if ":" in invoice else invoice

        async def fetch(store: Any) -> FileDoc:
            stat: FileDoc = await store.stat(file_id)
            return stat

        found: FileDoc = self._query(fetch)
        return found

    def content(self, file: FileDoc | Mapping[str, Any]) -> bytes:
        """A file's bytes (give a FileDoc or a bill)."""
        target = file if isinstance(file, FileDoc) else self.file_for(file)

        async def fetch(store: Any) -> bytes:
            data: bytes = await store.download(target.id)
            return data

        data: bytes = self._query(fetch)
        return data

    def pdf_text(self, file: FileDoc | Mapping[str, Any]) -> str:
        """The text pypdf reads in a stored PDF (give a FileDoc or a bill)."""
        reader = PdfReader(io.BytesIO(self.content(file)))
        return "\n".join(page.extract_text() or "" for page in reader.pages)

    def account_data(self) -> dict[str, Any]:
        accounts = self.documents("io.cozy.accounts")
        return dict(accounts[0].get("data") or {}) if accounts else {}


def _run_in_thread(coro: Any) -> Any:
    """``asyncio.run`` in a fresh thread: no clash with a loop the test process already runs."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="browserkonnector-test-run")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def run_connector(
    connector: Konnector[Any] | str | Path,
    *,
    store_dir: Path,
    fields: Mapping[str, Any] | None = None,
    artifacts_dir: Path | None = None,
    headed: bool = False,
    slow_mo: float = 0.0,
    trace: TraceMode = "retain-on-failure",
    replay: Path | None = None,
    record: Path | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float | None = None,
    extra_fields: Sequence[str] = (),
    locale: str | None = None,
    timezone: str | None = None,
) -> ConnectorRun:
    """Run ``connector`` once into ``store_dir`` and return what happened (never raises for a failure)."""
    konnector = connector if isinstance(connector, Konnector) else load_connector(str(connector))
    cli_fields = [f"{key}={_field_text(value)}" for key, value in (fields or {}).items()]
    options = RunOptions(
        cli_fields=(*cli_fields, *extra_fields),
        store_dir=store_dir,
        headed=headed,
        slow_mo=slow_mo,
        trace=trace,
        artifacts_dir=artifacts_dir or store_dir.parent / "artifacts",
        offline_dns=True,
        replay=replay,
        record=record,
        log_mode="json",
        progress=False,
        timeout=timeout,
        locale=locale,
        timezone=timezone,
        environ=dict(environ or {}),
    )
    result: RunResult = _run_in_thread(konnector.execute(options))
    return ConnectorRun(result, store_dir, konnector)


def _field_text(value: Any) -> str:
    if hasattr(value, "get_secret_value"):
        return str(value.get_secret_value())
    if isinstance(value, bool | int | float | list | dict):
        return json.dumps(value) if not isinstance(value, bool) else str(value).lower()
    return str(value)
