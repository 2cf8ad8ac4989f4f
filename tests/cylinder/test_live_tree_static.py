"""DECISIONS.md "The live tree", for static files, end to end: what was checked is what is read.

A static file is opened once, from the site folder, and served from that descriptor. So a
writer that swaps it, between routing and opening, for a link to an outside secret, a link to
handler source or a FIFO never gets a byte of either out and never hangs a request; FIFOs,
sockets and devices at a static path answer at once; static responses say
``Cache-Control: no-cache`` unless a hook said otherwise; a failed ``If-Match`` or
``If-Unmodified-Since`` is a 412 whose body matches its ``Content-Length``.

Each check runs in-process (Werkzeug's test client, threads) and over waitress and gunicorn on
127.0.0.1 (the servers of ``test_reliability_servers``). Swaps between routing and opening are
made deterministic by an early hook that does the swapping; the race tests add a writer thread
swapping a file for a few seconds under concurrent readers. Everything is bounded in time: a
request that blocks is reported as hung, and FIFOs stay linked outside the site so that a hung
reader can always be released.
"""

from __future__ import annotations

import http.client
import logging
import os
import socket
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from site_support import write_files
from test_reliability_servers import SERVERS, Server, serve, write_site
from werkzeug.datastructures import Headers
from werkzeug.test import Client

import cylinder

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="the servers' helpers read /proc"
)

#: Longest any one request may take before it counts as hung.
BOUND = 10.0
#: How long each race runs.
RACE_SECONDS = 3.0

SECRET = b"OUTSIDE-SECRET-4b1d9e"
SOURCE_MARK = "HANDLER-SOURCE-77c0a2"
INSIDE = b"inside: the only bytes these paths may ever serve\n"

#: What each swap puts in place of the served file. The FIFO is linked under ``<root>/fifos``
#: too, so that a reader blocked on it can be released.
SWAPPER = '''
import os
import uuid


def swap_in(root, target, kind):
    """Put a `kind` file at `target` (inside `root/my_webapps/webapp1`) by an atomic rename."""
    webapp = os.path.join(root, "my_webapps", "webapp1")
    spare = f"{target}.{uuid.uuid4().hex}.spare"
    if kind == "hard":
        os.link(os.path.join(webapp, "inside.txt"), spare)
    elif kind == "outside":
        os.symlink(os.path.join(root, "secret.txt"), spare)
    elif kind == "source":
        os.symlink(os.path.join(webapp, "page.ex.get.py"), spare)
    elif kind == "fifo":
        kept = os.path.join(root, "fifos", uuid.uuid4().hex)
        os.mkfifo(kept)
        os.link(kept, spare)
    else:
        raise ValueError(kind)
    os.replace(spare, target)
'''

#: The early hook for ``/swap/...``: swaps ``swap/file.txt`` as ``?to=`` says, after the
#: request was routed to it as a static file and before it is opened.
SWAP_HOOK = """
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
namespace = {}
with open(os.path.join(ROOT, "swapper.py")) as file:
    exec(file.read(), namespace)


def main(request, response):
    kind = request.args.get("to")
    if kind:
        namespace["swap_in"](ROOT, os.path.join(HERE, "swap", "file.txt"), kind)
    return response
"""

SITE = {
    "webapp1/page.ex.get.py": f"# {SOURCE_MARK}\n"
    "def main(response):\n    response.data = 'page'\n    return response\n",
    "webapp1/covered.ex.get.py": "def main(response):\n"
    "    response.data = 'covered handler'\n    return response\n",
    "webapp1/swap.eh.get.py": SWAP_HOOK,
    "webapp1/cached.eh.get.py": "def main(response):\n"
    "    response.headers['Cache-Control'] = 'public, max-age=60'\n    return response\n",
    "webapp1/cached/a.css": "a {}",
    "webapp1/relate.lh.get.py": "def main(response):\n"
    "    response.headers['Cache-Control'] = 'max-age=5'\n    return response\n",
    "webapp1/relate/b.css": "b {}",
    "webapp1/strict.412.py": "def main(response, e):\n"
    "    response.data = f'strict {e.code}: the file changed since you read it'\n"
    "    return response\n",
    "webapp1/strict/c.txt": "c",
}


def build_tree(root: Path) -> Path:
    """The files above under ``root/my_webapps``, plus the inside file, its hard links, the
    outside secret and the swapper; returns the ``webapp1`` folder."""
    write_files(root / "my_webapps", SITE)
    webapp = root / "my_webapps" / "webapp1"
    (webapp / "inside.txt").write_bytes(INSIDE)
    (webapp / "swap").mkdir(exist_ok=True)
    for linked in (webapp / "swap" / "file.txt", webapp / "race.txt"):
        linked.unlink(missing_ok=True)
        os.link(webapp / "inside.txt", linked)
    (root / "secret.txt").write_bytes(SECRET)
    (root / "fifos").mkdir(exist_ok=True)
    (root / "swapper.py").write_text(SWAPPER)
    return webapp


def swap_in(root: Path, target: Path, kind: str) -> None:
    namespace: dict[str, Callable[[str, str, str], None]] = {}
    exec(SWAPPER, namespace)
    namespace["swap_in"](str(root), str(target), kind)


def release_fifos(root: Path) -> None:
    """Open every FIFO the swaps made for writing, so that a reader blocked on one returns."""
    for fifo in (root / "fifos").iterdir():
        with suppress(OSError):  # no reader waiting
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


# --- Talking to the site: in-process or over a server ----------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Headers
    body: bytes
    seconds: float


class Hung(Exception):
    """A request took longer than :data:`BOUND`."""


@dataclass
class Target:
    """Where requests go: the app's test client, or a server on 127.0.0.1."""

    root: Path
    app: cylinder.Application | None = None
    server: Server | None = None

    @property
    def webapp(self) -> Path:
        return self.root / "my_webapps" / "webapp1"

    def send(self, method: str, path: str, headers: dict[str, str] | None = None) -> Answer:
        """One request; raises :class:`Hung` if it takes more than :data:`BOUND` seconds."""
        started = time.monotonic()
        if self.server is not None:
            status, got, body = self._over_http(method, path, headers or {})
        else:
            status, got, body = self._in_process(method, path, headers or {})
        return Answer(status, got, body, time.monotonic() - started)

    def _over_http(
        self, method: str, path: str, headers: dict[str, str]
    ) -> tuple[int, Headers, bytes]:
        assert self.server is not None
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=BOUND)
        try:
            connection.request(method, path, headers=headers)
            response = connection.getresponse()
            # A body shorter than its Content-Length raises IncompleteRead here.
            body = response.read()
            return response.status, Headers(list(response.headers.items())), body
        except TimeoutError as exc:
            raise Hung(f"{method} {path}") from exc
        finally:
            connection.close()

    def _in_process(
        self, method: str, path: str, headers: dict[str, str]
    ) -> tuple[int, Headers, bytes]:
        assert self.app is not None
        app = self.app
        outcome: list[tuple[int, Headers, bytes] | BaseException] = []

        def run() -> None:
            try:
                response = Client(app).open(path, method=method, headers=headers)
                body = response.get_data()
                response.close()
                outcome.append((response.status_code, Headers(response.headers), body))
            except BaseException as exc:  # handed to the caller
                outcome.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(BOUND)
        if thread.is_alive():
            release_fifos(self.root)
            thread.join(BOUND)
            raise Hung(f"{method} {path}")
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]


@pytest.fixture
def in_process(tmp_path: Path) -> Iterator[Target]:
    root = tmp_path / "srv"
    build_tree(root)
    site_dir = str(root / "my_webapps")

    def app_map(request: object) -> tuple[str, str]:
        return site_dir, "webapp1"

    app = cylinder.get_app(app_map, log_handler=logging.NullHandler())
    try:
        yield Target(root, app=app)
    finally:
        release_fifos(root)
        app.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Target]]:
    """Starts each kind of server on first use, once for the whole module."""
    started: dict[str, Target] = {}
    with ExitStack() as stack:

        def get(kind: str) -> Target:
            if kind not in started:
                root = write_site(tmp_path_factory.mktemp(kind) / "srv")
                build_tree(root)
                server = stack.enter_context(serve(kind, root))
                stack.callback(release_fifos, root)  # runs first: frees any hung reader
                started[kind] = Target(root, server=server)
            return started[kind]

        yield get


@pytest.fixture(params=["in-process", *SERVERS])
def target(request: pytest.FixtureRequest) -> Target:
    """Every test below, in-process and over each server."""
    if request.param == "in-process":
        found: Target = request.getfixturevalue("in_process")
        return found
    get: Callable[[str], Target] = request.getfixturevalue("servers")
    return get(request.param)


def leaks(answer: Answer) -> bool:
    text = answer.body + repr(answer.headers).encode()
    return SECRET in text or SOURCE_MARK.encode() in text


# --- Swapped between routing and opening -----------------------------------------------------


@pytest.mark.parametrize("kind", ["outside", "source", "fifo"])
def test_a_file_swapped_after_routing_is_never_read(target: Target, kind: str) -> None:
    file = target.webapp / "swap" / "file.txt"
    for _ in range(3):
        swap_in(target.root, file, "hard")
        # Routed as the static file it is now; the early hook swaps it before it is opened.
        answer = target.send("GET", f"/swap/file.txt?to={kind}")
        assert not leaks(answer)
        assert answer.status == 404, answer
        assert answer.seconds < BOUND
    swap_in(target.root, file, "hard")
    assert target.send("GET", "/swap/file.txt").body == INSIDE


def test_a_hard_link_swapped_in_after_routing_is_served(target: Target) -> None:
    """A hard link is the file itself: one to an inside file is served (and one to an outside
    file would be too; it cannot be told apart)."""
    swap_in(target.root, target.webapp / "swap" / "file.txt", "hard")
    answer = target.send("GET", "/swap/file.txt?to=hard")
    assert (answer.status, answer.body) == (200, INSIDE)


# --- FIFOs, sockets and devices at a static path ----------------------------------------------


@contextmanager
def special_file(path: Path, kind: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    listener: socket.socket | None = None
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        listener = socket.socket(socket.AF_UNIX)
        short = Path(tempfile.gettempdir()) / f"cyl-{uuid.uuid4().hex[:12]}"
        listener.bind(str(short))  # a socket's own path is limited to ~100 bytes
        short.rename(path)
    else:
        os.mknod(path, 0o644 | stat.S_IFCHR, os.makedev(1, 5))  # /dev/zero: never ends
    try:
        yield
    finally:
        if listener is not None:
            listener.close()
        path.unlink()


@pytest.mark.parametrize("kind", ["fifo", "socket", "device"])
def test_a_special_file_at_a_static_path_answers_at_once(target: Target, kind: str) -> None:
    if kind == "device" and os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    name = f"special-{kind}-{uuid.uuid4().hex[:8]}.txt"
    with special_file(target.webapp / name, kind):
        answer = target.send("GET", f"/{name}")
        assert (answer.status, answer.seconds < BOUND) == (404, True)
    # Where a handler covers the path, it answers: the file is not a static file.
    with special_file(target.webapp / "covered" / name, kind):
        answer = target.send("GET", f"/covered/{name}")
        assert (answer.status, answer.body) == (200, b"covered handler")


# --- Cache-Control --------------------------------------------------------------------------


def test_static_responses_say_no_cache_unless_a_hook_says_otherwise(target: Target) -> None:
    plain = target.send("GET", "/inside.txt")
    assert (plain.status, plain.headers["Cache-Control"]) == (200, "no-cache")
    revalidated = target.send("GET", "/inside.txt", {"If-None-Match": plain.headers["ETag"]})
    assert (revalidated.status, revalidated.headers["Cache-Control"]) == (304, "no-cache")
    early = target.send("GET", "/cached/a.css")
    assert (early.body, early.headers["Cache-Control"]) == (b"a {}", "public, max-age=60")
    late = target.send("GET", "/relate/b.css")
    assert (late.body, late.headers["Cache-Control"]) == (b"b {}", "max-age=5")


# --- 412 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"If-Match": '"not-the-etag"'},
        {"If-Unmodified-Since": format_datetime(datetime.now(UTC) - timedelta(days=1), True)},
        {"If-Unmodified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
    ],
)
def test_a_failed_precondition_is_a_412_whose_body_matches_its_length(
    target: Target, headers: dict[str, str]
) -> None:
    answer = target.send("GET", "/inside.txt", headers)
    assert answer.status == 412
    assert answer.body
    assert answer.headers["Content-Length"] == str(len(answer.body))
    assert INSIDE not in answer.body
    head = target.send("HEAD", "/inside.txt", headers)
    assert (head.status, head.body) == (412, b"")
    assert head.headers["Content-Length"] == str(len(answer.body))
    # It goes through the error handler files like any other error.
    handled = target.send("GET", "/strict/c.txt", headers)
    assert handled.status == 412
    assert handled.body == b"strict 412: the file changed since you read it"
    assert handled.headers["Content-Length"] == str(len(handled.body))


def test_a_matching_if_match_serves_the_file(target: Target) -> None:
    etag = target.send("GET", "/inside.txt").headers["ETag"]
    for value in (etag, "*"):
        answer = target.send("GET", "/inside.txt", {"If-Match": value})
        assert (answer.status, answer.body) == (200, INSIDE)


# --- Races -----------------------------------------------------------------------------------


@dataclass
class Tally:
    served: int = 0
    not_found: int = 0
    other: list[str] = field(default_factory=list)
    leaked: int = 0
    hung: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def test_swapping_a_served_file_under_concurrent_readers(target: Target) -> None:
    """A writer swaps ``race.txt`` between a hard link to an inside file, a link to an outside
    secret, a link to handler source and a FIFO while readers GET, HEAD and range it."""
    race = target.webapp / "race.txt"
    stop_at = time.monotonic() + RACE_SECONDS
    tally = Tally()
    writer_errors: list[BaseException] = []

    def writer() -> None:
        kinds = ("hard", "outside", "hard", "source", "hard", "fifo")
        n = 0
        try:
            while time.monotonic() < stop_at:
                swap_in(target.root, race, kinds[n % len(kinds)])
                n += 1
                time.sleep(0.001)
        except BaseException as exc:  # reported below
            writer_errors.append(exc)
        finally:
            swap_in(target.root, race, "hard")

    def reader(index: int) -> None:
        asks = (
            ("GET", {}),
            ("GET", {"Range": "bytes=0-9"}),
            ("HEAD", {}),
        )
        n = index
        while time.monotonic() < stop_at:
            method, headers = asks[n % len(asks)]
            n += 1
            try:
                answer = target.send(method, "/race.txt", dict(headers))
            except Hung:
                with tally.lock:
                    tally.hung += 1
                continue
            with tally.lock:
                if leaks(answer):
                    tally.leaked += 1
                if answer.status == 404:
                    tally.not_found += 1
                elif answer.status in (200, 206) and _expected(method, headers, answer):
                    tally.served += 1
                else:
                    tally.other.append(f"{method} {headers}: {answer.status} {answer.body[:80]!r}")

    threads = [threading.Thread(target=writer, daemon=True)]
    threads += [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(RACE_SECONDS + 4 * BOUND)
    release_fifos(target.root)
    assert not any(thread.is_alive() for thread in threads), "a thread never finished"
    assert not writer_errors, writer_errors
    assert (tally.leaked, tally.hung, tally.other) == (0, 0, [])
    # And the site still answers everything afterwards.
    assert target.send("GET", "/race.txt").body == INSIDE
    assert target.send("GET", "/page").body == b"page"


def _expected(method: str, headers: dict[str, str], answer: Answer) -> bool:
    if method == "HEAD":
        return answer.body == b"" and answer.headers["Content-Length"] == str(len(INSIDE))
    if "Range" in headers:
        return answer.status == 206 and answer.body == INSIDE[:10]
    return answer.body == INSIDE
