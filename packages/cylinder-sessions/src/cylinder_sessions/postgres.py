"""The PostgreSQL driver: one table, one statement per call, shared by every process and host.

Needs the ``postgres`` extra (``pip install cylinder-sessions[postgres]``): psycopg 3 and
psycopg_pool.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from .driver import Record, StoreRecord, StoreUnavailable, StoreWrite, WriteResult, Written

__all__ = ["PostgresDriver"]

T = TypeVar("T")
Row = tuple[Any, ...]

_COLUMNS = 'key, "user", created, deadline, expires, stores'

# The table: one row per session; `stores` maps each store's name to {"d": its JSON text,
# "v": its version, "e": repr() of its expiry or null}. The text is kept as a JSON string, so it
# comes back exactly as the manager wrote it (jsonb would reorder and respace an object).
_DDL = (
    "CREATE TABLE IF NOT EXISTS {table} ("
    ' key text PRIMARY KEY, "user" text, created double precision NOT NULL,'
    " deadline double precision NOT NULL, expires double precision NOT NULL,"
    " stores jsonb NOT NULL)",
    "CREATE INDEX IF NOT EXISTS {expires_index} ON {table} (expires)",
    'CREATE INDEX IF NOT EXISTS {user_index} ON {table} ("user") WHERE "user" IS NOT NULL',
)

# A plain SELECT: in autocommit mode it takes no row lock and commits nothing, so it never
# waits for a WAL flush, whatever synchronous_commit says.
_LOAD = (
    'SELECT "user", created, deadline, expires, stores FROM {table}'
    " WHERE key = %(key)s AND expires > %(now)s"
)

_TOUCH = (
    "UPDATE {table} SET expires = GREATEST(expires, LEAST(deadline, %(until)s))"
    " WHERE key = %(key)s AND expires > %(now)s"
)

_CREATE = (
    'INSERT INTO {table} AS t (key, "user", created, deadline, expires, stores)'
    " VALUES (%(key)s, %(user)s, %(created)s, %(deadline)s, %(expires)s, %(stores)s)"
    ' ON CONFLICT (key) DO UPDATE SET "user" = EXCLUDED."user", created = EXCLUDED.created,'
    " deadline = EXCLUDED.deadline, expires = EXCLUDED.expires, stores = EXCLUDED.stores"
    " WHERE t.expires <= EXCLUDED.created"
)

# The compare-and-swap, in one statement. `live` locks the live row (under READ COMMITTED a
# row changed meanwhile is re-read at its newest version); `swapped` writes only when every named
# store's version is the expected one; the outer SELECT answers: no row (missing), or the row as
# it was locked with `swapped` 1 (ok) or 0 (conflict).
_WRITE = (
    "WITH live AS ("
    '  SELECT key, "user", created, deadline, expires, stores FROM {table}'
    "  WHERE key = %(key)s AND expires > %(now)s FOR UPDATE"
    "), changes AS ("
    "  SELECT w.key AS name, (w.value->>'x')::bigint AS expected, w.value AS change"
    "  FROM jsonb_each(%(writes)s::jsonb) AS w"
    "), swapped AS ("
    "  UPDATE {table} AS t SET expires = GREATEST(live.expires, LEAST(live.deadline, %(until)s)),"
    "   stores = live.stores || (SELECT jsonb_object_agg(c.name, jsonb_build_object("
    "     'd', c.change->'d', 'v', c.expected + 1, 'e', c.change->'e')) FROM changes AS c)"
    "  FROM live WHERE t.key = live.key AND NOT EXISTS ("
    "   SELECT 1 FROM changes AS c"
    "   WHERE COALESCE((live.stores->c.name->>'v')::bigint, 0) <> c.expected)"
    "  RETURNING 1"
    ")"
    ' SELECT (SELECT count(*) FROM swapped), "user", created, deadline, expires, stores'
    " FROM live"
)

_DELETE = "DELETE FROM {table} WHERE key = %(key)s"
_REVOKE = 'DELETE FROM {table} WHERE "user" = %(user)s'
_PURGE = "DELETE FROM {table} WHERE expires <= %(now)s"


class PostgresDriver:
    """Sessions in a PostgreSQL table, through a psycopg_pool connection pool.

    Every call is one statement in autocommit mode, so one round trip; the compare-and-swap of
    :meth:`write` locks the row for the length of that statement only. The table (and the
    schema, when one is named) is created on first use. Expired rows are removed by
    :meth:`purge` (run it from a scheduled job), and also as requests go when ``purge_interval``
    is set.

    The pool is opened on first use in each process (never carried across ``fork``, so a
    preloading server's workers each open their own). A connection the server has closed while
    it sat in the pool (a restart, a failover) is noticed before use without a round trip and
    replaced, so the first request after the store comes back is served. When the store cannot
    be reached within ``timeout`` seconds, or a statement fails, the call raises
    :class:`~cylinder_sessions.driver.StoreUnavailable`.

    :param conninfo: a libpq connection string or URL, e.g.
        ``"host=db.internal dbname=app user=web"`` or ``"postgresql://web@db.internal/app"``.
    :param table: the table's name.
    :param schema: the schema holding the table (created if missing); None means the
        connection's ``search_path``.
    :param min_size: connections the pool keeps open.
    :param max_size: connections the pool may open at most.
    :param timeout: seconds a call waits for a connection, and for a statement, before it
        raises :class:`~cylinder_sessions.driver.StoreUnavailable`.
    :param purge_interval: when set, a create or write also purges expired rows if the last
        purge in this process was at least this many seconds ago (one extra statement then).
    :param synchronous_commit: PostgreSQL's setting of that name for the driver's connections.
        Off by default: a statement returns without waiting for its WAL record to reach the
        disk (a tenth of the time on an ordinary disk), so a crash of the database server can
        lose the last fraction of a second of session changes; it never corrupts them. Turn
        it on to wait for every commit to be durable.
    """

    def __init__(
        self,
        conninfo: str,
        *,
        table: str = "cylinder_sessions",
        schema: str | None = None,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 5.0,
        purge_interval: float | None = None,
        synchronous_commit: bool = False,
    ) -> None:
        if not table:
            raise ValueError("`table` must be a non-empty name")
        if schema is not None and not schema:
            raise ValueError("`schema` must be a non-empty name or None")
        if not 0 <= min_size <= max_size or max_size < 1:
            raise ValueError(
                f"`min_size` ({min_size!r}) and `max_size` ({max_size!r}) must satisfy "
                "0 <= min_size <= max_size and max_size >= 1"
            )
        if timeout <= 0:
            raise ValueError(f"`timeout` must be more than 0 seconds, not {timeout!r}")
        if purge_interval is not None and purge_interval <= 0:
            raise ValueError(
                f"`purge_interval` must be more than 0 seconds, not {purge_interval!r}"
            )
        self.conninfo = conninfo
        self.table = table
        self.schema = schema
        self.min_size = min_size
        self.max_size = max_size
        self.timeout = timeout
        self.purge_interval = purge_interval
        self.synchronous_commit = synchronous_commit
        name = sql.Identifier(table) if schema is None else sql.Identifier(schema, table)
        self._name = name
        self._statements = {
            key: sql.SQL(text).format(table=name)
            for key, text in {
                "load": _LOAD,
                "touch": _TOUCH,
                "create": _CREATE,
                "write": _WRITE,
                "delete": _DELETE,
                "revoke": _REVOKE,
                "purge": _PURGE,
            }.items()
        }
        self._lock = threading.Lock()
        self._pool: tuple[int, ConnectionPool] | None = None
        self._ready = False
        self._down = False
        self._last_purge: float | None = None

    def __repr__(self) -> str:
        where = self.table if self.schema is None else f"{self.schema}.{self.table}"
        return f"PostgresDriver(table={where!r})"

    # connections

    def _connect_kwargs(self) -> dict[str, Any]:
        return {
            "autocommit": True,
            "connect_timeout": max(1, round(self.timeout)),
            "options": (
                f"-c statement_timeout={int(self.timeout * 1000)} "
                f"-c synchronous_commit={'on' if self.synchronous_commit else 'off'}"
            ),
        }

    def _get_pool(self) -> ConnectionPool:
        """This process's pool, opened on first use (a pool inherited across fork is left)."""
        held = self._pool
        if held is not None and held[0] == os.getpid():
            return held[1]
        with self._lock:
            held = self._pool
            if held is not None and held[0] == os.getpid():
                return held[1]
            pool: ConnectionPool = ConnectionPool(
                self.conninfo,
                min_size=self.min_size,
                max_size=self.max_size,
                timeout=self.timeout,
                reconnect_timeout=self.timeout,
                kwargs=self._connect_kwargs(),
                name=f"cylinder-sessions {self!r}",
                open=True,
            )
            self._pool = (os.getpid(), pool)
            return pool

    def _run(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Call ``work`` with a live connection; any failure of the store becomes
        :class:`StoreUnavailable`.

        Once a connection has been lost or none could be had, the store counts as *down*: each
        call then opens a connection of its own, so it fails at once while the server refuses,
        and the first one that succeeds replaces the pool (whose reconnection attempts back off
        ever longer) with a fresh one, so the store is used again as soon as it is back.
        """
        try:
            if self._down:
                return self._run_alone(work)
            pool = self._get_pool()
            # Each connection found closed by the server is dropped (the pool replaces it); at
            # most every connection in the pool, plus the one that finally works.
            for _ in range(self.max_size + 1):
                conn = pool.getconn()
                try:
                    if _closed_by_server(conn):
                        conn.close()
                        continue
                    if not self._ready:
                        self._create_table(conn)
                    return work(conn)
                except psycopg.Error:
                    if conn.closed or conn.broken:
                        self._down = True
                    raise
                finally:
                    pool.putconn(conn)
            raise StoreUnavailable(f"the session table {self._where()}: no live connection")
        except PoolTimeout as exc:
            self._down = True
            raise StoreUnavailable(f"the session table {self._where()}: {exc}") from exc
        except psycopg.Error as exc:
            raise StoreUnavailable(f"the session table {self._where()}: {exc}") from exc

    def _run_alone(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """While the store is down: ``work`` on a connection of its own; when that works, a
        fresh pool for the calls that follow."""
        with psycopg.connect(self.conninfo, **self._connect_kwargs()) as conn:
            if not self._ready:
                self._create_table(conn)
            result = work(conn)
        with self._lock:
            held, self._pool = self._pool, None
            self._down = False
        if held is not None and held[0] == os.getpid():
            held[1].close(timeout=0)
        return result

    def _where(self) -> str:
        return f"`{self.table}`" if self.schema is None else f"`{self.schema}.{self.table}`"

    def _create_table(self, conn: psycopg.Connection[Any]) -> None:
        """Create the schema, table and indexes once, serialized across processes."""
        name = self.table if self.schema is None else f"{self.schema}.{self.table}"
        digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
        lock_key = int.from_bytes(digest, "big", signed=True)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key,))
            if self.schema is not None:
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
                )
            for statement in _DDL:
                conn.execute(
                    sql.SQL(statement).format(
                        table=self._name,
                        expires_index=sql.Identifier(f"{self.table}_expires"),
                        user_index=sql.Identifier(f"{self.table}_user"),
                    )
                )
        self._ready = True

    def _execute(
        self, name: str, params: Mapping[str, Any]
    ) -> Callable[[psycopg.Connection[Any]], psycopg.Cursor[Row]]:
        statement = self._statements[name]

        def work(conn: psycopg.Connection[Any]) -> psycopg.Cursor[Row]:
            return conn.execute(statement, params)

        return work

    # the driver interface

    def load(self, key: str, now: float) -> Record | None:
        execute = self._execute("load", {"key": key, "now": now})
        row = self._run(lambda conn: execute(conn).fetchone())
        return None if row is None else _record(row)

    def create(self, key: str, record: Record) -> bool:
        params = {
            "key": key,
            "user": record.user,
            "created": record.created,
            "deadline": record.deadline,
            "expires": record.expires,
            "stores": Jsonb(
                {
                    name: {"d": store.data, "v": store.version, "e": _when(store.expires)}
                    for name, store in record.stores.items()
                }
            ),
        }
        execute = self._execute("create", params)
        inserted = self._run(lambda conn: execute(conn).rowcount == 1)
        self._purge_as_we_go(record.created)
        return inserted

    def write(
        self, key: str, writes: Mapping[str, StoreWrite], now: float, idle: float
    ) -> WriteResult:
        changes = {
            name: {"x": change.expected, "d": change.data, "e": _when(change.expires)}
            for name, change in writes.items()
        }
        params = {"key": key, "now": now, "until": now + idle, "writes": Jsonb(changes)}
        execute = self._execute("write", params)
        row = self._run(lambda conn: execute(conn).fetchone())
        if row is None:
            return WriteResult(Written.MISSING)
        if row[0] == 0:
            current = _record(row[1:])
            if current is None:  # not in this driver's format: as good as missing
                return WriteResult(Written.MISSING)
            return WriteResult(Written.CONFLICT, current)
        self._purge_as_we_go(now)
        return WriteResult(Written.OK)

    def touch(self, key: str, now: float, idle: float) -> bool:
        execute = self._execute("touch", {"key": key, "now": now, "until": now + idle})
        return self._run(lambda conn: execute(conn).rowcount == 1)

    def delete(self, key: str) -> None:
        execute = self._execute("delete", {"key": key})
        self._run(execute)

    def revoke_user(self, user: str) -> int:
        execute = self._execute("revoke", {"user": user})
        return self._run(lambda conn: execute(conn).rowcount)

    def purge(self, now: float) -> int:
        execute = self._execute("purge", {"now": now})
        return self._run(lambda conn: execute(conn).rowcount)

    def close(self) -> None:
        """Close this process's pool and its connections."""
        with self._lock:
            held, self._pool = self._pool, None
        if held is not None and held[0] == os.getpid():
            held[1].close()

    def _purge_as_we_go(self, now: float) -> None:
        if self.purge_interval is None:
            return
        with self._lock:
            if self._last_purge is not None and now - self._last_purge < self.purge_interval:
                return
            self._last_purge = now
        self.purge(now)


def _closed_by_server(conn: psycopg.Connection[Any]) -> bool:
    """Whether an idle connection has something to read: the server closed it (or sent the
    notice that it is about to). Costs one ``select`` system call, no round trip."""
    if conn.closed:
        return True
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return True
    return bool(readable)


def _when(expires: float | None) -> str | None:
    """A store's expiry as JSON can hold it exactly (``repr``; JSON has no infinity)."""
    return None if expires is None else repr(expires)


def _record(row: Row) -> Record | None:
    """The record a row holds; None (missing) for a row that is not in this driver's format."""
    user, created, deadline, expires, stores = row
    try:
        if isinstance(stores, str | bytes):
            stores = json.loads(stores)
        decoded = {
            str(name): StoreRecord(
                _text(store["d"]),
                int(store["v"]),
                None if store.get("e") is None else float(store["e"]),
            )
            for name, store in stores.items()
        }
        return Record(
            None if user is None else str(user),
            float(created),
            float(deadline),
            float(expires),
            decoded,
        )
    except (TypeError, ValueError, AttributeError, KeyError):
        return None


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("store data must be JSON text")
    return value
