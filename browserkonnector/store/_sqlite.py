"""The SQLite database of a LocalStore: connection, schema, one table per doctype, real indexes.

- **WAL** with ``synchronous=NORMAL``: a commit is atomic and survives a killed process; only a power cut
  may lose the last commits (file *contents* are fsynced before they become visible, see ``_files``).
- **One table per doctype** (``docs_<slug>_<hash>``, found through the ``doctypes`` table), so an index
  of ``io.cozy.bills`` is not maintained on every write of another doctype and a scan of one doctype
  never reads another's rows. Columns: ``id``, ``rev``, ``deleted`` (a tombstone keeps its id and rev, as
  CouchDB does, so a re-create continues the revision count) and ``body``, the JSON document without
  ``_id``/``_rev``.
- ``define_index`` becomes a SQLite **expression index** on ``json_extract(body, '$.field')`` (partial,
  ``WHERE deleted = 0 [AND <partial filter>]``): the ``$in`` dedup query is then index lookups, not a
  scan (see ``_pushdown``).
- **Several processes** may write: every write is a ``BEGIN IMMEDIATE`` transaction (the write lock is
  taken up front, so two writers queue instead of failing at commit), with a 30 s ``busy_timeout``.
- **Several threads** (uploads finish in worker threads, the stack emulator serves HTTP from its own
  thread): writes share one connection under a lock; reads go through a second connection with a lock
  of its own, so a read on the event loop never waits for a writer's fsync (WAL readers do not block on
  the writer). A ``read()`` nested inside a ``write()`` reuses the writer's connection and sees its
  uncommitted changes. A transaction never spans an ``await``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from browserkonnector.store._errors import (
    BadRequest,
    Forbidden,
    NotFound,
    QuotaExceeded,
    StoreCorrupted,
    StoreError,
    StoreUnavailable,
    is_disk_full,
)
from browserkonnector.store._mango import normalize
from browserkonnector.store._pushdown import conjuncts, index_fields_sql, push_down

__all__ = ["Database", "IndexDef", "damaged", "dumps", "run_script"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS doctypes (doctype TEXT PRIMARY KEY, tbl TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS indexes (
    doctype TEXT NOT NULL, name TEXT NOT NULL, fields TEXT NOT NULL, partial TEXT,
    sql_name TEXT, PRIMARY KEY (doctype, name));
CREATE TABLE IF NOT EXISTS file_names (
    dir_id TEXT NOT NULL, name TEXT NOT NULL, file_id TEXT NOT NULL,
    PRIMARY KEY (dir_id, name)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS file_names_by_file ON file_names (file_id);
CREATE TABLE IF NOT EXISTS pending (
    file_id TEXT PRIMARY KEY, owner TEXT NOT NULL, op TEXT NOT NULL,
    tmp TEXT, src TEXT, dst TEXT, doc TEXT, extra TEXT);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);
"""
_DOCTYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
WAL_AUTOCHECKPOINT_PAGES = 100
WAL_SIZE_LIMIT = 512 * 1024


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Statements separated by ``;``, inside the current transaction (``executescript`` would commit it
    first)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def dumps(value: Any) -> str:
    """Compact JSON, non-ASCII kept: the stored form of a body."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True)
class IndexDef:
    """A ``define_index`` call as recorded: Mango fields, partial filter, and the SQLite index (if any)."""

    doctype: str
    name: str
    fields: tuple[str, ...]
    partial: dict[str, Any] | None
    sql_name: str | None
    partial_sql: str | None


class Database:
    """One connection to ``store.sqlite3``, with the write-transaction discipline described above."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        if readonly:
            self.conn = self._reader = _open_readonly(path)
        else:
            try:
                self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"cannot open the store database {path}: {exc}") from exc
        self.lock = threading.RLock()  # the writer connection's
        self._read_lock = threading.RLock()  # the reader connection's
        self._active = threading.local()  # the connection of the transaction this thread is in
        self._tables: dict[str, str] = {}
        self._indexes: dict[str, list[IndexDef]] | None = None
        self._versions: dict[int, int] = {}  # PRAGMA data_version last seen, by connection
        if readonly:
            return
        conn = self.conn
        # Another writer process may hold the database for a moment (switching to WAL, checkpointing):
        # SQLite then answers "database is locked" at once for some of these statements, whatever the
        # busy timeout. That is no damage: try again, with a growing pause, within the busy timeout.
        deadline = time.monotonic() + 30.0
        pause = 0.02
        while True:
            try:
                self._prepare(conn)
                break
            except sqlite3.OperationalError as exc:
                if _busy(exc) and time.monotonic() < deadline:
                    time.sleep(pause)
                    pause = min(pause * 2, 1.0)
                    continue
                conn.close()
                if _busy(exc):
                    raise StoreUnavailable(
                        f"the store database {path} stayed locked by another process for 30 s ({exc})"
                    ) from None
                raise damaged(path, exc) from None
            except (sqlite3.DatabaseError, StoreCorrupted) as exc:
                conn.close()
                raise (exc if isinstance(exc, StoreCorrupted) else damaged(path, exc)) from None
        try:  # the reader opens once the schema exists (nothing reads before)
            self._reader = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
            self._reader.execute("PRAGMA busy_timeout = 30000")
        except sqlite3.Error as exc:
            self.conn.close()
            raise StoreUnavailable(f"cannot open the store database {path}: {exc}") from exc

    def _prepare(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA busy_timeout = 30000")
        if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")  # once per database: it stays WAL
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = OFF")
        # Checkpoint every ~400 KiB of WAL and truncate it back to 512 KiB after: a run of a few
        # hundred bills otherwise grows the WAL to several times the database (measured 2.8 MB for a
        # 250 KB database), which a nearly full disk does not have.
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        with self.write():
            run_script(conn, _SCHEMA)

    def close(self) -> None:
        with self.lock, self._read_lock:
            self._reader.close()
            if self.conn is not self._reader:
                self.conn.close()

    def _current(self) -> sqlite3.Connection:
        """The connection of the transaction this thread is in (the writer's outside any)."""
        conn: sqlite3.Connection | None = getattr(self._active, "conn", None)
        return conn if conn is not None else self.conn

    # -- transactions ---------------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on any exception."""
        if self.readonly:
            raise Forbidden(f"the store {self.path.parent} is open read-only", reason="read_only")
        with self.lock:
            conn = self.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise _translated(self.path, exc) from None
            outer = getattr(self._active, "conn", None)
            self._active.conn = conn
            try:
                yield conn
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already (disk full)
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.DatabaseError):
                    raise _translated(self.path, exc) from None
                raise
            finally:
                self._active.conn = outer
            try:
                conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise _translated(self.path, exc) from None

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read snapshot (``BEGIN DEFERRED``): several queries see one consistent state."""
        current: sqlite3.Connection | None = getattr(self._active, "conn", None)
        if current is not None:  # nested inside write() or read(): the same transaction
            yield current
            return
        with self._read_lock:
            conn = self._reader
            conn.execute("BEGIN")
            self._active.conn = conn
            try:
                yield conn
            finally:
                self._active.conn = None
                conn.execute("COMMIT")

    # -- doctype tables -------------------------------------------------------------------------------
    @staticmethod
    def check_doctype(doctype: str) -> str:
        if not isinstance(doctype, str) or not _DOCTYPE.fullmatch(doctype):
            raise BadRequest(
                f"invalid doctype {doctype!r} (letters, digits, '.', '_' and '-' only)", reason="invalid_doctype"
            )
        return doctype

    def table(self, doctype: str, *, create: bool = False) -> str | None:
        """The table of a doctype; ``create`` makes it (inside the caller's write transaction)."""
        tbl = self._tables.get(doctype)
        if tbl is not None:
            return tbl
        conn = self._current()
        row = conn.execute("SELECT tbl FROM doctypes WHERE doctype = ?", (doctype,)).fetchone()
        if row is None:
            if not create:
                return None
            self.check_doctype(doctype)
            tbl = self.table_name(doctype)
            conn.execute(
                f'CREATE TABLE IF NOT EXISTS "{tbl}" (id TEXT PRIMARY KEY NOT NULL, rev TEXT NOT NULL, '
                "deleted INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL)"
            )
            conn.execute("INSERT INTO doctypes (doctype, tbl) VALUES (?, ?)", (doctype, tbl))
        else:
            tbl = str(row[0])
        self._tables[doctype] = tbl
        return tbl

    @staticmethod
    def table_name(doctype: str) -> str:
        slug = re.sub(r"[^a-z0-9]+", "_", doctype.lower())[:40]
        return f"docs_{slug}_{hashlib.sha1(doctype.encode()).hexdigest()[:8]}"

    def all_doctypes(self) -> list[tuple[str, str]]:
        rows = self._current().execute("SELECT doctype, tbl FROM doctypes ORDER BY doctype").fetchall()
        return [(str(d), str(t)) for d, t in rows]

    # -- indexes --------------------------------------------------------------------------------------
    def indexes(self, doctype: str) -> list[IndexDef]:
        """Indexes defined on a doctype. Cached; the cache is dropped when any process defines one
        (``PRAGMA data_version`` of a connection changes when another connection commits: the reader's
        after every write of ours too, which costs one read of the small ``indexes`` table)."""
        conn = self._current()
        version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        seen, self._versions[id(conn)] = self._versions.get(id(conn)), version  # per connection
        if self._indexes is None or seen != version:
            cache: dict[str, list[IndexDef]] = {}
            for row in conn.execute("SELECT doctype, name, fields, partial, sql_name FROM indexes ORDER BY rowid"):
                partial = json.loads(row[3]) if row[3] else None
                fields = tuple(json.loads(row[2]))
                cache.setdefault(row[0], []).append(
                    IndexDef(row[0], row[1], fields, partial, row[4], _partial_sql(partial))
                )
            self._indexes = cache
        return self._indexes.get(doctype, [])

    def define_index(self, doctype: str, fields: Sequence[str], name: str, partial: Mapping[str, Any] | None) -> bool:
        """Record an index and build its SQLite counterpart; ``False`` if the same one existed."""
        if not fields or not all(isinstance(f, str) and f for f in fields):
            raise BadRequest("an index needs a non-empty list of field names", reason="invalid_index")
        partial_dict = dict(partial) if partial else None
        if partial_dict:
            normalize(partial_dict)  # validates it
        with self.write() as conn:
            tbl = self.table(doctype, create=True)
            row = conn.execute(
                "SELECT fields, partial, sql_name FROM indexes WHERE doctype = ? AND name = ?",
                (doctype, name),
            ).fetchone()
            if row is not None:
                same = json.loads(row[0]) == list(fields) and ((json.loads(row[1]) if row[1] else None) == partial_dict)
                if same:
                    return False
                if row[2]:
                    conn.execute(f'DROP INDEX IF EXISTS "{row[2]}"')
                conn.execute("DELETE FROM indexes WHERE doctype = ? AND name = ?", (doctype, name))
            exprs = index_fields_sql(fields)
            sql_name = None
            if exprs is not None:
                sql_name = f"ix_{tbl}_{hashlib.sha1(name.encode()).hexdigest()[:10]}"
                where = "deleted = 0"
                psql = _partial_sql(partial_dict)
                if psql:
                    where += f" AND {psql}"
                conn.execute(f'CREATE INDEX "{sql_name}" ON "{tbl}" ({", ".join(exprs)}) WHERE {where}')
            conn.execute(
                "INSERT INTO indexes (doctype, name, fields, partial, sql_name) VALUES (?, ?, ?, ?, ?)",
                (doctype, name, json.dumps(list(fields)), json.dumps(partial_dict) if partial_dict else None, sql_name),
            )
        self._indexes = None
        return True


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def damaged(path: Path, exc: BaseException) -> StoreCorrupted:
    """The error for a database SQLite cannot read: what it is, and what to do."""
    return StoreCorrupted(
        f"the store database {path} is damaged or is not a store database ({exc}). Move it away (the "
        f"files under {path.parent / 'files'} stay) and run again to start a new store, or restore it "
        "from a backup",
        reason="corrupt",
    )


def _translated(path: Path, exc: sqlite3.Error) -> StoreError:
    if is_disk_full(exc):
        return QuotaExceeded(
            f"the disk of the store {path.parent} is full ({exc}): nothing of this change was "
            "written; free some space and run again",
            reason="disk_full",
        )
    if isinstance(exc, sqlite3.OperationalError):
        if "readonly" in str(exc) or "read-only" in str(exc):
            return Forbidden(f"the store {path.parent} cannot be written ({exc})", reason="read_only")
        return StoreUnavailable(f"the store database {path} failed: {exc}")
    return damaged(path, exc)


def _open_readonly(path: Path) -> sqlite3.Connection:
    """A connection that never writes: ``mode=ro`` (it still reads the WAL of a crashed writer), or,
    where even that cannot open (a read-only folder without the WAL's shared-memory file), ``immutable``."""
    if not path.is_file():
        raise NotFound(f"no store database at {path}", reason="no_store")
    uri = "file:" + urllib.parse.quote(str(path.resolve()))
    last: sqlite3.Error | None = None
    for query in ("?mode=ro", "?mode=ro&immutable=1"):
        try:
            conn = sqlite3.connect(uri + query, uri=True, isolation_level=None, check_same_thread=False, timeout=30.0)
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.DatabaseError as exc:
            if not isinstance(exc, sqlite3.OperationalError) or "unable to open" not in str(exc):
                raise damaged(path, exc) from None
            last = exc
    raise StoreUnavailable(f"cannot open the store database {path} read-only: {last}")


def _partial_sql(partial: Mapping[str, Any] | None) -> str | None:
    """The partial filter as literal SQL terms — only when *all* of it translates, so that a query whose
    selector contains the filter's conditions can name the same terms and let SQLite use the index."""
    if not partial:
        return None
    norm = normalize(partial)
    pushed = push_down(norm, inline=True)
    if len(pushed.terms) != len(conjuncts(norm)):
        return None
    return pushed.inline()
