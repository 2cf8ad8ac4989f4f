"""Issue 8, on real servers: the example site under waitress (threads) and gunicorn (2 sync
worker processes), driven by a pool of keep-alive clients.

- Load: thousands of requests across handlers, hooks, error handlers, static files and
  redirects; every answer is checked for its status, body and headers, and the only 5xx are
  the ones the site asks for (handlers, hooks and error handlers that raise, a 501).
- Edits under load: handler files rewritten (atomic rename), added and removed while requests
  flow; every answer comes from a version that was on disk while the request was in flight,
  never from a half-loaded module, and every gunicorn worker serves the new version.
- Faults: each failure is answered, logged to the server's stderr with the request id the
  client sent, and the next request is served. A log handler that blocks forever makes the
  queue drop and count records while requests keep completing; one that raises loses only its
  own record.

Each server runs the example site copied into ``tmp_path`` (plus the files below) in its own
process, on a listening socket the test binds to 127.0.0.1 on a free port and hands over;
it is terminated by the test (killed if it will not stop) and stops itself after a while if
the test never does. The long variants are marked ``soak`` (``hatch run soak:run``).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import server_support
from server_support import Served, memory_of

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads server memory from /proc"
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "site"
TIMEOUT = 10.0
#: Seconds after which a server stops itself, should the test never stop it.
WATCHDOG = 900
SERVERS = ["waitress", "gunicorn"]

#: Files added to the example site's ``webapp1`` folder: a redirect, a page with its own hooks,
#: a page reporting its process, and a subtree where every step of the pipeline fails.
EXTRA_FILES = {
    "go.ex.get.py": """
        def main(response, abort):
            abort(302, "/hello?name=redirected")
            return response
    """,
    "hooked.eh.get.py": """
        def main(request, response, g):
            g.n = request.args.get("n", "")
            response.headers["X-Early"] = "ran"
            return response
    """,
    "hooked.ex.get.py": """
        def main(response, g):
            response.data = f"hooked {g.n}"
            return response
    """,
    "hooked.lh.get.py": """
        def main(response, g):
            response.headers["X-Late"] = g.n
            return response
    """,
    "pid.ex.get.py": """
        import json
        import os


        def main(response, app_stats):
            response.data = json.dumps({"pid": os.getpid(), **app_stats()})
            return response
    """,
    "faults.500.py": """
        def main(response, e):
            failed = e.original_exception
            response.data = f"faults 500: {type(failed).__name__}: {failed}"
            return response
    """,
    "faults/handler.ex.get.py": """
        def main(response):
            raise RuntimeError("handler fault")
    """,
    "faults/hook.eh.get.py": """
        def main(response):
            raise RuntimeError("early hook fault")
    """,
    "faults/hook.ex.get.py": """
        def main(response):
            response.data = "the handler behind a failing hook must not run"
            return response
    """,
    "faults/late.ex.get.py": """
        def main(response):
            response.data = "replaced by the 500 handler"
            return response
    """,
    "faults/late.lh.get.py": """
        def main(response):
            raise RuntimeError("late hook fault")
    """,
    "faults/conflict.ex.get.py": """
        def main(response, abort):
            abort(409)
            return response
    """,
    "faults/conflict.409.py": """
        def main(response):
            raise LookupError("error handler fault")
    """,
    "worse.500.py": """
        def main(response):
            raise KeyError("500 handler fault")
    """,
    "worse/handler.ex.get.py": """
        def main(response):
            raise ValueError("handler fault under a failing 500 handler")
    """,
}

#: The application module both servers load: the example's ``app_map``, plus a header that
#: makes it raise, an extra that reports the log queue, and the log handler the test asks for.
APP_MODULE = '''
"""The example site as the reliability tests serve it."""

import logging
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cylinder
import cylinder_main


class BlockingForever(logging.Handler):
    """Never returns: waits on an event that nobody sets."""

    def __init__(self):
        super().__init__()
        self.never = threading.Event()

    def emit(self, record):
        self.never.wait()


class RaisingOnExplode(logging.StreamHandler):
    """Raises for records that mention ``explode``, writes the others to stderr."""

    def emit(self, record):
        if "explode" in record.getMessage():
            raise RuntimeError("log handler fault")
        super().emit(record)


def make_app():
    mode = os.environ.get("RELIABILITY_LOG", "stderr")
    handler = {"stderr": None, "block": BlockingForever(), "raise": RaisingOnExplode()}[mode]
    apps = []

    def stats():
        return {"dropped": apps[0].dropped_log_records}

    def app_map(request):
        if request.headers.get("X-Fault") == "app-map":
            raise RuntimeError("app_map fault")
        site_dir, site_name, extras = cylinder_main.app_map(request)
        return site_dir, site_name, {**extras, "app_stats": stats}

    app = cylinder.get_app(
        app_map,
        log_handler=handler,
        log_queue_length=int(os.environ.get("RELIABILITY_QUEUE", "1000")),
    )
    apps.append(app)
    return app
'''


def write_site(root: Path) -> Path:
    """Copy the example site into ``root`` and add the files above; returns ``root``."""
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
    folder = root / "my_webapps" / "webapp1"
    for name, source in EXTRA_FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip("\n"))
    (root / "reliability_app.py").write_text(APP_MODULE)
    return root


@dataclass(frozen=True)
class Server(Served):
    """A server process serving a copy of the example site, in ``root``."""

    root: Path

    @property
    def webapp(self) -> Path:
        return self.root / "my_webapps" / "webapp1"


@dataclass(frozen=True)
class LogEntry:
    """One record as the default formatter wrote it: a header line, the message, a traceback."""

    level: str
    request_id: str
    text: str


_RECORD_HEADER = re.compile(
    r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+[+-]\d\d:\d\d "
    r"\S+:\d+ (.*)$",
    re.MULTILINE,
)


def log_records(server: Server) -> list[LogEntry]:
    return log_records_of(server.log_text())


def log_records_of(text: str) -> list[LogEntry]:
    """The records in a server's stderr, in order."""
    headers = list(_RECORD_HEADER.finditer(text))
    ends = [match.start() for match in headers[1:]] + [len(text)]
    return [
        LogEntry(match[1], match[2], text[match.start() : end])
        for match, end in zip(headers, ends, strict=True)
    ]


@contextmanager
def serve(kind: str, root: Path, **env: str) -> Iterator[Server]:
    """Run ``root``'s app under ``kind`` (waitress with 8 threads, or gunicorn with 2 workers)
    until the block ends; ``env`` goes to the app as ``RELIABILITY_<KEY>``."""
    with server_support.serve(
        kind,
        root,
        app="reliability_app:make_app()",
        workers=2,
        threads=8,
        env={f"RELIABILITY_{key.upper()}": value for key, value in env.items()},
        stderr=root / f"{kind}-{'-'.join(env.values()) or 'stderr'}.err",
        ready="/hello?name=ready",
        watchdog=WATCHDOG,
    ) as served:
        server = Server(served.kind, served.port, served.process, served.stderr, root)
        ready = request(server, "GET", "/hello?name=ready")
        assert ready.status == 200, server.log_text()
        yield server


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    started: float
    ended: float


def request(
    server: Server,
    method: str,
    path: str,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    connection: http.client.HTTPConnection | None = None,
) -> Reply:
    """One request, on ``connection`` (kept alive) or a connection of its own."""
    own = connection is None
    if connection is None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        started = time.monotonic()
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        data = response.read()
        ended = time.monotonic()
        return Reply(response.status, response.headers, data, started, ended)
    finally:
        if own:
            connection.close()


class Clients:
    """A thread pool whose threads each keep one connection to the server alive."""

    def __init__(self, server: Server, threads: int) -> None:
        self.server = server
        self.threads = threads
        self.pool = ThreadPoolExecutor(max_workers=threads)
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=TIMEOUT)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Reply:
        """Called in a pool thread: one request on that thread's connection."""
        try:
            return request(self.server, method, path, headers, body, self.connection())
        except BaseException:
            self.connection().close()  # never reuse a connection in an unknown state
            raise

    def get_all(self, paths: Iterable[str]) -> list[Reply]:
        """GET every path, concurrently; the replies in order."""
        return list(self.pool.map(lambda path: self.send("GET", path), paths))

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        for connection in self._connections:
            connection.close()


@pytest.fixture
def clients_for() -> Iterator[Callable[[Server, int], Clients]]:
    made: list[Clients] = []

    def build(server: Server, threads: int = 8) -> Clients:
        made.append(Clients(server, threads))
        return made[-1]

    yield build
    for clients in made:
        clients.close()


@pytest.fixture(scope="module")
def site_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_site(tmp_path_factory.mktemp("reliability") / "site")


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest, site_root: Path) -> Iterator[Server]:
    with serve(request.param, site_root) as running:
        yield running


# --- what each request expects ------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A request and everything its answer must show."""

    method: str
    path: str
    status: int
    body: bytes | Callable[[bytes], bool]
    headers: Mapping[str, str] = field(default_factory=dict)
    send: bytes | None = None
    expect: Mapping[str, str | None] = field(default_factory=dict)

    def problem(self, reply: Reply) -> str | None:
        """What is wrong with ``reply``, or None."""
        where = f"{self.method} {self.path} {dict(self.headers)}"
        if reply.status != self.status:
            return f"{where}: status {reply.status}, wanted {self.status}: {reply.body[:300]!r}"
        good = self.body(reply.body) if callable(self.body) else reply.body == self.body
        if not good:
            return f"{where}: unexpected body {reply.body[:300]!r}"
        for name, value in self.expect.items():
            if reply.headers.get(name) != value:
                return f"{where}: header {name} is {reply.headers.get(name)!r}, wanted {value!r}"
        return None


SITE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
API_HEADERS = {"Access-Control-Allow-Origin": "*", **SITE_HEADERS}
STYLE = (EXAMPLE / "my_webapps" / "webapp1" / "style.css").read_bytes()
PLAIN_500 = b"Internal Server Error"


def json_is(expected: object) -> Callable[[bytes], bool]:
    return lambda body: json.loads(body) == expected


def plain_500(body: bytes) -> bool:
    """Werkzeug's own 500 page: no exception, no traceback."""
    return PLAIN_500 in body and b"fault" not in body and b"Traceback" not in body


def first_user_is_ada(body: bytes) -> bool:
    users = json.loads(body)
    return users[0] == {"id": 1, "name": "Ada"}


def created(name: str) -> Callable[[bytes], bool]:
    return lambda body: json.loads(body)["name"] == name


def faults_500(text: str) -> bytes:
    return f"faults 500: {text}".encode()


def case(i: int, etag: str) -> Case:
    """The ``i``-th request of a load run: every kind in turn, each with its own values."""
    n = f"c{i}"
    kinds: list[Callable[[], Case]] = [
        lambda: Case("GET", "/", 200, lambda b: b"Hello from Cylinder" in b, expect=SITE_HEADERS),
        lambda: Case("GET", f"/hello?name={n}", 200, f"<h1>Hello, {n}!</h1>".encode()),
        lambda: Case("GET", "/api/v1/users", 200, first_user_is_ada, expect=API_HEADERS),
        lambda: Case("GET", "/api/v1/users/1", 200, json_is({"id": 1, "name": "Ada"})),
        lambda: Case(
            "GET",
            f"/api/v1/users/x{i}",
            404,
            json_is({"error": "not_found", "path": f"/api/v1/users/x{i}", "status": 404}),
            expect=API_HEADERS,
        ),
        lambda: Case(
            "POST",
            "/api/v1/users",
            201,
            created(n),
            headers={"Content-Type": "application/json"},
            send=json.dumps({"name": n}).encode(),
        ),
        lambda: Case(
            "POST",
            "/api/v1/users",
            400,
            json_is(
                {
                    "error": "bad_request",
                    "detail": 'send a JSON object with a "name" string',
                    "status": 400,
                }
            ),
            send=b"not json",
        ),
        lambda: Case(
            "GET",
            f"/missing/{n}",
            404,
            f"<h1>Not found</h1><p>Nothing lives at /missing/{n}.</p>".encode(),
            expect=SITE_HEADERS,
        ),
        lambda: Case(
            "DELETE",
            "/hello",
            405,
            lambda b: b"Method Not Allowed" in b,
            expect={"Allow": "GET, HEAD, OPTIONS"},
        ),
        lambda: Case("OPTIONS", "/hello", 204, b"", expect={"Allow": "GET, HEAD, OPTIONS"}),
        lambda: Case(
            "GET", "/style.css", 200, STYLE, expect={"Content-Type": "text/css; charset=utf-8"}
        ),
        lambda: Case("HEAD", "/style.css", 200, b"", expect={"Content-Length": str(len(STYLE))}),
        lambda: Case("GET", "/style.css", 304, b"", headers={"If-None-Match": etag}),
        lambda: Case("GET", "/style.css", 206, STYLE[:4], headers={"Range": "bytes=0-3"}),
        lambda: Case(
            "GET",
            "/go",
            302,
            lambda b: b"redirected" in b,
            expect={"Location": "/hello?name=redirected", **SITE_HEADERS},
        ),
        lambda: Case(
            "GET",
            f"/hooked?n={n}",
            200,
            f"hooked {n}".encode(),
            expect={"X-Early": "ran", "X-Late": n, "X-Content-Type-Options": None},
        ),
        lambda: Case("GET", "/faults/handler", 500, faults_500("RuntimeError: handler fault")),
        lambda: Case("GET", "/faults/hook", 500, faults_500("RuntimeError: early hook fault")),
        lambda: Case("GET", "/faults/late", 500, faults_500("RuntimeError: late hook fault")),
        lambda: Case(
            "GET", "/faults/conflict", 500, faults_500("LookupError: error handler fault")
        ),
        lambda: Case("GET", "/worse/handler", 500, plain_500),
        lambda: Case(
            "GET",
            "/hello",
            500,
            plain_500,
            headers={"X-Fault": "app-map"},
            expect={"X-Content-Type-Options": None},
        ),
        lambda: Case("DEFAULT", "/hello", 501, lambda b: b"Not Implemented" in b),
    ]
    return kinds[i % len(kinds)]()


def run_load(clients: Clients, count: int, etag: str) -> list[str]:
    """Send ``count`` requests through ``clients``; the problems found, at most 20."""

    def one(i: int) -> str | None:
        expected = case(i, etag)
        try:
            reply = clients.send(
                expected.method,
                expected.path,
                headers={**expected.headers, "X-Request-ID": f"load-{i}"},
                body=expected.send,
            )
        except (OSError, http.client.HTTPException) as exc:
            return f"{expected.method} {expected.path}: {type(exc).__name__}: {exc}"
        return expected.problem(reply)

    problems = [problem for problem in clients.pool.map(one, range(count)) if problem]
    return problems[:20]


def etag_of(server: Server) -> str:
    return request(server, "HEAD", "/style.css").headers["ETag"]


def load_and_check(server: Server, clients: Clients, count: int) -> None:
    pids = sorted(server.worker_pids())
    before = [memory_of(pid)[0] for pid in pids]
    started = time.monotonic()
    problems = run_load(clients, count, etag_of(server))
    elapsed = time.monotonic() - started
    after = [memory_of(pid)[0] for pid in pids]
    pairs = list(zip(before, after, strict=True))
    memory = ", ".join(f"{b / 2**20:.1f} -> {a / 2**20:.1f} MiB" for b, a in pairs)
    print(f"{server.kind}: {count} requests in {elapsed:.1f} s, {len(problems)} problems; {memory}")
    assert problems == []
    assert max(a - b for b, a in pairs) < 100 * 2**20
    faulty = {f"load-{i}" for i in range(count) if case(i, "").status == 500}
    unasked = [r for r in log_records(server) if r.level == "ERROR" and r.request_id not in faulty]
    assert unasked == []


def test_thousands_of_requests_get_the_right_answers(
    server: Server, clients_for: Callable[[Server, int], Clients]
) -> None:
    load_and_check(server, clients_for(server, 8), 3000)
    assert request(server, "GET", "/hello?name=after").status == 200


@pytest.mark.soak
def test_soak_many_requests_get_the_right_answers(
    server: Server, clients_for: Callable[[Server, int], Clients]
) -> None:
    load_and_check(server, clients_for(server, 16), 60_000)


# --- faults ---------------------------------------------------------------------------------------

#: A failing request, and what its log record must show besides its request id.
FAULTS = [
    ("/faults/handler", {}, ["GET /faults/handler failed", "RuntimeError: handler fault"]),
    ("/faults/hook", {}, ["RuntimeError: early hook fault"]),
    ("/faults/late", {}, ["RuntimeError: late hook fault"]),
    ("/faults/conflict", {}, ["LookupError: error handler fault"]),
    ("/worse/handler", {}, ["ValueError: handler fault under a failing 500 handler"]),
    ("/worse/handler", {}, ["the 500 error handler failed", "KeyError: '500 handler fault'"]),
    ("/hello", {"X-Fault": "app-map"}, ["RuntimeError: app_map fault"]),
]


def test_each_fault_is_answered_and_logged_with_its_request_id(server: Server) -> None:
    sent: list[tuple[str, list[str]]] = []
    for path, headers, logged in FAULTS:
        request_id = f"fault-{uuid.uuid4().hex}"
        reply = request(server, "GET", path, headers={**headers, "X-Request-ID": request_id})
        assert reply.status == 500
        assert b"Traceback" not in reply.body
        assert request(server, "GET", "/hello?name=next").body == b"<h1>Hello, next!</h1>"
        sent.append((request_id, logged))

    for (request_id, _), (path, _, _) in zip(sent, FAULTS, strict=True):
        server.wait_for_log(f"{request_id}\n GET {path} 500 ")  # its last record: access
    errors = [record for record in log_records(server) if record.level == "ERROR"]
    for request_id, logged in sent:
        texts = [record.text for record in errors if record.request_id == request_id]
        assert any(
            "Traceback (most recent call last)" in text and all(part in text for part in logged)
            for text in texts
        ), (request_id, logged, texts)


def test_a_log_handler_that_blocks_forever_costs_records_not_requests(
    site_root: Path, clients_for: Callable[[Server, int], Clients]
) -> None:
    """The handler blocks on the first record for good: the queue (50 records) fills, every
    later record is dropped and counted, and requests complete as quickly as ever."""
    with serve("waitress", site_root, log="block", queue="50") as server:
        clients = clients_for(server, 8)

        def dropped() -> int:
            reply = clients.pool.submit(clients.send, "GET", "/pid").result()
            assert reply.status == 200
            return int(json.loads(reply.body)["dropped"])

        first = clients.get_all(f"/hello?name={i}" for i in range(200))
        before = dropped()
        second = clients.get_all(f"/hello?name={i}" for i in range(300))
        after = dropped()

    slowest = max(reply.ended - reply.started for reply in first + second)
    assert [reply.status for reply in first + second] == [200] * 500
    assert slowest < 2.0
    # Two records a request (the greeting and the access line), all dropped: the queue is full.
    assert before > 0
    assert after - before >= 2 * len(second)


@pytest.mark.soak
def test_soak_a_blocked_log_handler_keeps_memory_bounded(
    site_root: Path, clients_for: Callable[[Server, int], Clients]
) -> None:
    """Tens of thousands of requests behind a log handler that never returns: the queue stays
    at its bound, so the server's memory does not grow with the records it cannot write."""
    count = 40_000
    with serve("waitress", site_root, log="block") as server:
        clients = clients_for(server, 8)

        def dropped() -> int:
            return int(json.loads(request(server, "GET", "/pid").body)["dropped"])

        warm = clients.get_all(f"/hello?name={i}" for i in range(2000))  # the queue fills
        before, dropped_before = memory_of(server.process.pid)[0], dropped()
        started = time.monotonic()
        replies = clients.get_all(f"/hello?name={i}" for i in range(count))
        elapsed = time.monotonic() - started
        after, dropped_after = memory_of(server.process.pid)[0], dropped()

    slowest = max(reply.ended - reply.started for reply in warm + replies)
    print(
        f"blocked log handler: {count} requests in {elapsed:.1f} s, slowest "
        f"{slowest * 1000:.0f} ms, {dropped_after} records dropped in all, "
        f"RSS {before / 2**20:.1f} -> {after / 2**20:.1f} MiB"
    )
    assert {reply.status for reply in warm + replies} == {200}
    assert dropped_after - dropped_before >= 2 * count  # every record of these requests
    assert after - before < 20 * 2**20


def test_a_log_handler_that_raises_loses_only_its_own_record(site_root: Path) -> None:
    with serve("waitress", site_root, log="raise") as server:
        exploded = request(server, "GET", "/hello?name=explode", headers={"X-Request-ID": "boom"})
        after = request(server, "GET", "/hello?name=after", headers={"X-Request-ID": "after-1"})
        text = server.wait_for_log("after-1")
        assert (exploded.status, after.status) == (200, 200)
        assert after.body == b"<h1>Hello, after!</h1>"

    assert "--- Logging error ---" in text
    assert "RuntimeError: log handler fault" in text
    records = log_records_of(text)
    assert any(r.request_id == "after-1" and "greeting after" in r.text for r in records)
    # the access record of the request whose greeting blew up is still written
    assert any(r.request_id == "boom" and "GET /hello 200" in r.text for r in records)


# --- edits under load -----------------------------------------------------------------------------

VERSIONED = """
import os
import time

VERSION = {version}
time.sleep(0.005)  # a slow top level: a module served half-loaded would answer "ready=False"
READY = True


def main(response):
    response.data = f"v{{VERSION}} ready={{READY}} pid={{os.getpid()}}"
    return response
"""

ADDED = """
def main(response):
    response.data = "added v{version}"
    return response
"""

ABSENT = "absent"
_VERSIONED_BODY = re.compile(rb"v(\d+) ready=True pid=(\d+)")


@dataclass(frozen=True)
class Edit:
    """A change to one file: when it began and ended, and what the file answers after it."""

    began: float
    ended: float
    answer: str


class Timeline:
    """The edits made to one file, in order."""

    def __init__(self) -> None:
        self.edits: list[Edit] = []

    def make(self, answer: str, change: Callable[[], object]) -> None:
        began = time.monotonic()
        change()
        self.edits.append(Edit(began, time.monotonic(), answer))

    def possible(self, reply: Reply) -> set[str]:
        """What a request in flight from ``reply.started`` to ``reply.ended`` may see: the
        version in place when it started, or one the file took while it was in flight."""
        done = [i for i, edit in enumerate(self.edits) if edit.ended < reply.started]
        first = done[-1] if done else 0
        return {edit.answer for edit in self.edits[first:] if edit.began < reply.ended}


def publish(path: Path, source: str) -> None:
    """Write ``source`` to ``path`` the way editors and deploys do: a new file renamed over."""
    temporary = path.with_name(f".{path.name}.tmp")  # a dot-name: never routed, never served
    temporary.write_text(source)
    os.replace(temporary, path)


def edit_under_load(
    server: Server, clients: Clients, versions: int, interval: float, limit: int
) -> tuple[list[tuple[str, Reply]], set[int]]:
    """Rewrite one handler ``versions`` times and add or remove another every third version,
    ``interval`` seconds apart, while every client thread sends requests (``limit`` in all).

    Returns every answer with the path it was for, after checking each against the edits,
    and the processes that answered the last version.
    """
    folder = server.webapp / f"edit-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    versioned, added = folder / "versioned.ex.get.py", folder / "added.ex.get.py"
    urls = {"versioned": f"/{folder.name}/versioned", "added": f"/{folder.name}/added"}
    absent_body = f"<h1>Not found</h1><p>Nothing lives at {urls['added']}.</p>".encode()
    timelines = {"versioned": Timeline(), "added": Timeline()}
    timelines["versioned"].make("v0", lambda: publish(versioned, VERSIONED.format(version=0)))
    timelines["added"].make(ABSENT, lambda: None)

    stop = threading.Event()
    sent = iter(range(limit))  # shared by the threads: `next` on a range iterator is atomic
    lock = threading.Lock()
    answers: list[tuple[str, Reply]] = []

    def hammer() -> None:
        for i in sent:
            if stop.is_set():
                return
            name = ("versioned", "added", "versioned", "hello")[i % 4]
            reply = clients.send("GET", urls.get(name, f"/hello?name=e{i}"))
            with lock:
                answers.append((name, reply))

    running = [clients.pool.submit(hammer) for _ in range(clients.threads)]
    try:
        for version in range(1, versions + 1):
            time.sleep(interval)
            source = VERSIONED.format(version=version)
            timelines["versioned"].make(f"v{version}", lambda s=source: publish(versioned, s))
            if version % 3 == 0:
                if added.exists():
                    timelines["added"].make(ABSENT, added.unlink)
                else:
                    source = ADDED.format(version=version)
                    answer = f"added v{version}"
                    timelines["added"].make(answer, lambda s=source: publish(added, s))
    finally:
        stop.set()
        for future in running:
            future.result(timeout=60)

    problems = []
    for name, reply in answers:
        if name == "hello":
            seen = "ok" if reply.status == 200 else f"status {reply.status}"
            possible = {"ok"}
        else:
            possible = timelines[name].possible(reply)
            match = _VERSIONED_BODY.fullmatch(reply.body)
            if reply.status == 200 and name == "versioned" and match:
                seen = f"v{int(match[1])}"
            elif reply.status == 200 and name == "added":
                seen = reply.body.decode(errors="replace")
            elif reply.status == 404 and name == "added" and reply.body == absent_body:
                seen = ABSENT
            else:
                seen = f"status {reply.status}: {reply.body[:200]!r}"
        if seen not in possible:
            problems.append(f"{name}: {seen}, wanted one of {sorted(possible)}")
    assert problems[:10] == [], f"{len(problems)} of {len(answers)} answers were wrong"

    # Every worker serves the last version. Requests sent one at a time may all reach the same
    # gunicorn worker; sent together, they keep both busy.
    workers = server.worker_pids()
    serving: set[int] = set()
    for _ in range(50):
        for reply in clients.get_all([urls["versioned"]] * clients.threads):
            match = _VERSIONED_BODY.fullmatch(reply.body)
            assert reply.status == 200, reply
            assert match, reply
            assert int(match[1]) == versions, reply
            serving.add(int(match[2]))
        if serving == workers:
            break
    return answers, serving


def answered_by(answers: list[tuple[str, Reply]]) -> set[int]:
    return {
        int(match[2])
        for name, reply in answers
        if name == "versioned" and (match := _VERSIONED_BODY.fullmatch(reply.body))
    }


def test_edits_under_load_serve_the_old_or_the_new_version(
    server: Server, clients_for: Callable[[Server, int], Clients]
) -> None:
    answers, serving = edit_under_load(
        server, clients_for(server, 6), versions=30, interval=0.05, limit=20_000
    )

    versions_seen = {reply.body.split()[0] for name, reply in answers if name == "versioned"}
    assert len(answers) > 300
    assert len(versions_seen) > 10  # the edits really happened while requests flowed
    assert serving == server.worker_pids()  # each worker answers the last version
    assert answered_by(answers) == server.worker_pids()  # and each took part all along
    assert len(serving) == (2 if server.kind == "gunicorn" else 1)


@pytest.mark.soak
def test_soak_edits_under_load(
    server: Server, clients_for: Callable[[Server, int], Clients]
) -> None:
    pids = server.worker_pids()
    before = {pid: memory_of(pid)[0] for pid in pids}
    started = time.monotonic()
    answers, serving = edit_under_load(
        server, clients_for(server, 8), versions=1200, interval=0.05, limit=2_000_000
    )
    after = {pid: memory_of(pid)[0] for pid in pids}
    growth = max(after[pid] - before[pid] for pid in pids)
    print(
        f"{server.kind}: {len(answers)} requests in {time.monotonic() - started:.0f} s "
        f"across 1200 edits, 0 wrong; RSS growth at most {growth / 2**20:.1f} MiB "
        f"({', '.join(f'{after[pid] / 2**20:.0f} MiB' for pid in pids)})"
    )
    assert serving == pids
    assert growth < 100 * 2**20
