"""Per-request cost of sessions: cylinder-sessions beside Flask-Session, on the same backend, in
the same run.

For each backend (memory, SQLite, PostgreSQL, Redis) three requests, each carrying the cookie of
an existing session: *untouched* (the handler never uses the session), *read* (it reads one
value) and *written* (it writes one value, a new one every request). Cylinder: a
``SessionManager`` on the backend's driver; Flask: Flask-Session on the same backend (memory:
cachelib's ``SimpleCache``; SQLite and PostgreSQL: its sqlalchemy backend; Redis: its redis
backend). Both at their defaults, except that Flask's ``SESSION_REFRESH_EACH_REQUEST`` is off,
so that neither writes a session it did not change (with it on, the default, Flask-Session
writes every session back on every request).

Store calls per request are counted too: Cylinder's driver calls (each one round trip, as
``tests/cylinder-sessions/test_store_drivers.py`` checks on the wire), SQLAlchemy's statements
plus commits, Redis commands, cachelib calls.

The servers: ``CYLINDER_BENCH_POSTGRES_DSN`` (default: the tests' ``host=127.0.0.1 port=5432
dbname=test user=postgres``) and ``CYLINDER_BENCH_REDIS_URL`` (``redis://127.0.0.1:6379/0``).
The run works in a schema and under a key prefix of its own, dropped at the end. A backend
whose server does not answer is left out, and the report says so.

    hatch run bench:sessions [--runs 5] [--seconds 0.4] [--backends memory,sqlite,postgres,redis]

``--backends`` also takes ``postgres-sync``: the PostgreSQL driver with ``synchronous_commit``
on, as Flask-Session's connections have it (the driver's default is off).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from _apps import source_line
from _bench import Meter, fetch, machine_line, make_environ, measure_in_turns

import cylinder
from cylinder_sessions import Driver, MemoryDriver, Record, SessionManager, SQLiteDriver
from cylinder_sessions.driver import StoreWrite, WriteResult

POSTGRES_DSN = os.environ.get(
    "CYLINDER_BENCH_POSTGRES_DSN", "host=127.0.0.1 port=5432 dbname=test user=postgres"
)
REDIS_URL = os.environ.get("CYLINDER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
#: ``postgres-sync`` is the PostgreSQL driver with ``synchronous_commit=True``: every commit waits
#: for its WAL flush, as Flask-Session's do (the driver's default is off).
BACKENDS = ["memory", "sqlite", "postgres", "postgres-sync", "redis"]
SCENARIOS = {"untouched": "/untouched", "read": "/read", "written": "/write"}

SITE = {
    "webapp1/untouched.ex.get.py": """
def main(response, session):
    response.data = b"untouched"
    return response
""",
    "webapp1/read.ex.get.py": """
def main(response, session):
    response.data = session["main"].get("user", "nobody").encode()
    return response
""",
    "webapp1/login.ex.get.py": """
def main(response, session):
    session["main"]["user"] = "alice"
    response.data = b"welcome"
    return response
""",
    "webapp1/write.ex.get.py": """
import time


def main(response, session):
    session["main"]["n"] = time.time_ns()
    response.data = b"written"
    return response
""",
}


class Counter:
    """How many store calls the requests made, in all and by kind."""

    def __init__(self) -> None:
        self.calls = 0
        self.kinds: dict[str, int] = {}

    def count(self, kind: str) -> None:
        self.calls += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1


class CountingDriver:
    """A driver that passes every call on and counts it."""

    def __init__(self, inner: Driver, counter: Counter) -> None:
        self.inner = inner
        self.counter = counter

    def load(self, key: str, now: float) -> Record | None:
        self.counter.count("load")
        return self.inner.load(key, now)

    def create(self, key: str, record: Record) -> bool:
        self.counter.count("create")
        return self.inner.create(key, record)

    def write(
        self, key: str, writes: Mapping[str, StoreWrite], now: float, idle: float
    ) -> WriteResult:
        self.counter.count("write")
        return self.inner.write(key, writes, now, idle)

    def touch(self, key: str, now: float, idle: float) -> bool:
        self.counter.count("touch")
        return self.inner.touch(key, now, idle)

    def delete(self, key: str) -> None:
        self.counter.count("delete")
        self.inner.delete(key)

    def revoke_user(self, user: str) -> int:
        self.counter.count("revoke_user")
        return self.inner.revoke_user(user)

    def purge(self, now: float) -> int:
        self.counter.count("purge")
        return self.inner.purge(now)

    def close(self) -> None:
        self.inner.close()


@dataclass
class Peer:
    """One app on one backend: what it is, the app, and its store-call counter."""

    name: str
    app: Any
    counter: Counter
    cookie: str = ""
    environs: dict[str, dict[str, Any]] = field(default_factory=dict)


# Cylinder


def cylinder_peer(backend: str, driver: Driver, folder: str) -> Peer:
    site_dir = os.path.join(folder, f"cylinder-{backend}")
    for name, source in SITE.items():
        path = os.path.join(site_dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as file:
            file.write(source)

    def app_map(request: Any) -> tuple[str, str]:
        return site_dir, "webapp1"

    counter = Counter()
    app = cylinder.get_app(app_map, log_level=logging.WARNING)
    SessionManager(CountingDriver(driver, counter), secure=False).install(app)
    return Peer(f"cylinder-sessions/{backend}", app, counter)


# Flask-Session


def flask_peer(backend: str, stack: ExitStack, folder: str, run: str) -> Peer:
    import flask
    from flask_session import Session

    counter = Counter()
    app = flask.Flask(f"bench_{backend.replace('-', '_')}")
    app.config.update(SESSION_REFRESH_EACH_REQUEST=False, SESSION_KEY_PREFIX=f"{run}:flask:")
    if backend == "memory":
        from cachelib import SimpleCache

        class CountingCache(SimpleCache):
            def get(self, key: str) -> Any:
                counter.count("get")
                return super().get(key)

            def set(self, key: str, value: Any, timeout: int | None = None) -> bool:
                counter.count("set")
                return bool(super().set(key, value, timeout))

        app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=CountingCache())
    elif backend == "redis":
        import redis

        class CountingRedis(redis.Redis):
            def execute_command(self, *args: Any, **options: Any) -> Any:
                counter.count(str(args[0]).upper())
                return super().execute_command(*args, **options)

        client = CountingRedis.from_url(REDIS_URL)
        stack.callback(client.close)
        app.config.update(SESSION_TYPE="redis", SESSION_REDIS=client)
    else:
        from flask_sqlalchemy import SQLAlchemy
        from sqlalchemy import event

        if backend == "sqlite":
            uri = f"sqlite:///{os.path.join(folder, 'flask-session.sqlite')}"
            options: dict[str, Any] = {}
        else:
            import psycopg

            uri = "postgresql+psycopg://"
            options = {"creator": lambda: psycopg.connect(POSTGRES_DSN)}
        app.config.update(SQLALCHEMY_DATABASE_URI=uri, SQLALCHEMY_ENGINE_OPTIONS=options)
        db = SQLAlchemy(app)
        app.config.update(
            SESSION_TYPE="sqlalchemy",
            SESSION_SQLALCHEMY=db,
            SESSION_SQLALCHEMY_SCHEMA=run if backend.startswith("postgres") else None,
        )
        with app.app_context():
            engine = db.engine

            def count_statement(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
                counter.count(statement.split(None, 1)[0].upper())

            def count_commit(conn: Any) -> None:
                counter.count("COMMIT")

            event.listen(engine, "before_cursor_execute", count_statement)
            event.listen(engine, "commit", count_commit)
            stack.callback(engine.dispose)
    Session(app)

    @app.get("/untouched")
    def untouched() -> bytes:
        return b"untouched"

    @app.get("/read")
    def read() -> bytes:
        return str(flask.session.get("user", "nobody")).encode()

    @app.get("/write")
    def write() -> bytes:
        flask.session["n"] = time.time_ns()
        return b"written"

    @app.get("/login")
    def login() -> bytes:
        flask.session["user"] = "alice"
        return b"welcome"

    return Peer(f"flask-session/{backend}", app, counter)


# backends


@contextmanager
def postgres_schema(run: str) -> Iterator[None]:
    import psycopg

    with psycopg.connect(POSTGRES_DSN, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE SCHEMA "{run}"')
        try:
            yield
        finally:
            conn.execute(f'DROP SCHEMA "{run}" CASCADE')


@contextmanager
def redis_prefix(run: str) -> Iterator[None]:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    client.ping()
    try:
        yield
    finally:
        doomed = list(client.scan_iter(match=f"{run}:*", count=1000))
        for start in range(0, len(doomed), 500):
            client.delete(*doomed[start : start + 500])
        client.close()


def cylinder_driver(backend: str, stack: ExitStack, folder: str, run: str) -> Driver:
    driver: Driver
    if backend == "memory":
        driver = MemoryDriver()
    elif backend == "sqlite":
        driver = SQLiteDriver(os.path.join(folder, "cylinder-sessions.sqlite"))
    elif backend.startswith("postgres"):
        from cylinder_sessions.postgres import PostgresDriver

        sync = backend == "postgres-sync"
        table = "cylinder_sessions_sync" if sync else "cylinder_sessions"
        driver = PostgresDriver(POSTGRES_DSN, schema=run, table=table, synchronous_commit=sync)
    else:
        from cylinder_sessions.redis import RedisDriver

        driver = RedisDriver(REDIS_URL, prefix=f"{run}:cylinder:")
    stack.callback(driver.close)
    return driver


def cookie_of(reply: Any) -> str:
    for name, value in reply.headers:
        if name.lower() == "set-cookie" and value.startswith("session="):
            return value.split(";", 1)[0]
    raise SystemExit(f"no session cookie in {reply.headers!r}")


def prepare(peer: Peer) -> list[str]:
    """Start a session holding ``user`` = ``alice``, build each scenario's environ with its
    cookie, and check every answer; returns what went wrong."""
    reply = fetch(peer.app, make_environ("/login"))
    peer.cookie = cookie_of(reply)
    problems = []
    for scenario, path in SCENARIOS.items():
        environ = make_environ(path)
        environ["HTTP_COOKIE"] = peer.cookie
        peer.environs[scenario] = environ
        reply = fetch(peer.app, environ)
        if not reply.status.startswith("200"):
            problems.append(f"{peer.name} {scenario}: status {reply.status}")
        expected = {"untouched": b"untouched", "read": b"alice", "written": b"written"}
        if reply.body != expected[scenario]:
            problems.append(f"{peer.name} {scenario}: body {reply.body!r}")
    return problems


def calls_per_request(peer: Peer, scenario: str, count: int = 50) -> dict[str, float]:
    """Store calls per request by kind (``{"load": 1.0}``), over ``count`` requests."""
    environ = peer.environs[scenario]
    before = dict(peer.counter.kinds)
    for _ in range(count):
        fetch(peer.app, environ)
    return {
        kind: (n - before.get(kind, 0)) / count
        for kind, n in sorted(peer.counter.kinds.items())
        if n != before.get(kind, 0)
    }


def calls_text(calls: dict[str, float]) -> str:
    if not calls:
        return "0"
    return " + ".join(f"{n:g} {kind}" for kind, n in calls.items())


def versions_line() -> str:
    from importlib.metadata import PackageNotFoundError, version

    names = ["flask", "flask-session", "flask-sqlalchemy", "sqlalchemy", "psycopg", "redis"]
    found = []
    for name in names:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.4)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--json", help="also write the figures to this file (- for stdout)")
    args = parser.parse_args(argv)
    backends = [name for name in args.backends.split(",") if name]
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backend(s) {sorted(unknown)}; choose from {BACKENDS}")
    run = f"bench_{uuid.uuid4().hex[:10]}"
    print(machine_line())
    print(source_line())
    print(versions_line())
    print(f"load average at start: {os.getloadavg()[0]:.2f} (other work shares this machine)")
    results: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    with ExitStack() as stack, tempfile.TemporaryDirectory() as folder:
        peers: dict[str, tuple[Peer, Peer]] = {}
        servers: set[str] = set()
        for backend in backends:
            if backend.startswith("postgres") and "postgres" in skipped:
                skipped[backend] = skipped["postgres"]
                continue
            try:
                if backend.startswith("postgres") and "postgres" not in servers:
                    stack.enter_context(postgres_schema(run))
                    servers.add("postgres")
                elif backend == "redis":
                    stack.enter_context(redis_prefix(run))
            except Exception as exc:  # the server is not there: say so, measure the rest
                skipped[backend] = f"{type(exc).__name__}: {exc}".strip()
                continue
            driver = cylinder_driver(backend, stack, folder, run)
            peers[backend] = (
                cylinder_peer(backend, driver, folder),
                flask_peer(backend, stack, folder, run),
            )
        problems = []
        for ours, theirs in peers.values():
            problems += prepare(ours)
            problems += prepare(theirs)
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 1
        meters: dict[tuple[str, str, str], Meter] = {}
        for backend, pair in peers.items():
            for peer in pair:
                for scenario in SCENARIOS:
                    meters[(backend, scenario, peer.name)] = Meter(
                        peer.app, peer.environs[scenario], args.seconds
                    )
        measure_in_turns(meters.values(), args.runs)
        for backend, (ours, theirs) in peers.items():
            for scenario in SCENARIOS:
                mine = meters[(backend, scenario, ours.name)].timing()
                other = meters[(backend, scenario, theirs.name)].timing()
                results[f"{backend}/{scenario}"] = {
                    "cylinder_us": 1e6 / mine.median,
                    "flask_session_us": 1e6 / other.median,
                    "ratio": other.median and mine.median / other.median,
                    "cylinder_spread": mine.spread,
                    "flask_session_spread": other.spread,
                    "cylinder_calls": calls_per_request(ours, scenario),
                    "flask_session_calls": calls_per_request(theirs, scenario),
                }
    print()
    print(
        f"{'backend/request':<24} {'cylinder µs':>12} {'flask-session µs':>17} "
        f"{'speed ratio':>12}  {'store calls: cylinder':<24} flask-session"
    )
    for name, row in results.items():
        print(
            f"{name:<24} {row['cylinder_us']:>12.1f} {row['flask_session_us']:>17.1f} "
            f"{row['ratio']:>11.2f}x  {calls_text(row['cylinder_calls']):<24} "
            f"{calls_text(row['flask_session_calls'])}"
        )
    print("speed ratio: cylinder-sessions requests/s over Flask-Session's (above 1: faster)")
    spread = (
        max(max(row["cylinder_spread"], row["flask_session_spread"]) for row in results.values())
        if results
        else 0.0
    )
    print(f"widest spread between runs: {spread:.0%}")
    for backend, why in skipped.items():
        print(f"{backend}: not measured, the server did not answer ({why})")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    if args.json:
        text = json.dumps({"results": results, "skipped": skipped}, indent=2)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w", encoding="utf-8") as file:
                file.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
