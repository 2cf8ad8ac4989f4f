"""The drivers every conformance test runs against, and how to break each one's store.

A driver is added here once: a ``<name>_kit`` fixture returning a
:class:`cylinder_sessions.testing.DriverKit`, and its
name in :data:`DRIVERS`. The ``driver`` fixture is parametrized over :data:`DRIVERS`, so every
test that asks for ``driver`` (or ``driver_kit``) runs against each of them.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
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

from cylinder_sessions import Driver, MemoryDriver, Record, SQLiteDriver, StoreRecord
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
    driver = SQLiteDriver(path, busy_timeout=0.2)

    @contextmanager
    def outage() -> Iterator[None]:
        """Another process's writer holds the database: every call times out on the lock."""
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()

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
