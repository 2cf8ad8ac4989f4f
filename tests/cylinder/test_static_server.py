"""Issue 5, the real server test: waitress on 127.0.0.1 serves a 50 MB static file.

The server runs in its own process (``waitress.serve`` of ``cylinder.get_app``), so its memory
is the server's alone and is read from ``/proc/<pid>/status``. A probe around the app writes the
class of every body the app hands waitress, which shows that ``wsgi.file_wrapper`` is used.
Every request has a timeout, the server is terminated when the module is done, and it stops
itself after a minute if nobody does.
"""

from __future__ import annotations

import hashlib
import http.client
import random
import select
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads memory from /proc/<pid>/status"
)

SIZE = 50 * 1024 * 1024  # 52428800
BLOCK = 1024 * 1024
TIMEOUT = 10.0
SECRET = f"SECRET-{uuid.uuid4().hex}"
#: How much the server may grow while serving the file several times: far below its size.
MAX_GROWTH = 20 * 1024 * 1024

SERVER = """
import logging, os, sys, threading

import waitress

import cylinder

site_dir, probe_log = sys.argv[1], sys.argv[2]
watchdog = threading.Timer(60, os._exit, (3,))  # stop even if the test never does
watchdog.daemon = True
watchdog.start()

app = cylinder.get_app(
    lambda request: (site_dir, "webapp1"), log_handler=logging.NullHandler()
)


def probe(environ, start_response):
    body = app(environ, start_response)
    kind = f"{type(body).__module__}.{type(body).__qualname__}"
    with open(probe_log, "a") as log:
        log.write(f"{environ['REQUEST_METHOD']} {environ.get('HTTP_RANGE', '-')} {kind}\\n")
    return body


server = waitress.create_server(probe, host="127.0.0.1", port=0, threads=2)
print(server.effective_port, flush=True)
server.run()
"""


@dataclass(frozen=True)
class BigFile:
    path: Path
    sha256: str

    def read(self, start: int, stop: int) -> bytes:
        with self.path.open("rb") as file:
            file.seek(start)
            return file.read(stop - start)


@dataclass(frozen=True)
class Server:
    port: int
    pid: int
    probe_log: Path
    stderr: Path

    def probed(self) -> list[str]:
        return self.probe_log.read_text().splitlines() if self.probe_log.exists() else []

    def reset_peak(self) -> None:
        """Start the peak (``VmHWM``) over from the current resident set (Linux 4.0+)."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    def memory(self) -> tuple[int, int]:
        """The server's resident set now and at its highest, in bytes."""
        fields = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            fields[name] = value.split()
        return int(fields["VmRSS"][0]) * 1024, int(fields["VmHWM"][0]) * 1024


@dataclass(frozen=True)
class Answer:
    """A response read in chunks: its length and hash, and its bytes only when small."""

    status: int
    headers: http.client.HTTPMessage
    length: int
    sha256: str
    body: bytes | None


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> BigFile:
    site_dir = tmp_path_factory.mktemp("server") / "sites"
    path = site_dir / "webapp1" / "files" / "big.bin"
    path.parent.mkdir(parents=True)
    digest = hashlib.sha256()
    blocks = random.Random(5)
    with path.open("wb") as file:
        for _ in range(SIZE // BLOCK):
            block = blocks.randbytes(BLOCK)
            digest.update(block)
            file.write(block)
    secrets = {
        site_dir.parent / "secret.txt": SECRET,
        site_dir / "secret.txt": SECRET,
        site_dir / "webapp1" / ".env": SECRET,
        site_dir / "webapp1" / "files" / "tool.py": f"KEY = {SECRET!r}\n",
        site_dir / "webapp1" / "files" / "hello.txt": "hello",
    }
    for secret, text in secrets.items():
        secret.write_text(text)
    return BigFile(path, digest.hexdigest())


@pytest.fixture(scope="module")
def server(big_file: BigFile) -> Iterator[Server]:
    site_dir = big_file.path.parents[2]
    probe_log = site_dir.parent / "probe.log"
    stderr = site_dir.parent / "server.err"
    with stderr.open("wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(site_dir), str(probe_log)],
            stdout=subprocess.PIPE,
            stderr=errors,
        )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], TIMEOUT)
        line = process.stdout.readline() if ready else b""
        assert line.strip().isdigit(), f"the server did not start: {stderr.read_text()}"
        yield Server(int(line), process.pid, probe_log, stderr)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


def fetch(server: Server, method: str = "GET", headers: dict[str, str] | None = None) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        connection.request(method, "/files/big.bin", headers=headers or {})
        response = connection.getresponse()
        digest = hashlib.sha256()
        length = 0
        kept = bytearray()
        while chunk := response.read(1 << 16):
            digest.update(chunk)
            length += len(chunk)
            if length <= BLOCK:
                kept += chunk
        return Answer(
            response.status,
            response.headers,
            length,
            digest.hexdigest(),
            bytes(kept) if length <= BLOCK else None,
        )
    finally:
        connection.close()


def test_full_get_streams_the_whole_file(server: Server, big_file: BigFile) -> None:
    answer = fetch(server)

    assert answer.status == 200
    assert answer.headers["Content-Length"] == str(SIZE)
    assert answer.headers["Content-Type"] == "application/octet-stream"
    assert answer.headers["Accept-Ranges"] == "bytes"
    assert answer.headers["ETag"]
    assert answer.headers["Last-Modified"]
    assert (answer.length, answer.sha256) == (SIZE, big_file.sha256)


def test_waitress_file_wrapper_carries_the_file_and_its_ranges(server: Server) -> None:
    fetch(server)
    fetch(server, headers={"Range": "bytes=1000-"})

    assert server.probed()[-2:] == [
        "GET - waitress.buffers.ReadOnlyFileBasedBuffer",
        "GET bytes=1000- waitress.buffers.ReadOnlyFileBasedBuffer",
    ]


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=41943040-41944063", 41943040, 41944064),
        ("bytes=0-0", 0, 1),
        ("bytes=-100", SIZE - 100, SIZE),
        ("bytes=52428000-", 52428000, SIZE),
        ("bytes=52428000-99999999", 52428000, SIZE),
    ],
)
def test_range_is_206_with_the_right_bytes(
    server: Server, big_file: BigFile, header: str, start: int, stop: int
) -> None:
    answer = fetch(server, headers={"Range": header})

    assert answer.status == 206
    assert answer.headers["Content-Range"] == f"bytes {start}-{stop - 1}/{SIZE}"
    assert answer.headers["Content-Length"] == str(stop - start)
    assert answer.body == big_file.read(start, stop)


def test_multi_range_gets_the_whole_file(server: Server, big_file: BigFile) -> None:
    answer = fetch(server, headers={"Range": "bytes=0-99,1000-1099"})

    # Werkzeug answers one range only; several are ignored (RFC 9110, 14.2), not refused.
    assert answer.status == 200
    assert "Content-Range" not in answer.headers
    assert (answer.length, answer.sha256) == (SIZE, big_file.sha256)


def test_if_none_match_is_304(server: Server) -> None:
    etag = fetch(server, "HEAD").headers["ETag"]

    answer = fetch(server, headers={"If-None-Match": etag})

    assert (answer.status, answer.length) == (304, 0)
    assert answer.headers["ETag"] == etag


def test_if_modified_since_is_304(server: Server) -> None:
    last_modified = fetch(server, "HEAD").headers["Last-Modified"]

    answer = fetch(server, headers={"If-Modified-Since": last_modified})

    assert (answer.status, answer.length) == (304, 0)


def test_head_sends_the_length_and_no_body(server: Server) -> None:
    answer = fetch(server, "HEAD")

    assert answer.status == 200
    assert answer.headers["Content-Length"] == "52428800"
    assert answer.length == 0


def test_unsatisfiable_range_is_416(server: Server) -> None:
    answer = fetch(server, headers={"Range": f"bytes={SIZE}-"})

    assert answer.status == 416
    assert answer.headers["Content-Range"] == f"bytes */{SIZE}"


def send_raw(server: Server, target: bytes) -> tuple[int, bytes]:
    """Send a request line exactly as given (http.client refuses NULs and backslashes)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as conn:
        conn.sendall(
            b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        received = bytearray()
        while chunk := conn.recv(1 << 16):
            received += chunk
            assert len(received) < BLOCK, "a hostile path must not be answered with a file"
    status_line = bytes(received).split(b"\r\n", 1)[0]
    return int(status_line.split()[1]), bytes(received)


@pytest.mark.parametrize(
    "target",
    [
        b"/../secret.txt",
        b"/%2e%2e/secret.txt",
        b"/%2e%2e%2f%2e%2e%2fsecret.txt",
        b"/files/..%2f..%2f..%2fsecret.txt",
        b"/%252e%252e/secret.txt",
        b"/files/..%5c..%5csecret.txt",
        b"/files\\..\\..\\secret.txt",
        b"/.env",
        b"/%2eenv",
        b"/files/tool.py",
        b"/files/tool.PY",
        b"/files/tool.py%00.txt",
        b"/files/hello.txt%00",
        b"/files/hello.txt/",
        b"/%ff%fe/../secret.txt",
        b"/%c0%ae%c0%ae/secret.txt",
        b"http://localhost/../secret.txt",
        b"/" + b"a" * 10_000,
    ],
)
def test_hostile_request_lines_through_waitress(server: Server, target: bytes) -> None:
    """What waitress decodes and passes on still finds nothing it should not."""
    status, response = send_raw(server, target)

    assert SECRET.encode() not in response
    assert 400 <= status < 500
    assert send_raw(server, b"/files/hello.txt")[0] == 200


def test_memory_does_not_grow_with_the_file(server: Server, big_file: BigFile) -> None:
    assert fetch(server).sha256 == big_file.sha256  # warm-up: imports, buffers, threads
    server.reset_peak()
    baseline, _ = server.memory()

    for _ in range(3):
        assert fetch(server).sha256 == big_file.sha256
        assert fetch(server, headers={"Range": "bytes=1048576-"}).length == SIZE - BLOCK
    after, peak = server.memory()

    figures = (
        f"server RSS: {baseline / 2**20:.1f} MiB after a warm-up request, "
        f"{after / 2**20:.1f} MiB after 3 full GETs and 3 ranges of 49 MiB, "
        f"peak {peak / 2**20:.1f} MiB"
    )
    print(figures)
    assert after - baseline < MAX_GROWTH, figures
    assert peak - baseline < MAX_GROWTH, figures
