"""The real PostgreSQL and Redis servers the session tests use, and the kits of their drivers.

Addresses come from the environment:

- ``CYLINDER_TEST_POSTGRES_DSN``, default ``host=127.0.0.1 port=5432 dbname=test user=postgres``
- ``CYLINDER_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379/0``

Runs are kept apart: each run works in a PostgreSQL schema of its own (a table per test) and
under a Redis key prefix of its own (a prefix per test), all dropped when the run ends. Where a
server does not answer, its tests skip with a message saying how to start one; with ``CI`` set
in the environment, that skip is a failure instead.

Each kit's driver reaches its server through a :class:`Gate`, a relay on 127.0.0.1 that the
test can shut: the outage is a real refused connection, and the store is back when it opens.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import selectors
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from cylinder_sessions.testing import DriverKit

POSTGRES_DSN = os.environ.get(
    "CYLINDER_TEST_POSTGRES_DSN", "host=127.0.0.1 port=5432 dbname=test user=postgres"
)
REDIS_URL = os.environ.get("CYLINDER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

HOW_TO_START = {
    "postgres": (
        "start one with `docker run --rm -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust "
        "-e POSTGRES_DB=test postgres:16`, or `apt-get install postgresql` and "
        "`createdb test`, or point CYLINDER_TEST_POSTGRES_DSN at one"
    ),
    "redis": (
        "start one with `docker run --rm -d -p 6379:6379 redis:7`, or "
        "`apt-get install redis-server`, or point CYLINDER_TEST_REDIS_URL at one"
    ),
}

_counter = itertools.count(1)


def unavailable(server: str, why: str) -> None:
    """Skip the test (fail it when ``CI`` is set): ``server`` cannot be used."""
    message = f"{why}; {HOW_TO_START[server]}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set, so this is a failure, not a skip)")
    pytest.skip(message)


# a relay that can be shut


class Gate:
    """A TCP relay on 127.0.0.1 to ``upstream``, which a test shuts and opens again.

    While shut, nothing listens on its port (connections are refused) and every relayed
    connection has been closed. One thread relays every connection; it ends with :meth:`stop`.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._pairs: dict[socket.socket, socket.socket] = {}
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._stopped = False
        #: Round trips relayed: times the client spoke after the server had answered.
        self.round_trips = 0
        self._clients: set[socket.socket] = set()
        self._last_from_client: dict[socket.socket, bool] = {}
        probe = socket.create_server(("127.0.0.1", 0))
        self.port: int = probe.getsockname()[1]
        probe.close()
        self.open()
        self._thread = threading.Thread(target=self._relay, name="store-gate", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def open(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(self.address)
            listener.listen(64)
            listener.setblocking(False)
            self._listener = listener
            self._selector.register(listener, selectors.EVENT_READ, "accept")
        self._wake()

    def shut(self) -> None:
        """Close the listener and every relayed connection, at once."""
        with self._lock:
            if self._listener is not None:
                self._selector.unregister(self._listener)
                self._listener.close()
                self._listener = None
            for one in list(self._pairs):
                self._close(one)
        self._wake()

    def stop(self) -> None:
        self.shut()
        self._stopped = True
        self._wake()
        self._thread.join(5)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _close(self, one: socket.socket) -> None:
        other = self._pairs.pop(one, None)
        for sock in (one, other):
            if sock is None:
                continue
            self._pairs.pop(sock, None)
            self._clients.discard(sock)
            self._last_from_client.pop(sock, None)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(sock)
            sock.close()

    def _relay(self) -> None:
        while not self._stopped:
            for key, _ in self._selector.select(timeout=1.0):
                with self._lock:
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if key.data is None:
                        with contextlib.suppress(OSError):
                            sock.recv(4096)
                    elif key.data == "accept":
                        if sock is self._listener:
                            self._accept(sock)
                    elif sock in self._pairs:
                        self._forward(sock)

    def _accept(self, listener: socket.socket) -> None:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        for sock in (client, server):
            sock.setblocking(True)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._selector.register(sock, selectors.EVENT_READ, "relay")
        self._pairs[client] = server
        self._pairs[server] = client
        self._clients.add(client)

    def _forward(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
            if data:
                from_client = sock in self._clients
                client = sock if from_client else self._pairs[sock]
                if from_client and not self._last_from_client.get(client, False):
                    self.round_trips += 1
                self._last_from_client[client] = from_client
                self._pairs[sock].sendall(data)
                return
        except OSError:
            pass
        self._close(sock)


# PostgreSQL


@dataclass(frozen=True)
class PostgresRun:
    """This run's schema on the test server."""

    dsn: str
    host: str
    port: int
    schema: str

    def dsn_through(self, address: tuple[str, int]) -> str:
        """The DSN with host and port replaced by ``address``."""
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        params: dict[str, Any] = conninfo_to_dict(self.dsn)
        params.update(host=address[0], port=str(address[1]), hostaddr=None)
        return make_conninfo(**{k: v for k, v in params.items() if v is not None})


@pytest.fixture(scope="session")
def postgres_run() -> Iterator[PostgresRun]:
    """A schema for this run on the PostgreSQL server, dropped at the end."""
    try:
        import psycopg
    except ImportError as exc:
        unavailable("postgres", f"psycopg is not installed ({exc})")
    try:
        conn = psycopg.connect(POSTGRES_DSN, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        unavailable(
            "postgres",
            f"PostgreSQL does not answer at `{POSTGRES_DSN}` (CYLINDER_TEST_POSTGRES_DSN): "
            f"{str(exc).strip()}",
        )
    schema = f"cylinder_test_{uuid.uuid4().hex[:12]}"
    with conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        host = conn.info.host if conn.info.host.startswith("/") else conn.info.hostaddr
        run = PostgresRun(POSTGRES_DSN, host, conn.info.port, schema)
        try:
            yield run
        finally:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@dataclass(frozen=True)
class Store:
    """A kit, the gate its driver talks through, and where its data lives.

    :param where: PostgreSQL: the schema-qualified table; Redis: the key prefix.
    """

    kit: DriverKit
    gate: Gate
    where: str


@pytest.fixture
def postgres_kit(postgres_store: Store) -> DriverKit:
    return postgres_store.kit


@pytest.fixture
def redis_kit(redis_store: Store) -> DriverKit:
    return redis_store.kit


@pytest.fixture
def postgres_store(postgres_run: PostgresRun) -> Iterator[Store]:
    """A PostgreSQL driver on a table of its own, through a gate."""
    import psycopg

    from cylinder_sessions.postgres import PostgresDriver

    if postgres_run.host.startswith("/"):
        pytest.skip("the PostgreSQL test server is reached by a Unix socket, which no gate relays")
    gate = Gate((postgres_run.host, postgres_run.port))
    table = f"sessions_{next(_counter)}"
    driver = PostgresDriver(
        postgres_run.dsn_through(gate.address),
        schema=postgres_run.schema,
        table=table,
        max_size=8,
        timeout=1.0,
    )

    @contextmanager
    def outage() -> Iterator[None]:
        gate.shut()
        try:
            yield
        finally:
            gate.open()

    def plant(key: str, payload: bytes) -> None:
        driver.purge(0.0)  # creates the table
        with psycopg.connect(postgres_run.dsn, autocommit=True) as conn:
            conn.execute(
                f'INSERT INTO "{postgres_run.schema}"."{table}" VALUES '
                "(%s, NULL, 0, 1e300, 1e300, to_jsonb(encode(%s::bytea, 'escape')))",
                (key, payload),
            )

    try:
        yield Store(DriverKit(driver, outage, plant), gate, f'"{postgres_run.schema}"."{table}"')
    finally:
        driver.close()
        gate.stop()


# Redis


@pytest.fixture(scope="session")
def redis_run() -> Iterator[str]:
    """A key prefix for this run on the Redis server; its keys are deleted at the end."""
    try:
        import redis
    except ImportError as exc:
        unavailable("redis", f"redis-py is not installed ({exc})")
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=3, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        unavailable(
            "redis", f"Redis does not answer at `{REDIS_URL}` (CYLINDER_TEST_REDIS_URL): {exc}"
        )
    prefix = f"cylinder-test:{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        doomed = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(doomed), 500):
            client.delete(*doomed[start : start + 500])
        client.close()


def redis_address() -> tuple[str, int]:
    parts = urlsplit(REDIS_URL)
    return parts.hostname or "127.0.0.1", parts.port or 6379


def redis_url_through(address: tuple[str, int]) -> str:
    parts = urlsplit(REDIS_URL)
    auth = parts.netloc.rpartition("@")[0]
    netloc = f"{auth + '@' if auth else ''}{address[0]}:{address[1]}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
def redis_store(redis_run: str) -> Iterator[Store]:
    """A Redis driver under a key prefix of its own, through a gate."""
    import redis

    from cylinder_sessions.redis import RedisDriver

    gate = Gate(redis_address())
    prefix = f"{redis_run}{next(_counter)}:"
    driver = RedisDriver(redis_url_through(gate.address), prefix=prefix, timeout=1.0)

    @contextmanager
    def outage() -> Iterator[None]:
        gate.shut()
        try:
            yield
        finally:
            gate.open()

    def plant(key: str, payload: bytes) -> None:
        with redis.Redis.from_url(REDIS_URL) as client:
            record = f"{prefix}r:{key}"
            client.hset(
                record,
                mapping={
                    "created": "0",
                    "deadline": "1e300",
                    "expires": "1e300",
                    "d:planted": payload,
                    "v:planted": "1",
                    "e:planted": "",
                },
            )
            client.pexpire(record, 60_000)

    try:
        yield Store(DriverKit(driver, outage, plant), gate, prefix)
    finally:
        driver.close()
        gate.stop()
