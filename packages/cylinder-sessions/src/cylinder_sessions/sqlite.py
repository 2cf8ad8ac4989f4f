"""The SQLite driver, the default: one table in one file, shared by threads and processes."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from .driver import (
    Record,
    StoreRecord,
    StoreUnavailable,
    StoreWrite,
    WriteResult,
    Written,
    merged_stores,
)

__all__ = ["SQLiteDriver"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS cylinder_sessions ("
    " key TEXT PRIMARY KEY, user TEXT, created REAL NOT NULL, deadline REAL NOT NULL,"
    " expires REAL NOT NULL, stores TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS cylinder_sessions_expires ON cylinder_sessions (expires)",
    "CREATE INDEX IF NOT EXISTS cylinder_sessions_user ON cylinder_sessions (user)",
)
_COLUMNS = "user, created, deadline, expires, stores"
Row = tuple[str | None, float, float, float, str]


class SQLiteDriver:
    """Sessions in a SQLite file (standard library ``sqlite3``), in WAL mode.

    Each thread of each process opens its own connection; writes are ``BEGIN IMMEDIATE``
    transactions, so the guarantees of :mod:`cylinder_sessions.driver` hold across threads and
    processes on one host. A locked or unreadable database waits ``busy_timeout`` seconds, then
    raises :class:`StoreUnavailable`.

    :param path: the database file; created with its table when missing.
    :param busy_timeout: seconds to wait for a lock held by another connection.
    :param purge_interval: when set, a create or write purges expired records if the last purge
        in this process was at least this many seconds ago (cleanup as requests go); otherwise
        call :meth:`purge` (or ``python -m cylinder_sessions.purge``) from a scheduled job.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        purge_interval: float | None = None,
    ) -> None:
        self.path = Path(path)
        if busy_timeout < 0:
            raise ValueError(f"`busy_timeout` must be 0 or more seconds, not {busy_timeout!r}")
        if purge_interval is not None and purge_interval <= 0:
            raise ValueError(
                f"`purge_interval` must be more than 0 seconds, not {purge_interval!r}"
            )
        self.busy_timeout = busy_timeout
        self.purge_interval = purge_interval
        self._local = threading.local()
        self._purge_lock = threading.Lock()
        self._last_purge: float | None = None

    def __repr__(self) -> str:
        return f"SQLiteDriver({str(self.path)!r})"

    # connections

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the table created) on first use; a connection
        inherited across ``fork`` is never reused."""
        held: tuple[int, sqlite3.Connection] | None = getattr(self._local, "held", None)
        if held is not None and held[0] == os.getpid():
            return held[1]
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=True
        )
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                conn.execute(statement)
        except BaseException:
            conn.close()
            raise
        self._local.held = (os.getpid(), conn)
        return conn

    def _drop(self) -> None:
        held: tuple[int, sqlite3.Connection] | None = getattr(self._local, "held", None)
        self._local.held = None
        if held is not None and held[0] == os.getpid():
            with suppress(sqlite3.Error):
                held[1].close()

    @contextmanager
    def _using(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection; any SQLite error becomes :class:`StoreUnavailable` and the
        connection is closed, so the next call starts afresh."""
        try:
            yield self._connection()
        except sqlite3.Error as exc:
            self._drop()
            raise StoreUnavailable(f"the session database {str(self.path)!r}: {exc}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._using() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # the driver interface

    def load(self, key: str, now: float) -> Record | None:
        with self._using() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM cylinder_sessions WHERE key = ? AND expires > ?",
                (key, now),
            ).fetchone()
        return None if row is None else _record(row)

    def create(self, key: str, record: Record) -> bool:
        stores = _stores_text(record.stores)
        with self._using() as conn:
            cursor = conn.execute(
                "INSERT INTO cylinder_sessions (key, user, created, deadline, expires, stores) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "user = excluded.user, created = excluded.created, "
                "deadline = excluded.deadline, expires = excluded.expires, "
                "stores = excluded.stores WHERE cylinder_sessions.expires <= excluded.created",
                (key, record.user, record.created, record.deadline, record.expires, stores),
            )
            inserted = cursor.rowcount == 1
        self._purge_as_we_go(record.created)
        return inserted

    def write(
        self, key: str, writes: Mapping[str, StoreWrite], now: float, idle: float
    ) -> WriteResult:
        with self._transaction() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM cylinder_sessions WHERE key = ? AND expires > ?",
                (key, now),
            ).fetchone()
            record = None if row is None else _record(row)
            if record is None:
                return WriteResult(Written.MISSING)
            stores = merged_stores(record, writes)
            if stores is None:
                return WriteResult(Written.CONFLICT, record)
            conn.execute(
                "UPDATE cylinder_sessions SET stores = ?, expires = MAX(expires, MIN(deadline, ?))"
                " WHERE key = ?",
                (_stores_text(stores), now + idle, key),
            )
        self._purge_as_we_go(now)
        return WriteResult(Written.OK)

    def touch(self, key: str, now: float, idle: float) -> bool:
        with self._using() as conn:
            cursor = conn.execute(
                "UPDATE cylinder_sessions SET expires = MAX(expires, MIN(deadline, ?))"
                " WHERE key = ? AND expires > ?",
                (now + idle, key, now),
            )
            return cursor.rowcount == 1

    def delete(self, key: str) -> None:
        with self._using() as conn:
            conn.execute("DELETE FROM cylinder_sessions WHERE key = ?", (key,))

    def revoke_user(self, user: str) -> int:
        with self._using() as conn:
            return conn.execute("DELETE FROM cylinder_sessions WHERE user = ?", (user,)).rowcount

    def purge(self, now: float) -> int:
        with self._using() as conn:
            return conn.execute("DELETE FROM cylinder_sessions WHERE expires <= ?", (now,)).rowcount

    def close(self) -> None:
        """Close this thread's connection (other threads' close when their thread ends)."""
        self._drop()

    def _purge_as_we_go(self, now: float) -> None:
        if self.purge_interval is None:
            return
        with self._purge_lock:
            if self._last_purge is not None and now - self._last_purge < self.purge_interval:
                return
            self._last_purge = now
        self.purge(now)


def _stores_text(stores: Mapping[str, StoreRecord]) -> str:
    return json.dumps(
        {name: [store.data, store.version, store.expires] for name, store in stores.items()},
        separators=(",", ":"),
    )


def _record(row: Row) -> Record | None:
    """The record a row holds; None (missing) for a row that is not in this driver's format."""
    user, created, deadline, expires, text = row
    try:
        decoded = json.loads(text)
        stores = {
            name: StoreRecord(str(data), int(version), None if lapse is None else float(lapse))
            for name, (data, version, lapse) in decoded.items()
        }
    except (TypeError, ValueError, AttributeError):
        return None
    return Record(user, created, deadline, expires, stores)
