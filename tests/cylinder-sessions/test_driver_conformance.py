"""The driver contract (cylinder_sessions.driver), checked against every driver in conftest.DRIVERS.

These call drivers directly; test_conformance.py checks the same drivers under the manager.
"""

from __future__ import annotations

import threading
import time

import pytest

from cylinder_sessions import (
    Driver,
    Record,
    StoreRecord,
    StoreUnavailable,
    StoreWrite,
    Written,
    key_of,
    new_id,
)
from cylinder_sessions.testing import DriverKit

NOW = 1_000_000.0
IDLE = 600.0

#: Every wait in these tests gives up after this many seconds.
TIMEOUT = 10.0


def fresh_key() -> str:
    return key_of(new_id())


def record(*, user: str | None = None, now: float = NOW, **stores: StoreRecord) -> Record:
    return Record(user, now, now + 3600, now + IDLE, stores)


def test_load_of_an_unknown_key_is_none_and_creates_nothing(driver: Driver) -> None:
    key = fresh_key()
    assert driver.load(key, NOW) is None
    assert driver.write(key, {"a": StoreWrite(0, "{}")}, NOW, IDLE).outcome is Written.MISSING
    assert driver.load(key, NOW) is None
    assert driver.create(key, record()) is True  # nothing was there


def test_create_then_load_gives_the_record_back_as_it_was_stored(driver: Driver) -> None:
    key = fresh_key()
    text = '{"name":"Zoë ✓","list":[1,2.5,null,true],"nested":{"a":"\\u0000"}}'
    created = record(user="u1", shop=StoreRecord(text, 3, NOW + 60), forum=StoreRecord("{}", 1))
    assert driver.create(key, created)
    loaded = driver.load(key, NOW + 100)
    assert loaded is not None
    assert loaded.user == "u1"
    assert loaded.created == NOW
    assert loaded.deadline == NOW + 3600
    assert loaded.expires == NOW + IDLE  # a load moves nothing
    assert dict(loaded.stores) == {
        "shop": StoreRecord(text, 3, NOW + 60),
        "forum": StoreRecord("{}", 1, None),
    }


def test_load_is_a_pure_read(driver: Driver) -> None:
    """Loading many times never moves the expiry: the record lapses when it was set to."""
    key = fresh_key()
    assert driver.create(key, record(a=StoreRecord('{"x":1}', 1)))
    for at in range(0, int(IDLE), 50):
        loaded = driver.load(key, NOW + at)
        assert loaded is not None
        assert loaded.expires == NOW + IDLE
        assert loaded.stores["a"] == StoreRecord('{"x":1}', 1)
    assert driver.load(key, NOW + IDLE) is None


def test_touch_moves_the_expiry_forward_only(driver: Driver) -> None:
    key = fresh_key()
    stores = {"a": StoreRecord('{"x":1}', 7, NOW + 30)}
    assert driver.create(key, record(user="u", **stores))
    assert driver.touch(key, NOW + 100, IDLE) is True
    loaded = driver.load(key, NOW + 100)
    assert loaded is not None
    assert loaded.expires == NOW + 100 + IDLE
    assert (loaded.user, loaded.created, loaded.deadline) == ("u", NOW, NOW + 3600)
    assert dict(loaded.stores) == stores  # nothing else changes
    assert driver.touch(key, NOW + 50, IDLE) is True  # an earlier clock: never moved back
    write = {"a": StoreWrite(7, '{"x":2}')}
    assert driver.write(key, write, NOW + 60, IDLE).outcome is Written.OK  # nor by a write
    again = driver.load(key, NOW + 100)
    assert again is not None
    assert again.expires == NOW + 100 + IDLE
    for at in range(600, 3600, 500):  # kept alive by touches until the absolute deadline
        assert driver.touch(key, NOW + at, IDLE) is True
    assert driver.touch(key, NOW + 3500, IDLE) is True
    near_deadline = driver.load(key, NOW + 3500)
    assert near_deadline is not None
    assert near_deadline.expires == NOW + 3600  # never past the absolute deadline
    assert driver.touch(key, NOW + 3600, IDLE) is False
    assert driver.load(key, NOW + 3600) is None


def test_touch_never_creates_or_revives_a_record(driver: Driver) -> None:
    unknown, expired, deleted = fresh_key(), fresh_key(), fresh_key()
    assert driver.touch(unknown, NOW, IDLE) is False
    assert driver.load(unknown, NOW) is None
    assert driver.create(unknown, record())  # nothing was there
    driver.create(expired, record())
    assert driver.touch(expired, NOW + IDLE, IDLE) is False  # expires == now: not live
    assert driver.load(expired, NOW + IDLE) is None
    assert driver.write(expired, {}, NOW + IDLE, IDLE).outcome is Written.MISSING
    driver.create(deleted, record())
    driver.delete(deleted)
    assert driver.touch(deleted, NOW, IDLE) is False
    assert driver.load(deleted, NOW) is None


def test_create_never_overwrites_a_live_record(driver: Driver) -> None:
    key = fresh_key()
    assert driver.create(key, record(a=StoreRecord('{"x":1}', 1)))
    assert driver.create(key, record(a=StoreRecord('{"x":2}', 1))) is False
    loaded = driver.load(key, NOW)
    assert loaded is not None
    assert loaded.stores["a"].data == '{"x":1}'


def test_create_may_replace_an_expired_record(driver: Driver) -> None:
    key = fresh_key()
    assert driver.create(key, record(a=StoreRecord('{"x":1}', 1)))
    later = NOW + IDLE + 1
    assert driver.create(key, record(now=later, a=StoreRecord('{"x":2}', 1)))
    loaded = driver.load(key, later)
    assert loaded is not None
    assert loaded.stores["a"].data == '{"x":2}'


def test_an_expired_record_is_missing(driver: Driver) -> None:
    idle_key, absolute_key = fresh_key(), fresh_key()
    driver.create(idle_key, record())
    driver.create(absolute_key, record())
    assert driver.load(idle_key, NOW + IDLE) is None  # expires == now: not live
    for step in range(1, 7):  # kept alive by use until the absolute deadline
        assert driver.touch(absolute_key, NOW + step * 500, IDLE)
        assert driver.load(absolute_key, NOW + step * 500) is not None
    assert driver.load(absolute_key, NOW + 3600) is None
    write = {"a": StoreWrite(0, "{}")}
    assert driver.write(idle_key, write, NOW + IDLE, IDLE).outcome is Written.MISSING


def test_write_swaps_only_the_named_stores_and_extends_the_expiry(driver: Driver) -> None:
    key = fresh_key()
    driver.create(key, record(a=StoreRecord('{"n":1}', 1), b=StoreRecord('{"m":1}', 4, 5.0)))
    result = driver.write(key, {"a": StoreWrite(1, '{"n":2}', NOW + 30)}, NOW + 10, IDLE)
    assert result.outcome is Written.OK
    assert result.current is None
    new = driver.write(key, {"c": StoreWrite(0, '{"k":[]}')}, NOW + 20, IDLE)
    assert new.outcome is Written.OK
    loaded = driver.load(key, NOW + 20)
    assert loaded is not None
    assert dict(loaded.stores) == {
        "a": StoreRecord('{"n":2}', 2, NOW + 30),
        "b": StoreRecord('{"m":1}', 4, 5.0),
        "c": StoreRecord('{"k":[]}', 1, None),
    }
    assert loaded.expires == NOW + 20 + IDLE


def test_write_with_a_stale_version_changes_nothing_and_returns_the_record(
    driver: Driver,
) -> None:
    key = fresh_key()
    driver.create(key, record(a=StoreRecord('{"n":1}', 1), b=StoreRecord('{"m":1}', 1)))
    assert driver.write(key, {"a": StoreWrite(1, '{"n":2}')}, NOW, IDLE).outcome is Written.OK
    # `b` is current, `a` is stale: neither is written
    stale = {"a": StoreWrite(1, '{"n":99}'), "b": StoreWrite(1, '{"m":99}')}
    result = driver.write(key, stale, NOW, IDLE)
    assert result.outcome is Written.CONFLICT
    assert result.current is not None
    assert result.current.stores["a"] == StoreRecord('{"n":2}', 2)
    assert result.current.stores["b"] == StoreRecord('{"m":1}', 1)
    exists = driver.write(key, {"b": StoreWrite(0, '{"m":0}')}, NOW, IDLE)  # b exists already
    assert exists.outcome is Written.CONFLICT
    absent = driver.write(key, {"z": StoreWrite(3, "{}")}, NOW, IDLE)  # z does not exist
    assert absent.outcome is Written.CONFLICT
    loaded = driver.load(key, NOW)
    assert loaded is not None
    assert dict(loaded.stores) == {
        "a": StoreRecord('{"n":2}', 2),
        "b": StoreRecord('{"m":1}', 1),
    }


def test_a_deleted_record_is_never_written_back(driver: Driver) -> None:
    key = fresh_key()
    driver.create(key, record(a=StoreRecord("{}", 1)))
    driver.delete(key)
    driver.delete(key)  # idempotent
    assert driver.write(key, {"a": StoreWrite(1, '{"x":1}')}, NOW, IDLE).outcome is Written.MISSING
    assert driver.load(key, NOW) is None


def test_revoke_user_removes_that_users_records_only(driver: Driver) -> None:
    alice = [fresh_key() for _ in range(3)]
    bob = fresh_key()
    anonymous = fresh_key()
    for key in alice:
        driver.create(key, record(user="alice"))
    driver.create(bob, record(user="bob"))
    driver.create(anonymous, record())
    assert driver.revoke_user("alice") == 3
    assert driver.revoke_user("alice") == 0
    assert all(driver.load(key, NOW) is None for key in alice)
    assert driver.load(bob, NOW) is not None
    assert driver.load(anonymous, NOW) is not None


def test_purge_removes_what_is_expired_only(driver: Driver) -> None:
    old = [fresh_key() for _ in range(5)]
    for key in old:
        driver.create(key, record(now=NOW - 10_000))
    live = fresh_key()
    driver.create(live, record())
    assert driver.purge(NOW) == 5
    assert driver.purge(NOW) == 0
    assert driver.load(live, NOW) is not None
    for key in old:  # gone, so a create with the old times would be accepted again
        assert driver.create(key, record(now=NOW - 10_000))


def test_outage_raises_store_unavailable_and_the_next_call_works(driver_kit: DriverKit) -> None:
    driver = driver_kit.driver
    key = fresh_key()
    assert driver.create(key, record(a=StoreRecord("{}", 1)))
    with driver_kit.outage():
        with pytest.raises(StoreUnavailable):
            driver.load(key, NOW)
        with pytest.raises(StoreUnavailable):
            driver.write(key, {"a": StoreWrite(1, '{"x":1}')}, NOW, IDLE)
        with pytest.raises(StoreUnavailable):
            driver.create(fresh_key(), record())
        with pytest.raises(StoreUnavailable):
            driver.touch(key, NOW, IDLE)
        with pytest.raises(StoreUnavailable):
            driver.delete(key)
        with pytest.raises(StoreUnavailable):
            driver.revoke_user("u")
        with pytest.raises(StoreUnavailable):
            driver.purge(NOW)
    loaded = driver.load(key, NOW)
    assert loaded is not None
    assert loaded.stores["a"] == StoreRecord("{}", 1)  # nothing was written during the outage
    assert driver.write(key, {"a": StoreWrite(1, '{"x":1}')}, NOW, IDLE).outcome is Written.OK


def test_a_record_not_in_the_drivers_format_is_missing_or_unchanged_text(
    driver_kit: DriverKit,
) -> None:
    """A planted pickle is never decoded as anything but text: missing, or handed back raw."""
    payload = b"\x80\x04\x95cos\nsystem\n(S'touch /tmp/pwned'\ntR."
    key = fresh_key()
    driver_kit.plant(key, payload)
    loaded = driver_kit.driver.load(key, NOW)
    if loaded is not None:
        assert all(isinstance(store.data, str) for store in loaded.stores.values())


def _hammer(threads: int, rounds: int, work: object) -> None:
    assert callable(work)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            for _ in range(rounds):
                work(index)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 6 * TIMEOUT
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    assert not any(worker.is_alive() for worker in workers), "the threads did not finish in time"
    assert not errors, errors


def test_compare_and_swap_is_exact_across_threads(driver: Driver) -> None:
    """8 threads x 50 increments of one store, each a read then a CAS retried on conflict."""
    key = fresh_key()
    driver.create(key, record(counter=StoreRecord('{"n":0}', 1)))
    conflicts = [0]

    def increment(_: int) -> None:
        current = driver.load(key, NOW)
        for _attempt in range(10_000):
            assert current is not None
            store = current.stores["counter"]
            n = int(store.data.split(":")[1].rstrip("}"))
            change = {"counter": StoreWrite(store.version, f'{{"n":{n + 1}}}')}
            result = driver.write(key, change, NOW, IDLE)
            if result.outcome is Written.OK:
                return
            assert result.outcome is Written.CONFLICT
            conflicts[0] += 1
            current = result.current
        raise AssertionError("no progress")

    _hammer(8, 50, increment)
    loaded = driver.load(key, NOW)
    assert loaded is not None
    assert loaded.stores["counter"] == StoreRecord('{"n":400}', 401)
