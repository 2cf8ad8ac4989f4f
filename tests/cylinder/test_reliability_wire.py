"""Issue 8, bad input over the wire: the example site under waitress, sent raw bytes; the
tests of request bodies run under gunicorn (2 sync workers) too.

Malformed request lines and methods, huge and hostile headers, request ids with control
characters, invalid UTF-8 and encoded traversal in paths, slow, stalled and truncated bodies, and
a large upload read in chunks by a handler. Each answer is a clean 4xx (or 501), or 200 where
the request is fine after all; the server logs no failure it was not expected to, serves the next
request, and its resident set stays bounded (read from ``/proc/<pid>/status``). The request
lines that hunt for files outside the site are in ``test_static_server.py``; these aim at
handlers and the parser.

The 1 GiB upload is marked ``soak`` (``hatch run soak:run``); the default suite sends 64 MiB.
"""

from __future__ import annotations

import hashlib
import http.client
import random
import re
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import server_support
from server_support import Served as Server

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads server memory from /proc"
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "site"
#: Put in every Python file of the served copy: it must never be sent.
SECRET = f"SECRET-{uuid.uuid4().hex}"
TIMEOUT = 10.0
MiB = 1024 * 1024
#: How much the server may grow while it takes an upload: far below the upload's size.
MAX_GROWTH = 100 * MiB

UPLOAD = """
import hashlib


def main(request, response, log, abort):
    digest = hashlib.sha256()
    received = 0
    while chunk := request.stream.read(64 * 1024):
        digest.update(chunk)
        received += len(chunk)
    if request.content_length is not None and received < request.content_length:
        # gunicorn ends the stream quietly when the client goes away (benoitc/gunicorn#3234)
        abort(400, f"the body ended after {received} of {request.content_length} bytes")
    log.info("upload of %d bytes", received)
    response.data = f"{received} {digest.hexdigest()}"
    return response
"""

#: The example's app, for both servers.
APP_MODULE = """
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cylinder
import cylinder_main

app = cylinder.get_app(cylinder_main.app_map)
"""


@pytest.fixture(scope="module")
def site_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wire") / "site"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "my_webapps" / "webapp1" / "upload.ex.put.py").write_text(UPLOAD.lstrip())
    for source in root.rglob("*.py"):
        source.write_text(f"{source.read_text()}\n# {SECRET}\n")
    (root / "wire_app.py").write_text(APP_MODULE)
    return root


@contextmanager
def serve(kind: str, root: Path) -> Iterator[Server]:
    """Serve the site under ``kind`` (waitress, or gunicorn with 2 workers) on 127.0.0.1."""
    with server_support.serve(
        kind,
        root,
        app="wire_app:app",
        workers=2,
        waitress_options={"max_request_body_size": 4 * 2**30},
        stderr=root.parent / f"{kind}.err",
        ready="/hello",
        watchdog=600,
    ) as running:
        assert exchange(running, get("/hello"))[0] == 200, running.log_text()
        yield running


@pytest.fixture(scope="module")
def server(site_root: Path) -> Iterator[Server]:
    """Waitress: every test of this module."""
    with serve("waitress", site_root) as running:
        yield running


@pytest.fixture(scope="module", params=["waitress", "gunicorn"])
def any_server(request: pytest.FixtureRequest, site_root: Path) -> Iterator[Server]:
    """Waitress, then gunicorn with 2 sync workers: the tests of bodies. Waitress reads a
    whole body before it calls the app; gunicorn's workers hand the app the socket itself."""
    if request.param == "waitress":
        yield request.getfixturevalue("server")
    else:
        with serve("gunicorn", site_root) as running:
            yield running


def get(target: str | bytes, *headers: str) -> bytes:
    """A GET request for ``target`` (bytes are sent as they are), closing the connection."""
    if isinstance(target, str):
        target = target.encode("latin-1")
    lines = ["Host: localhost", *headers, "Connection: close"]
    return b"GET " + target + b" HTTP/1.1\r\n" + ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def exchange(server: Server, data: bytes) -> tuple[int, bytes, bytes]:
    """Send ``data`` as it is, read the answer to its end: status, header block, body.

    The status is 0 when the server reset the connection before answering (it refused a
    request while the client was still sending it).
    """
    received = bytearray()
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as connection:
        try:
            connection.sendall(data)
            while chunk := connection.recv(1 << 16):
                received += chunk
        except (BrokenPipeError, ConnectionResetError):
            pass
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", head)
    if not received:
        return 0, b"", b""
    assert match, f"no status line in {bytes(received[:200])!r}"
    return int(match[1]), head, body


#: The request ids of requests a test expects to be logged as failures.
EXPECTED_FAILURE = "expected-failure-"
_FAILURE = re.compile(r"^(?:ERROR|CRITICAL) .* (\S+)$", re.MULTILINE)


def assert_still_serving(server: Server) -> None:
    """The next request is served, and nothing so far was logged as a failure but what a test
    expected. Returns once the server logged that request (and, waitress being one process,
    every request before it)."""
    request_id = f"next-{random.getrandbits(64):x}"
    status, _, body = exchange(server, get("/hello?name=next", f"X-Request-ID: {request_id}"))
    assert (status, body) == (200, b"<h1>Hello, next!</h1>")
    server.wait_for_log(f"{request_id}\n GET /hello 200 ")
    failed = _FAILURE.findall(server.log_text())
    assert [rid for rid in failed if not rid.startswith(EXPECTED_FAILURE)] == []


def clean_refusal(status: int) -> bool:
    """A 4xx, or the 501 for a method that can never be routed."""
    return 400 <= status < 500 or status == 501


# --- request lines and methods --------------------------------------------------------------------


MALFORMED: list[bytes] = [
    b"GARBAGE\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    b"G\x00T /hello HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GE(T /hello HTTP/1.1\r\nHost: x\r\n\r\n",
    b"get /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"DEFAULT /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"M-SEARCH /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"\xc3\x9f\xc3\x9f /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"X" * 5000 + b" /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"BREW /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) + b"\r\n\r\n",
]


@pytest.mark.parametrize(
    "data",
    MALFORMED,
    ids=lambda data: repr(data[:24]),
)
def test_malformed_request_lines_and_methods_are_refused_cleanly(
    server: Server, data: bytes
) -> None:
    status, _, body = exchange(server, data)

    assert clean_refusal(status), (status, body[:300])
    assert_still_serving(server)


# --- headers --------------------------------------------------------------------------------------


SERVED, REFUSED, TOO_LARGE = "served", "refused", "too large"


def header_names(head: bytes) -> set[bytes]:
    return {line.split(b":", 1)[0].lower() for line in head.split(b"\r\n")[1:]}


HOSTILE_HEADERS: list[tuple[list[str], str]] = [
    ([f"X-Many-{i}: {i}" for i in range(2000)], SERVED),
    (["X-Big: " + "a" * 100_000], SERVED),
    ([f"X-Big-{i}: " + "a" * 60_000 for i in range(5)], TOO_LARGE),  # 300 KB of headers
    (["X-Request-ID: abc\rX-Evil: 1"], REFUSED),
    (["X-Request-ID: abc\nX-Evil: 1"], REFUSED),
    (["X-Request-ID: abc\x00X-Evil: 1"], REFUSED),
    (["X-Request-ID: abc", " X-Evil: 1"], SERVED),  # obsolete line folding: one value
    (["X Evil: 1"], REFUSED),
    (["X-Evil : 1"], REFUSED),
    (["Host: evil.example"], SERVED),
    (["Host: a", "Host: b"], SERVED),
    (["Host: \x01"], REFUSED),
    (["Content-Length: 5", "Content-Length: 6"], REFUSED),
    (["Content-Length: -1"], REFUSED),
    (["Content-Length: 0x10"], REFUSED),
    (["Content-Length: 99999999999999999999999"], REFUSED),
    (["Transfer-Encoding: gzip"], REFUSED),
    (["Range: bytes=0-1" + ",0-1" * 5000], SERVED),
    (["Cookie: " + "; ".join(f"c{i}={i}" for i in range(3000))], SERVED),
]


@pytest.mark.parametrize(
    ("headers", "answer"),
    HOSTILE_HEADERS,
    ids=lambda value: repr(value)[:40] if isinstance(value, list) else str(value),
)
def test_huge_and_hostile_headers(server: Server, headers: list[str], answer: str) -> None:
    status, head, body = exchange(server, get("/hello?name=h", *headers))

    if answer == SERVED:
        assert (status, body) == (200, b"<h1>Hello, h!</h1>")
    elif answer == TOO_LARGE:  # waitress answers 431; it may reset while the rest arrives
        assert status in (0, 431), (status, body[:300])
    else:
        assert clean_refusal(status), (status, body[:300])
    assert b"x-evil" not in header_names(head)
    assert_still_serving(server)


@pytest.mark.parametrize(
    "framing",
    [
        "Transfer-Encoding: chunked\r\nContent-Length: 3",
        "Content-Length: 3\r\nTransfer-Encoding: chunked",
        "Transfer-Encoding: chunked",
    ],
)
def test_chunked_wins_over_content_length(any_server: Server, framing: str) -> None:
    """A request that declares both framings is read as chunked (RFC 9112, 6.3) or refused:
    nothing is left over to be read as a smuggled second request."""
    server = any_server
    smuggled = b"GET /hello?name=smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    chunks = b"4\r\nabcd\r\n0\r\n\r\n"
    head = f"PUT /upload HTTP/1.1\r\nHost: x\r\n{framing}\r\nConnection: close\r\n\r\n"

    status, _, body = exchange(server, head.encode() + chunks + smuggled)

    if status == 200:
        assert body == f"4 {hashlib.sha256(b'abcd').hexdigest()}".encode()
    else:  # gunicorn refuses both framings at once
        assert clean_refusal(status), (status, body[:300])
    assert "smuggled" not in server.log_text()
    assert_still_serving(server)


@pytest.mark.parametrize(
    ("sent", "logged"),
    [
        # C1 controls and a no-break space, which are not printable, go
        (b"rid-\x85one\xa0two\x9bthree", "rid-onetwothree"),
        # UTF-8 of a bidi override and its end, taken as latin-1: the C1 control \x80 goes
        (b"rid-\xe2\x80\xaeevil\xe2\x80\xac", "rid-\xe2\xaeevil\xe2\xac"),
        (b"rid-" + b"x" * 1000, "rid-" + "x" * 196),
        (b"  rid-spaced  ", "rid-spaced"),
    ],
)
def test_request_ids_are_logged_sanitised(server: Server, sent: bytes, logged: str) -> None:
    """Waitress passes header bytes on as latin-1 (and refuses ASCII controls itself, see
    above); what reaches the log is printable, on the record's own line, at most 200 long."""
    marker = f"greeting sanitised-{random.getrandbits(32):x}"
    data = get(f"/hello?name={marker.split()[1]}", "X-Request-ID: " + sent.decode("latin-1"))

    status, _, _ = exchange(server, data)

    assert status == 200
    lines = server.wait_for_log(marker).splitlines()
    header_line = lines[lines.index(f" {marker}") - 1]
    assert header_line.startswith("INFO ")
    assert header_line.endswith(f" {logged}")
    assert_still_serving(server)


# --- paths ----------------------------------------------------------------------------------------


PATHS: list[tuple[bytes, int]] = [
    (b"/hello/%ff%fe", 200),  # the nearest file answers the rest of the path
    (b"/hello?name=%ff%fe%c0%af", 200),
    (b"/api/v1/users/%ff", 404),
    (b"/api/v1/users/\xff\xfe", 400),  # raw bytes that are not UTF-8: waitress refuses
    (b"/api/v1/users/%2e%2e/%2e%2e/%2e%2e/%2e%2e/cylinder_main.py", 404),
    (b"/api/%2e%2e%2f%2e%2e%2f%2e%2e%2fcylinder_main.py", 404),
    (b"/style.css/..%2f..%2f..%2fcylinder_main.py", 404),
    (b"/..%2fcylinder_main.py", 404),
    (b"/%c0%ae%c0%ae/%c0%ae%c0%ae/cylinder_main.py", 404),
    (b"/\xc0\xae\xc0\xae/cylinder_main.py", 400),
    (b"/webapp1.ex.get.py", 404),
    (b"/api/v1/users.ex.get.py", 404),
    (b"/%00/hello", 404),
]


@pytest.mark.parametrize(
    ("target", "status"),
    PATHS,
)
def test_invalid_utf8_and_encoded_traversal_in_paths(
    server: Server, target: bytes, status: int
) -> None:
    answered, _, body = exchange(server, get(target))

    assert answered == status, body[:300]
    assert SECRET.encode() not in body
    assert_still_serving(server)


def hostile_round(server: Server) -> None:
    """Every malformed line, hostile header set and path above, once."""
    for data in MALFORMED:
        exchange(server, data)
    for headers, _ in HOSTILE_HEADERS:
        exchange(server, get("/hello?name=h", *headers))
    for target, _ in PATHS:
        exchange(server, get(target))


def test_hostile_input_leaks_no_memory(server: Server) -> None:
    hostile_round(server)  # warm-up: every code path loaded, buffers at their working size
    before, _ = server.memory()
    for _ in range(10):
        hostile_round(server)
    after, _ = server.memory()

    sent = 10 * (len(MALFORMED) + len(HOSTILE_HEADERS) + len(PATHS))
    figures = f"{sent} requests: {before / MiB:.1f} -> {after / MiB:.1f} MiB"
    assert after - before < 10 * MiB, figures
    assert_still_serving(server)


# --- bodies ---------------------------------------------------------------------------------------


def upload_head(length: int | None, *headers: str) -> bytes:
    """The head of a PUT to the upload handler: with ``length`` as Content-Length, or chunked."""
    size = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    lines = ["PUT /upload HTTP/1.1", "Host: localhost", size, *headers, "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def send_and_go(server: Server, data: bytes) -> bytes:
    """Send ``data``, close the sending side as a client that goes away does, read the rest."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as connection:
        connection.sendall(data)
        connection.shutdown(socket.SHUT_WR)
        return b"".join(iter(lambda: connection.recv(1 << 16), b""))


def test_a_truncated_body_is_never_taken_for_a_whole_one(any_server: Server) -> None:
    """Content-Length 1000, 10 bytes, then the client goes away. Waitress drops the request;
    gunicorn hands the handler a body that just ends early (benoitc/gunicorn#3234), which the
    handler sees because it compares what it read with ``request.content_length``."""
    server = any_server
    request_id = f"truncated-{random.getrandbits(64):x}"

    answer = send_and_go(server, upload_head(1000, f"X-Request-ID: {request_id}") + b"0123456789")

    if server.kind == "waitress":
        assert answer == b""
        assert_still_serving(server)
        assert request_id not in server.log_text()
    else:
        assert answer.startswith(b"HTTP/1.1 400 "), answer
        assert b"the body ended after 10 of 1000 bytes" in answer
        server.wait_for_log(f"{request_id}\n PUT /upload 400 ")
        assert_still_serving(server)


def test_a_truncated_chunked_body_is_dropped_or_a_clean_400(any_server: Server) -> None:
    """A chunk announced as 1000 bytes, 10 sent, then the client goes away. Waitress drops the
    request; under gunicorn the handler's read raises the server's ``NoMoreData`` (an
    ``OSError``), which Cylinder's guarded ``wsgi.input`` turns into ``ClientDisconnected``: a
    400 through the site's error handlers, not a 500."""
    server = any_server
    request_id = f"truncated-chunked-{random.getrandbits(64):x}"
    head = upload_head(None, f"X-Request-ID: {request_id}")

    answer = send_and_go(server, head + b"3e8\r\n0123456789")

    if server.kind == "waitress":
        assert answer == b""
        assert_still_serving(server)
        assert request_id not in server.log_text()
    else:
        assert answer.startswith(b"HTTP/1.1 400 "), answer
        assert b"NoMoreData" not in answer
        text = server.wait_for_log(f"{request_id}\n PUT /upload 400")
        assert not re.search(rf"^ERROR .* {request_id}\n", text, re.MULTILINE)
        assert_still_serving(server)


def test_stalled_and_slow_clients_do_not_hold_up_others(server: Server) -> None:
    """Four clients send a header byte by byte and four stop half-way through a body; meanwhile
    a fifth sends a body in slow pieces, and everyone else is served at once."""
    stalled = [socket.create_connection(("127.0.0.1", server.port), TIMEOUT) for _ in range(8)]
    try:
        for connection in stalled[4:]:
            connection.sendall(upload_head(1000) + b"half")

        def slow_upload() -> tuple[int, bytes, bytes]:
            pieces = [bytes([i]) * 100 for i in range(20)]
            with socket.create_connection(("127.0.0.1", server.port), TIMEOUT) as connection:
                connection.sendall(upload_head(2000))
                for piece in pieces:
                    time.sleep(0.02)
                    connection.sendall(piece)
                answer = b"".join(iter(lambda: connection.recv(1 << 16), b""))
            expected = f"2000 {hashlib.sha256(b''.join(pieces)).hexdigest()}".encode()
            return int(answer.split()[1]), answer, expected

        with ThreadPoolExecutor(max_workers=1) as pool:
            slow = pool.submit(slow_upload)
            latencies = []
            for i, byte in enumerate(b"GET /hello HTTP/1.1\r\nHost: x"[:20]):
                for connection in stalled[:4]:
                    connection.sendall(bytes([byte]))
                started = time.monotonic()
                assert exchange(server, get(f"/hello?name={i}"))[0] == 200
                latencies.append(time.monotonic() - started)
                time.sleep(0.02)
            status, answer, expected = slow.result(timeout=TIMEOUT)
    finally:
        for connection in stalled:
            connection.close()

    assert status == 200
    assert answer.endswith(expected)
    assert max(latencies) < 1.0
    assert_still_serving(server)


class RandomBody:
    """``size`` bytes made on the fly from a repeated random block, hashed as they are sent."""

    BLOCK = random.Random(8).randbytes(MiB)

    def __init__(self, size: int) -> None:
        self.size = size
        self.digest = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        left = self.size
        while left:
            block = self.BLOCK[: min(left, MiB)]
            self.digest.update(block)
            left -= len(block)
            yield block


def upload(server: Server, size: int, chunked: bool) -> str:
    """PUT ``size`` bytes to the handler that reads them in chunks; check its count and hash."""
    body = RandomBody(size)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        headers = {} if chunked else {"Content-Length": str(size)}
        connection.request(
            "PUT", "/upload", body=iter(body), headers=headers, encode_chunked=chunked
        )
        response = connection.getresponse()
        answer = response.read().decode()
    finally:
        connection.close()
    assert response.status == 200, answer
    assert answer == f"{size} {body.digest.hexdigest()}"
    return answer


def upload_keeps_memory_bounded(server: Server, size: int) -> str:
    upload(server, MiB, chunked=True)  # warm-up: buffers, threads, the handler's module
    server.reset_peak()
    before, _ = server.memory()
    started = time.monotonic()
    for chunked in (True, False):
        upload(server, size, chunked)
    elapsed = time.monotonic() - started
    after, peak = server.memory()
    figures = (
        f"{server.kind}: two uploads of {size / MiB:.0f} MiB (chunked, then with "
        f"Content-Length) in {elapsed:.1f} s; server RSS {before / MiB:.1f} MiB before, "
        f"{after / MiB:.1f} MiB after, peak {peak / MiB:.1f} MiB"
    )
    print(figures)
    assert peak - before < MAX_GROWTH, figures
    assert after - before < MAX_GROWTH, figures
    assert_still_serving(server)
    return figures


def test_a_64_mib_upload_is_read_in_chunks_in_bounded_memory(any_server: Server) -> None:
    upload_keeps_memory_bounded(any_server, 64 * MiB)


@pytest.mark.soak
def test_soak_a_1_gib_upload_is_read_in_chunks_in_bounded_memory(any_server: Server) -> None:
    upload_keeps_memory_bounded(any_server, 1024 * MiB)
