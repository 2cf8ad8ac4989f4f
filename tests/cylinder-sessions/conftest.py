"""The drivers every conformance test runs against, and how to break each one's store.

A driver is added here once: a ``<name>_kit`` fixture returning a
:class:`cylinder_sessions.testing.DriverKit`, and its
name in :data:`DRIVERS`. The ``driver`` fixture is parametrized over :data:`DRIVERS`, so every
test that asks for ``driver`` (or ``driver_kit``) runs against each of them.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import textwrap
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

# The kits of the drivers on real servers (PostgreSQL, Redis): see store_servers.py.
from store_servers import (  # noqa: F401
    postgres_kit,
    postgres_run,
    postgres_store,
    redis_kit,
    redis_run,
    redis_store,
)

from cylinder_runtime import Application
from cylinder_sessions import (
    Driver,
    MemoryDriver,
    Record,
    SessionManager,
    SQLiteDriver,
    StoreRecord,
    StoreWrite,
    WriteResult,
)
from cylinder_sessions.testing import DriverKit

#: Every driver the conformance suite runs against, by the name of its ``<name>_kit`` fixture.
DRIVERS = ["memory", "sqlite", "postgres", "redis"]


@pytest.fixture
def memory_kit() -> Iterator[DriverKit]:
    driver = MemoryDriver()

    @contextmanager
    def outage() -> Iterator[None]:
        driver.set_available(False)
        try:
            yield
        finally:
            driver.set_available(True)

    def plant(key: str, payload: bytes) -> None:
        stores = {"planted": StoreRecord(payload.decode("latin-1"), 1)}
        driver.records[key] = Record(None, 0.0, math.inf, math.inf, stores)

    yield DriverKit(driver, outage, plant)
    driver.close()


@pytest.fixture
def sqlite_kit(tmp_path: Path) -> Iterator[DriverKit]:
    path = tmp_path / "sessions.sqlite"
    driver = SQLiteDriver(path)

    @contextmanager
    def outage() -> Iterator[None]:
        """Another process holds the database exclusively: every call, reads included, times
        out on the lock. (In WAL mode a writer alone does not block readers, so the holder
        takes SQLite's exclusive locking mode, which does, until it closes.)

        The wait is cut to 0.2 s meanwhile (this thread reconnects with it), so the test is quick.
        """
        holder = sqlite3.connect(path, isolation_level=None)
        driver.busy_timeout = 0.2
        driver.close()
        try:
            holder.execute("PRAGMA locking_mode=EXCLUSIVE")
            holder.execute("BEGIN EXCLUSIVE")
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
            driver.busy_timeout = 5.0
            driver.close()

    def plant(key: str, payload: bytes) -> None:
        driver.purge(0.0)  # creates the file and the table
        with sqlite3.connect(path) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO cylinder_sessions VALUES (?, NULL, 0, 1e300, 1e300, ?)",
                (key, payload),
            )
        conn.close()

    yield DriverKit(driver, outage, plant)
    driver.close()


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> Driver:
    """Each driver in turn, on a fresh store."""
    kit: DriverKit = request.getfixturevalue(f"{request.param}_kit")
    return kit.driver


@pytest.fixture
def driver_kit(request: pytest.FixtureRequest, driver: Driver) -> DriverKit:
    """The kit of the driver this test runs against."""
    name = request.node.callspec.params["driver"]
    kit: DriverKit = request.getfixturevalue(f"{name}_kit")
    assert kit.driver is driver
    return kit


class Clock:
    """A clock the test moves by hand, starting at a fixed time."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


class Counting:
    """A driver that passes every call to a real one and counts them (and the keys it saw)."""

    def __init__(self, inner: Driver) -> None:
        self.inner = inner
        self.calls: list[str] = []
        self.keys: list[str] = []

    def _count(self, name: str, key: str | None = None) -> None:
        self.calls.append(name)
        if key is not None:
            self.keys.append(key)

    def load(self, key: str, now: float) -> Record | None:
        self._count("load", key)
        return self.inner.load(key, now)

    def create(self, key: str, record: Record) -> bool:
        self._count("create", key)
        return self.inner.create(key, record)

    def write(
        self, key: str, writes: Mapping[str, StoreWrite], now: float, idle: float
    ) -> WriteResult:
        self._count("write", key)
        return self.inner.write(key, writes, now, idle)

    def touch(self, key: str, now: float, idle: float) -> bool:
        self._count("touch", key)
        return self.inner.touch(key, now, idle)

    def delete(self, key: str) -> None:
        self._count("delete", key)
        self.inner.delete(key)

    def revoke_user(self, user: str) -> int:
        self._count("revoke_user")
        return self.inner.revoke_user(user)

    def purge(self, now: float) -> int:
        self._count("purge")
        return self.inner.purge(now)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def counting(driver: Driver) -> Counting:
    """The driver under test, with its calls counted."""
    return Counting(driver)


class Records(logging.Handler):
    """Keeps every log record it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, level: int = logging.DEBUG) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= level]


@pytest.fixture
def records() -> Records:
    return Records()


MakeApp = Callable[..., Application]


@pytest.fixture
def make_app(tmp_path: Path, records: Records) -> Iterator[MakeApp]:
    """``make_app(manager, files)``: a Cylinder app on a site built from ``files``
    (route file name -> source), with ``manager`` installed; closed after the test."""
    apps: list[Application] = []
    counter = [0]

    def make(manager: SessionManager, files: Mapping[str, str]) -> Application:
        counter[0] += 1
        site_dir = tmp_path / f"sites{counter[0]}"
        for name, source in files.items():
            path = site_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source), encoding="utf-8")

        def app_map() -> tuple[str, str]:
            return str(site_dir), "site"

        app = Application(app_map, log_handler=records)
        app.wait_for_logs = True
        manager.install(app)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()
