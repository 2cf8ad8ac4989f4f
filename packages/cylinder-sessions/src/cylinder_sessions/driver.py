"""The driver interface: what a session store must do, and nothing else.

A driver keeps *records*. The manager owns every decision (ids, timeouts, cookies, JSON, merging
concurrent changes); a driver only stores and compares. What each method must guarantee:

``key``
    Every method is given the record's key: a 64-character hexadecimal SHA-256 of the session
    id, never the id itself. Store it as it is; never try to recover an id from it.

*live* and *missing*
    A record is live while ``now < record.expires``. A record whose ``expires`` has passed is
    *missing*, exactly as if it had never been written: ``load`` returns None for it and
    ``write`` answers ``MISSING``. A driver may delete an expired record whenever it meets one,
    and must delete every one in ``purge``. Times are seconds as floats on the manager's clock
    (which tests replace): use the ``now`` you are given, never your own clock, for liveness.
    (A driver that also keeps a server-side expiry, such as a Redis TTL, sets it from the same
    numbers whenever ``expires`` is set or moved, by ``create``, ``write`` and ``touch``, and
    treats it as a backstop only.)

JSON only
    ``StoreRecord.data`` is JSON text written by the manager. Keep it as text (or as your
    database's JSON type) and give it back unchanged. Never pickle, never ``eval``, never decode
    anything else: the manager reads every store with ``json.loads`` and treats a session whose
    data fails as missing. A record the driver cannot decode in its own format is missing too.
    ``user`` is a plain string.

``load(key, now)``
    One round trip, and a pure read: it changes nothing in the store (Redis: a read command;
    SQL: a ``SELECT``; never a write, a lock or a commit to wait for). The record as it is when
    it is live at ``now``; otherwise None. Loading never creates a record and never moves its
    ``expires``: that is :meth:`touch`'s job, or :meth:`write`'s.

``create(key, record)``
    One round trip. Insert ``record`` only if no live record has this key (an expired one may be
    replaced). True when inserted, False when a live record was there (it is left untouched).

``write(key, writes, now, idle)``
    One round trip, atomic: all of it happens or none of it does, and no other call on the same
    key interleaves with it. ``writes`` maps store names to :class:`StoreWrite`. The write
    succeeds when the record is live and, for every store named, its current version equals
    ``expected`` (0 meaning the store does not exist in the record yet). Then each named store
    gets ``data``, ``expires`` and version ``expected + 1``; stores not named are left exactly as
    they are; the record's ``expires`` moves forward to ``min(deadline, now + idle)`` (never
    back: when it is already later, it stays). Answer ``OK``.
    If the record is missing, change nothing and answer ``MISSING``: a deleted or expired
    session is never brought back by a write. If any version differs, change nothing and answer
    ``CONFLICT`` with the live record as it is now (the manager merges and tries again).

``touch(key, now, idle)``
    One round trip, atomic. If the record is live at ``now``, move its ``expires`` forward to
    ``min(deadline, now + idle)`` (never back), change nothing else, and answer True. If it is
    missing, change nothing and answer False: touching never creates a record nor brings back
    a deleted or expired one.

The idle timeout, and why loads do not extend it
    ``create`` sets a record's ``expires``; after that only ``write`` and ``touch`` move it. The
    manager moves it only when it is *due*: when ``min(deadline, now + idle)`` is more than the
    manager's ``refresh_interval`` past the current ``expires`` (that is, when more than the
    interval has passed since it was last moved). A request that writes moves it in its write;
    one that only reads and finds it due sends one ``touch`` at its end. So a read costs one
    round trip (plus one at most once per interval), and a session ends on the server between
    ``idle - refresh_interval`` and ``idle`` seconds after the last request that used it (or at
    its ``deadline``, whichever is first).

``delete(key)``
    Remove the record if there is one. Idempotent.

``revoke_user(user)``
    Remove every record whose ``user`` equals ``user`` (live or not); return how many.

``purge(now)``
    Remove every record that is not live at ``now``; return how many. Must be cheap when there
    are none (SQL drivers index ``expires``).

``close()``
    Release connections and pools. Calls after ``close`` may fail.

Failures
    When the backing store cannot be reached or answers with an error (connection refused,
    timeout, locked database, read-only file system), raise :class:`StoreUnavailable` with the
    cause chained, after putting the connection back in a usable state: the next call, once the
    store is back, must work. Never return a guess.

Threads and processes
    One driver instance is shared by every thread of a process, and several processes may use
    the same backing store at once; every guarantee above holds across both.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = [
    "Driver",
    "Record",
    "StoreRecord",
    "StoreUnavailable",
    "StoreWrite",
    "WriteResult",
    "Written",
]


class StoreUnavailable(Exception):
    """The backing store cannot be used right now (down, locked, unreachable).

    Drivers raise it for every failure of the store itself, chaining the cause.
    """


@dataclass(frozen=True, slots=True)
class StoreRecord:
    """One named store inside a record.

    :param data: JSON text of an object, exactly as the manager wrote it.
    :param version: 1 after the store's first write, one more after each later write.
    :param expires: when the store's contents lapse (the manager's business), or None.
    """

    data: str
    version: int
    expires: float | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """Everything kept for one session.

    :param user: the user the session belongs to, for ``revoke_user``; None when anonymous.
    :param created: when the session was created.
    :param deadline: the absolute timeout: the record is never live at or after this time.
    :param expires: when the record stops being live; never later than ``deadline``.
    :param stores: the named stores, by name.
    """

    user: str | None
    created: float
    deadline: float
    expires: float
    stores: Mapping[str, StoreRecord] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoreWrite:
    """A compare-and-swap of one named store.

    :param expected: the version the writer read; 0 when the store did not exist.
    :param data: the store's new JSON text (an object).
    :param expires: when the new contents lapse, or None.
    """

    expected: int
    data: str
    expires: float | None = None


class Written(enum.Enum):
    """How a :meth:`Driver.write` ended."""

    OK = "ok"
    CONFLICT = "conflict"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The answer of :meth:`Driver.write`.

    :param outcome: OK, CONFLICT or MISSING.
    :param current: with CONFLICT, the live record as it is now; otherwise None.
    """

    outcome: Written
    current: Record | None = None


def merged_stores(
    record: Record, writes: Mapping[str, StoreWrite]
) -> dict[str, StoreRecord] | None:
    """The stores of ``record`` with ``writes`` applied, each written store's version one more
    than expected; None when any store's version is not the one its write expected (a
    conflict). For drivers that check and merge in Python under their own lock or transaction.
    """
    for name, change in writes.items():
        current = record.stores.get(name)
        if (current.version if current is not None else 0) != change.expected:
            return None
    stores = dict(record.stores)
    for name, change in writes.items():
        stores[name] = StoreRecord(change.data, change.expected + 1, change.expires)
    return stores


@runtime_checkable
class Driver(Protocol):
    """A session store. See the module's docstring for what each method guarantees."""

    def load(self, key: str, now: float) -> Record | None:
        """The live record under ``key``, read without changing anything; None when missing."""
        ...

    def create(self, key: str, record: Record) -> bool:
        """Insert ``record`` unless a live record has ``key``; True when inserted."""
        ...

    def write(
        self, key: str, writes: Mapping[str, StoreWrite], now: float, idle: float
    ) -> WriteResult:
        """Compare-and-swap the named stores of the live record under ``key``, all or none."""
        ...

    def touch(self, key: str, now: float, idle: float) -> bool:
        """Move the live record's expiry forward to ``min(deadline, now + idle)``; False when
        the record is missing (nothing is then changed)."""
        ...

    def delete(self, key: str) -> None:
        """Remove the record under ``key``, if any."""
        ...

    def revoke_user(self, user: str) -> int:
        """Remove every record of ``user``; how many were removed."""
        ...

    def purge(self, now: float) -> int:
        """Remove every record not live at ``now``; how many were removed."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
