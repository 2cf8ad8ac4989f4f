"""Two server processes sharing one session store: waitress (threads) and gunicorn (two sync
worker processes) serve the same Cylinder app on 127.0.0.1, with sessions in PostgreSQL, and
again in Redis. No sticky sessions: a client alternating between them keeps its session and
every write, and two clients on one session, one per server, lose no update.

Each server runs in its own process on a listening socket the test binds and hands over; it is
terminated by the test (killed if it will not stop) and stops itself after ``WATCHDOG`` seconds
should the test never do it.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
import server_support
from server_support import Served as Server
from site_support import write_files
from store_servers import REDIS_URL, PostgresRun

TIMEOUT = 10.0
#: Seconds after which a server stops itself, should the test never stop it.
WATCHDOG = 300
#: Seconds each server has to start: gunicorn and waitress at once take more than 10 on a
#: loaded machine.
STARTUP = 3 * TIMEOUT
ROUNDS = 24

SITE = {
    "webapp1/visit.ex.post.py": """
        import json
        import os


        def increment(data):
            data["n"] = data.get("n", 0) + 1
            return data["n"]


        def main(request, response, session):
            i = int(request.args["i"])
            main_store = session["main"]
            main_store[f"k{i}"] = i
            visits = session["counter"].transact(increment)
            response.data = json.dumps(
                {
                    "server": os.environ["TWO_SERVERS_KIND"],
                    "pid": os.getpid(),
                    "keys": dict(main_store),
                    "visits": visits,
                }
            )
            return response
    """,
    "webapp1/state.ex.get.py": """
        import json


        def main(response, session):
            stores = {name: dict(session[name]) for name in ("main", "counter")}
            response.data = json.dumps(stores)
            return response
    """,
}

APP_MODULE = '''
"""The app both servers load: the site above, sessions in the store the test names."""

import os

from cylinder_runtime import Application
from cylinder_sessions import SessionManager


def make_driver():
    if os.environ["TWO_SERVERS_STORE"] == "postgres":
        from cylinder_sessions.postgres import PostgresDriver

        return PostgresDriver(
            os.environ["TWO_SERVERS_DSN"],
            schema=os.environ["TWO_SERVERS_SCHEMA"],
            table=os.environ["TWO_SERVERS_TABLE"],
        )
    from cylinder_sessions.redis import RedisDriver

    return RedisDriver(os.environ["TWO_SERVERS_URL"], prefix=os.environ["TWO_SERVERS_PREFIX"])


def make_app():
    site_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sites")

    def app_map(request):
        return site_dir, "webapp1"

    app = Application(app_map)  # what cylinder.get_app builds, less its log formatter
    SessionManager(make_driver(), secure=False).install(app)
    return app
'''


@dataclass
class Browser:
    """A client with one cookie jar, sending each request to the server it is told."""

    cookies: dict[str, str] = field(default_factory=dict)

    def send(self, server: Server, method: str, path: str) -> tuple[int, dict[str, Any]]:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
        try:
            headers = {"Content-Length": "0"}
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            conn.request(method, path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                jar: SimpleCookie = SimpleCookie()
                jar.load(header)
                for name, morsel in jar.items():
                    if morsel["max-age"] in ("0",) or not morsel.value:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            assert response.status == 200, (response.status, body, server.log_text()[-3000:])
            return response.status, json.loads(body)
        finally:
            conn.close()


def write_site(root: Path) -> None:
    write_files(root / "sites", SITE)
    (root / "two_servers_app.py").write_text(APP_MODULE)


@contextmanager
def serve(kind: str, root: Path, env: dict[str, str]) -> Iterator[Server]:
    """Run ``root``'s app under ``kind`` (waitress, or gunicorn with 2 workers) until the block
    ends. Both servers start on a machine loaded by the store servers and the other tests: each
    has :data:`STARTUP` seconds to answer ``/state``, which must then be a 200."""
    with server_support.serve(
        kind,
        root,
        app="two_servers_app:make_app()",
        workers=2,
        env={**env, "TWO_SERVERS_KIND": kind},
        stderr=root / f"{kind}.log",
        ready="/state",
        startup=STARTUP,
        watchdog=WATCHDOG,
    ) as server:
        status, body = server.get("/state")
        assert status == 200, (status, body, server.log_text()[-3000:])
        yield server


@pytest.fixture(scope="module", params=["postgres", "redis"])
def store_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment telling the app which store to use: one of its own, for this test."""
    tag = f"two_servers_{os.getpid()}_{time.monotonic_ns()}"
    if request.param == "postgres":
        run: PostgresRun = request.getfixturevalue("postgres_run")
        return {
            "TWO_SERVERS_STORE": "postgres",
            "TWO_SERVERS_DSN": run.dsn,
            "TWO_SERVERS_SCHEMA": run.schema,
            "TWO_SERVERS_TABLE": tag,
        }
    prefix: str = request.getfixturevalue("redis_run")
    return {
        "TWO_SERVERS_STORE": "redis",
        "TWO_SERVERS_URL": REDIS_URL,
        "TWO_SERVERS_PREFIX": f"{prefix}{tag}:",
    }


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, store_env: dict[str, str]
) -> Iterator[list[Server]]:
    """Both servers on one store, shared by this module's tests (each uses its own session)."""
    root = tmp_path_factory.mktemp("two_servers")
    write_site(root)
    with ExitStack() as stack:
        started = [stack.enter_context(serve(k, root, store_env)) for k in SERVERS]
        yield started


SERVERS = ["waitress", "gunicorn"]


def test_a_client_alternating_between_servers_keeps_its_session(servers: list[Server]) -> None:
    browser = Browser()
    pids: dict[str, set[int]] = {kind: set() for kind in SERVERS}
    for i in range(ROUNDS):
        server = servers[i % 2]
        _, answer = browser.send(server, "POST", f"/visit?i={i}")
        assert answer["server"] == server.kind
        pids[server.kind].add(answer["pid"])
        assert answer["keys"] == {f"k{n}": n for n in range(i + 1)}, (i, server.kind)
        assert answer["visits"] == i + 1
        if i == 0:
            assert list(browser.cookies) == ["session"]
            first_cookie = dict(browser.cookies)
    assert browser.cookies == first_cookie  # one session all along
    assert len(pids["waitress"]) == 1
    _, state = browser.send(servers[1], "GET", "/state")
    assert state == {
        "main": {f"k{n}": n for n in range(ROUNDS)},
        "counter": {"n": ROUNDS},
    }


def test_two_clients_on_one_session_one_per_server_lose_no_update(
    servers: list[Server],
) -> None:
    first = Browser()
    first.send(servers[0], "POST", "/visit?i=0")
    second = Browser(dict(first.cookies))
    errors: list[BaseException] = []

    def run(browser: Browser, server: Server, start: int) -> None:
        try:
            for i in range(start, start + ROUNDS):
                browser.send(server, "POST", f"/visit?i={i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(first, servers[0], 1000)),
        threading.Thread(target=run, args=(second, servers[1], 2000)),
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 6 * TIMEOUT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "the clients did not finish in time"
    assert not errors, errors
    _, state = first.send(servers[1], "GET", "/state")
    expected = {"k0": 0}
    expected.update({f"k{i}": i for i in range(1000, 1000 + ROUNDS)})
    expected.update({f"k{i}": i for i in range(2000, 2000 + ROUNDS)})
    assert state["main"] == expected
    assert state["counter"] == {"n": 1 + 2 * ROUNDS}
