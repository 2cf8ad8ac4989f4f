"""The in-memory driver: records in a dict behind a lock, for tests and single-process demos."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping

from .driver import (
    Record,
    StoreUnavailable,
    StoreWrite,
    WriteResult,
    Written,
    merged_stores,
)

__all__ = ["MemoryDriver"]


class MemoryDriver:
    """Sessions kept in this process's memory; lost when it exits, not shared with others.

    Records are held as the manager gave them (JSON text), so a test can inspect or plant
    them through :attr:`records`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: key -> record. Read or change it only while holding no request in flight.
        self.records: dict[str, Record] = {}
        self._available = True

    def set_available(self, available: bool) -> None:
        """Make every call fail with :class:`StoreUnavailable` (False) or work again (True):
        the in-memory stand-in for a database that went away."""
        self._available = available

    def _check(self) -> None:
        if not self._available:
            raise StoreUnavailable("the in-memory session store was made unavailable")

    def _live(self, key: str, now: float) -> Record | None:
        record = self.records.get(key)
        if record is None:
            return None
        if record.expires <= now:
            del self.records[key]
            return None
        return record

    def load(self, key: str, now: float) -> Record | None:
        with self._lock:
            self._check()
            record = self.records.get(key)  # a pure read: an expired record is left to purge
            return record if record is not None and now < record.expires else None

    def create(self, key: str, record: Record) -> bool:
        with self._lock:
            self._check()
            if self._live(key, record.created) is not None:
                return False
            self.records[key] = record
            return True

    def write(
        self, key: str, writes: Mapping[str, StoreWrite], now: float, idle: float
    ) -> WriteResult:
        with self._lock:
            self._check()
            record = self._live(key, now)
            if record is None:
                return WriteResult(Written.MISSING)
            stores = merged_stores(record, writes)
            if stores is None:
                return WriteResult(Written.CONFLICT, record)
            self.records[key] = dataclasses.replace(
                record, stores=stores, expires=_later(record, now, idle)
            )
            return WriteResult(Written.OK)

    def touch(self, key: str, now: float, idle: float) -> bool:
        with self._lock:
            self._check()
            record = self._live(key, now)
            if record is None:
                return False
            self.records[key] = dataclasses.replace(record, expires=_later(record, now, idle))
            return True

    def delete(self, key: str) -> None:
        with self._lock:
            self._check()
            self.records.pop(key, None)

    def revoke_user(self, user: str) -> int:
        with self._lock:
            self._check()
            doomed = [key for key, record in self.records.items() if record.user == user]
            for key in doomed:
                del self.records[key]
            return len(doomed)

    def purge(self, now: float) -> int:
        with self._lock:
            self._check()
            doomed = [key for key, record in self.records.items() if record.expires <= now]
            for key in doomed:
                del self.records[key]
            return len(doomed)

    def close(self) -> None:
        with self._lock:
            self.records.clear()


def _later(record: Record, now: float, idle: float) -> float:
    """The record's expiry moved forward to ``min(deadline, now + idle)``, never back."""
    return max(record.expires, min(record.deadline, now + idle))
