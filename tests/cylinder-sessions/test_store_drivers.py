"""What the PostgreSQL and Redis drivers promise beyond the driver contract, on real servers:
one round trip per call (and per request, through a Cylinder app), loads that write nothing, a
restart survived without a failed request, a TTL on every Redis key that follows the idle
expiry, cleanup as requests go, and the test servers' own skip-or-fail rule."""

from __future__ import annotations

from typing import Any

import pytest
from store_servers import HOW_TO_START, Store, unavailable

from cylinder_sessions import (
    Record,
    SessionManager,
    StoreRecord,
    StoreWrite,
    Written,
    key_of,
    new_id,
)

NOW = 1_000_000.0
IDLE = 600.0
STORES = ["postgres_store", "redis_store"]


def fresh_key() -> str:
    return key_of(new_id())


def record(*, user: str | None = None, now: float = NOW, **stores: StoreRecord) -> Record:
    return Record(user, now, now + 3600, now + IDLE, stores)


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> Store:
    value: Store = request.getfixturevalue(request.param)
    return value


def test_each_call_is_one_round_trip(store: Store) -> None:
    """Counted on the wire: the client speaks once per call, once the driver is warm (table
    created, scripts loaded, statements prepared)."""
    driver = store.kit.driver
    key = fresh_key()
    assert driver.create(key, record(counter=StoreRecord('{"n":0}', 1)))
    for n in range(1, 31):  # warm up: past psycopg's prepare threshold on every connection
        assert driver.load(key, NOW) is not None
        change = {"counter": StoreWrite(n, f'{{"n":{n}}}')}
        assert driver.write(key, change, NOW, IDLE).outcome is Written.OK
        assert driver.create(fresh_key(), record())
        assert driver.touch(key, NOW + n, IDLE)
    before = store.gate.round_trips
    assert driver.load(key, NOW) is not None
    assert store.gate.round_trips == before + 1
    assert driver.write(key, {"counter": StoreWrite(31, "{}")}, NOW, IDLE).outcome is Written.OK
    assert store.gate.round_trips == before + 2
    conflict = driver.write(key, {"counter": StoreWrite(1, "{}")}, NOW, IDLE)
    assert conflict.outcome is Written.CONFLICT
    assert conflict.current is not None
    assert store.gate.round_trips == before + 3
    assert driver.create(fresh_key(), record())
    assert store.gate.round_trips == before + 4
    assert driver.load(fresh_key(), NOW) is None
    assert store.gate.round_trips == before + 5
    assert driver.touch(key, NOW + 100, IDLE) is True
    assert store.gate.round_trips == before + 6
    assert driver.touch(fresh_key(), NOW, IDLE) is False
    assert store.gate.round_trips == before + 7


SITE = {
    "site/get.ex.get.py": """
def main(response, session):
    response.data = str(session["main"].get("a"))
    return response
""",
    "site/set.ex.post.py": """
def main(request, response, session):
    session["main"]["a"] = request.form["a"]
    return response
""",
    "site/untouched.ex.get.py": """
def main(response, session):
    return response
""",
}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def test_requests_cost_the_round_trips_the_issue_allows(store: Store, make_app: Any) -> None:
    """Counted on the wire, through a Cylinder app: an untouched session 0, a read 1 (2 when its
    expiry is due to move, at most once per refresh interval), a write 2 (load, then the write,
    which moves the expiry too)."""
    clock = Clock()
    manager = SessionManager(store.kit.driver, clock=clock, idle_timeout=600, secure=False)
    client = make_app(manager, SITE).test_client()
    assert client.post("/set", data={"a": "1"}).status_code == 200
    for n in range(30):  # warm up every statement and script (prepared, loaded)
        clock.now += 61
        assert client.get("/get").text == "1"
        assert client.post("/set", data={"a": str(n)}).status_code == 200
        clock.now += 61
        assert client.post("/set", data={"a": "1"}).status_code == 200

    def trips(method: str, path: str, **data: str) -> int:
        before = store.gate.round_trips
        response = client.open(path, method=method, data=data or None)
        assert response.status_code == 200, response.text
        return store.gate.round_trips - before

    # Each pooled connection prepares a statement on its sixth use (one more round trip, once):
    # read until ten reads in a row cost one round trip each, every connection then being warm.
    in_a_row = 0
    for _ in range(200):
        in_a_row = in_a_row + 1 if trips("GET", "/get") == 1 else 0
        if in_a_row == 10:
            break
    assert in_a_row == 10, "reads never settled at one round trip each"
    assert trips("GET", "/untouched") == 0
    assert trips("GET", "/get") == 1
    clock.now += 30
    assert trips("GET", "/get") == 1  # 30 s since the expiry moved: not due
    clock.now += 31
    assert trips("GET", "/get") == 2  # due: the load, then one touch
    assert trips("GET", "/get") == 1  # moved just now
    clock.now += 61
    assert trips("POST", "/set", a="2") == 2  # due, moved by the write itself
    assert trips("GET", "/get") == 1


def test_a_load_writes_nothing(store: Store) -> None:
    """On the server itself: PostgreSQL's row keeps its version (an UPDATE would make a new
    one), Redis's key keeps its TTL running down (a write would have set it again)."""
    import time

    driver = store.kit.driver
    key = fresh_key()
    assert driver.create(key, record(a=StoreRecord('{"x":1}', 1)))
    before = _row_version(store, key)
    for at in (1, 100, 500):
        loaded = driver.load(key, NOW + at)
        assert loaded is not None
        assert loaded.expires == NOW + IDLE
    time.sleep(0.05)
    after = _row_version(store, key)
    if store.where.startswith('"'):  # PostgreSQL: (xmin, ctid)
        assert after == before
    else:  # Redis: the TTL went down, never up
        assert 0 < after < before
    assert driver.touch(key, NOW + 100, IDLE)
    touched = _row_version(store, key)
    if store.where.startswith('"'):
        assert touched != before  # a touch is a write
    else:
        assert touched > after


def _row_version(store: Store, key: str) -> Any:
    if store.where.startswith('"'):
        import psycopg
        from store_servers import POSTGRES_DSN

        with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
            return conn.execute(
                f"SELECT xmin::text, ctid::text FROM {store.where} WHERE key = %s", (key,)
            ).fetchone()
    import redis
    from store_servers import REDIS_URL

    with redis.Redis.from_url(REDIS_URL) as client:
        return client.pttl(f"{store.where}r:{key}")


def test_a_restart_fails_no_request(store: Store) -> None:
    """Every connection cut while idle and the server back at once (as after a restart): the
    next call finds its connection dead before using it and is served on a new one."""
    driver = store.kit.driver
    key = fresh_key()
    assert driver.create(key, record(a=StoreRecord("{}", 1)))
    for _ in range(3):
        store.gate.shut()
        store.gate.open()
        loaded = driver.load(key, NOW)
        assert loaded is not None
        assert driver.write(key, {"a": StoreWrite(loaded.stores["a"].version, "{}")}, NOW, IDLE)


def test_every_redis_key_has_a_ttl(redis_store: Store) -> None:
    import redis
    from store_servers import REDIS_URL

    driver = redis_store.kit.driver
    keys = [fresh_key() for _ in range(3)]
    driver.create(keys[0], record(user="alice", a=StoreRecord("{}", 1)))
    driver.create(keys[1], record(a=StoreRecord("{}", 1)))
    driver.create(keys[2], Record("bob", NOW, float("inf"), float("inf")))  # never expires
    driver.touch(keys[0], NOW + 10, IDLE)
    driver.write(keys[1], {"b": StoreWrite(0, "{}")}, NOW + 20, IDLE)
    with redis.Redis.from_url(REDIS_URL) as client:
        names = sorted(client.scan_iter(match=f"{redis_store.where}*"))
        assert len(names) == 6  # 3 records, the expiry index, 2 users' sets
        ttls = {name: client.pttl(name) for name in names}
    assert all(ttl > 0 for ttl in ttls.values()), ttls
    record_ttl = ttls[f"{redis_store.where}r:{keys[0]}".encode()]
    assert IDLE * 1000 < record_ttl <= (IDLE + 1) * 1000 + 50  # the expiry, plus a second
    assert max(ttls.values()) <= 400 * 86400 * 1000  # the cap, for the one that never expires


def test_a_redis_touch_extends_the_ttl_with_the_expiry(redis_store: Store) -> None:
    import redis
    from store_servers import REDIS_URL

    driver = redis_store.kit.driver
    key = fresh_key()
    driver.create(key, Record(None, NOW, NOW + 3600, NOW + 5, {"a": StoreRecord("{}", 1)}))
    name = f"{redis_store.where}r:{key}"
    with redis.Redis.from_url(REDIS_URL) as client:
        assert 0 < client.pttl(name) <= 6000  # 5 s of expiry and the 1 s grace
        assert driver.load(key, NOW + 1) is not None
        assert client.pttl(name) <= 6000  # a load does not extend it
        assert driver.touch(key, NOW + 1, IDLE)
        assert IDLE * 1000 < client.pttl(name) <= (IDLE + 1) * 1000  # moved with the expiry
        assert driver.touch(key, NOW + 4000, IDLE) is False  # past the deadline: dropped
        assert client.exists(name) == 0


def test_redis_create_drops_index_entries_of_vanished_records(redis_store: Store) -> None:
    """A record whose TTL ran out leaves its entry in the expiry index; creates remove such
    entries as they go, so the index does not grow when purge is never run."""
    import redis
    from store_servers import REDIS_URL

    driver = redis_store.kit.driver
    gone = [fresh_key() for _ in range(5)]
    for key in gone:
        driver.create(key, record(now=NOW - 10_000))
    index = f"{redis_store.where}expires"
    with redis.Redis.from_url(REDIS_URL) as client:
        client.delete(*(f"{redis_store.where}r:{key}" for key in gone))  # as their TTL would
        assert client.zcard(index) == 5
        driver.create(fresh_key(), record())
        assert client.zcard(index) == 1


def test_postgres_purges_as_requests_go_when_asked(postgres_store: Store) -> None:
    import psycopg
    from store_servers import POSTGRES_DSN

    from cylinder_sessions.postgres import PostgresDriver

    first = postgres_store.kit.driver
    assert isinstance(first, PostgresDriver)
    old = [fresh_key() for _ in range(4)]
    for key in old:
        first.create(key, record(now=NOW - 10_000))
    table = postgres_store.where
    driver = PostgresDriver(
        POSTGRES_DSN, schema=first.schema, table=first.table, purge_interval=60.0
    )
    try:
        with psycopg.connect(POSTGRES_DSN) as conn:
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (4,)
            driver.create(fresh_key(), record())  # purges: none this process did yet
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (1,)
            first.create(fresh_key(), record(now=NOW - 10_000))
            driver.create(fresh_key(), record(now=NOW + 30))  # 30 s after: not yet
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (3,)
            key = fresh_key()
            driver.create(key, record(now=NOW + 30))
            driver.write(key, {"a": StoreWrite(0, "{}")}, NOW + 61, IDLE)  # 61 s: purge again
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (3,)
    finally:
        driver.close()


def test_bad_settings_are_refused_with_the_parameter_named() -> None:
    pytest.importorskip("psycopg_pool")
    pytest.importorskip("redis")
    from cylinder_sessions.postgres import PostgresDriver
    from cylinder_sessions.redis import RedisDriver

    with pytest.raises(ValueError, match="`timeout` must be more than 0 seconds, not 0"):
        PostgresDriver("dbname=test", timeout=0)
    with pytest.raises(ValueError, match="`min_size` \\(5\\) and `max_size` \\(2\\)"):
        PostgresDriver("dbname=test", min_size=5, max_size=2)
    with pytest.raises(ValueError, match="`purge_interval` must be more than 0"):
        PostgresDriver("dbname=test", purge_interval=-1)
    with pytest.raises(ValueError, match="`prefix` must not be empty"):
        RedisDriver(prefix="")
    with pytest.raises(ValueError, match="`timeout` must be more than 0 seconds, not -1"):
        RedisDriver(timeout=-1)


@pytest.mark.parametrize("server", ["postgres", "redis"])
def test_a_server_that_does_not_answer_skips_or_fails_under_ci(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"nothing at 127\.0\.0\.1:1") as skipped:
        unavailable(server, "nothing at 127.0.0.1:1")
    assert HOW_TO_START[server] in str(skipped.value)
    assert "docker run" in str(skipped.value)
    assert "apt-get install" in str(skipped.value)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set, so this is a failure"):
        unavailable(server, "nothing at 127.0.0.1:1")
