"""A small application served by waitress or gunicorn on 127.0.0.1, for tests that need a real
server: the application module is written by the test, the server runs it in a process of its
own on a socket the test binds, and its standard error (where the records go) is kept in a file.

Every server stops itself after :data:`WATCHDOG` seconds, should the test never stop it.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

TIMEOUT = 10.0
WATCHDOG = 300

WAITRESS = """
import os, socket, sys, threading

import waitress

sys.path.insert(0, os.getcwd())
from served_app import app

watchdog = threading.Timer(float(sys.argv[2]), os._exit, (3,))
watchdog.daemon = True
watchdog.start()
listener = socket.socket(fileno=int(sys.argv[1]))
waitress.serve(app, sockets=[listener], threads=4)
"""

GUNICORN_CONFIG = """
import os
import threading


def when_ready(server):
    watchdog = threading.Timer(float(os.environ["SERVED_WATCHDOG"]), os._exit, (3,))
    watchdog.daemon = True
    watchdog.start()
"""


@dataclass(frozen=True)
class Served:
    """A running server."""

    kind: str
    port: int
    process: subprocess.Popen[bytes]
    stderr: Path

    def log_text(self) -> str:
        return self.stderr.read_text(errors="replace")

    def wait_for_log(self, needle: str, timeout: float = TIMEOUT) -> str:
        """The server's standard error once it holds ``needle``."""
        deadline = time.monotonic() + timeout
        while needle not in (text := self.log_text()):
            assert time.monotonic() < deadline, f"{needle!r} never logged:\n{text[-3000:]}"
            time.sleep(0.01)
        return text

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """One GET on a connection of its own: the status and the body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def send_raw(self, data: bytes) -> bytes:
        """Send ``data`` as it is and return all the server answers until it closes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT) as sock:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        return received


@contextmanager
def serve(kind: str, root: Path, app_source: str, workers: int = 1) -> Iterator[Served]:
    """Serve the ``app`` defined by ``app_source`` (written to ``root/served_app.py``) with
    ``kind`` (``waitress`` or ``gunicorn``, sync workers), until the block ends."""
    (root / "served_app.py").write_text(app_source)
    (root / "gunicorn_conf.py").write_text(GUNICORN_CONFIG)
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    port = listener.getsockname()[1]
    fd = listener.fileno()
    if kind == "waitress":
        command = [sys.executable, "-c", WAITRESS, str(fd), str(WATCHDOG)]
    else:
        command = [
            *(sys.executable, "-m", "gunicorn", "-c", str(root / "gunicorn_conf.py")),
            *("-w", str(workers), "-b", f"fd://{fd}", "--graceful-timeout", "5"),
            "served_app:app",
        ]
    environ = {**os.environ, "PYTHONUNBUFFERED": "1", "SERVED_WATCHDOG": str(WATCHDOG)}
    stderr = root / f"{kind}.err"
    try:
        with stderr.open("wb") as errors:
            process = subprocess.Popen(
                command,
                cwd=root,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=errors,
                stderr=errors,
                pass_fds=[fd],
            )
    finally:
        listener.close()  # the server holds it now
    try:
        served = Served(kind, port, process, stderr)
        deadline = time.monotonic() + TIMEOUT
        while True:  # ready once it answers
            try:
                served.get("/")
                break
            except OSError:
                assert process.poll() is None, served.log_text()
                assert time.monotonic() < deadline, served.log_text()
                time.sleep(0.05)
        yield served
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
