"""An application served by waitress or gunicorn on 127.0.0.1, for tests that need a real
server: the application module is written by the test (or is already in the root folder), the
server runs it in a process of its own on a socket the test binds, and its standard error (where
the records go) is kept in a file.

Every server stops itself after ``watchdog`` seconds (:data:`WATCHDOG` unless the test says),
should the test never stop it. This is the one harness for the suites of ``cylinder`` and
``cylinder-sessions`` (pytest.ini puts this folder on the path of both).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from site_support import write_files

TIMEOUT = 10.0
WATCHDOG = 300

#: Runs ``argv[3]`` (``module:attribute``, or ``module:factory()``) under waitress on the socket
#: ``argv[1]``, with the keyword arguments in the JSON ``argv[4]``; exits after ``argv[2]`` s.
WAITRESS = """
import json, os, socket, sys, threading

import waitress

sys.path.insert(0, os.getcwd())
module, _, attribute = sys.argv[3].partition(":")
app = getattr(__import__(module), attribute.removesuffix("()"))
if attribute.endswith("()"):
    app = app()

watchdog = threading.Timer(float(sys.argv[2]), os._exit, (3,))
watchdog.daemon = True
watchdog.start()
listener = socket.socket(fileno=int(sys.argv[1]))
waitress.serve(app, sockets=[listener], **json.loads(sys.argv[4]))
"""

GUNICORN_CONFIG = """
import os
import threading


def when_ready(server):
    watchdog = threading.Timer(float(os.environ["SERVED_WATCHDOG"]), os._exit, (3,))
    watchdog.daemon = True
    watchdog.start()
"""

_BOOTED = re.compile(r"Booting worker with pid: (\d+)")


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

    def worker_pids(self) -> set[int]:
        """The processes that run the app: waitress's one, or gunicorn's workers."""
        if self.kind == "waitress":
            return {self.process.pid}
        return {int(pid) for pid in _BOOTED.findall(self.log_text())}

    def memory(self) -> tuple[int, int]:
        """The largest resident set among :meth:`worker_pids` now, and the largest peak since
        :meth:`reset_peak`, in bytes."""
        now, peak = 0, 0
        for pid in self.worker_pids():
            pid_now, pid_peak = memory_of(pid)
            now, peak = max(now, pid_now), max(peak, pid_peak)
        return now, peak

    def reset_peak(self) -> None:
        """Start the peak resident set of :meth:`worker_pids` over from their current one."""
        for pid in self.worker_pids():
            Path(f"/proc/{pid}/clear_refs").write_text("5")

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


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago, for a program that binds it itself."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def memory_of(pid: int) -> tuple[int, int]:
    """The resident set of ``pid`` now and at its highest since the last reset, in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.split()
    return int(fields["VmRSS"][0]) * 1024, int(fields["VmHWM"][0]) * 1024


@contextmanager
def serve(
    kind: str,
    root: Path,
    app_source: str | None = None,
    *,
    app: str = "served_app:app",
    workers: int = 1,
    threads: int = 4,
    waitress_options: Mapping[str, int] | None = None,
    env: Mapping[str, str] | None = None,
    stderr: Path | None = None,
    ready: str = "/",
    startup: float = TIMEOUT,
    watchdog: float = WATCHDOG,
) -> Iterator[Served]:
    """Serve ``app`` from ``root`` with ``kind`` until the block ends.

    :param kind: ``waitress`` (``threads`` threads) or ``gunicorn`` (``workers`` sync workers).
    :param root: the folder the server runs in; its modules are importable.
    :param app_source: if given, written to ``root/served_app.py`` (the default ``app``).
    :param app: ``module:attribute``, or ``module:factory()`` to call a factory.
    :param waitress_options: more keyword arguments for :func:`waitress.serve`.
    :param env: added to the server's environment.
    :param stderr: the file for the server's output; ``root/<kind>.err`` by default.
    :param ready: the path asked until the server answers (any status).
    :param startup: seconds the server, and each of its workers, has to start.
    :param watchdog: seconds after which the server stops itself.
    """
    if app_source is not None:
        (root / "served_app.py").write_text(app_source)
    (root / "gunicorn_conf.py").write_text(GUNICORN_CONFIG)
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    port = listener.getsockname()[1]
    fd = listener.fileno()
    if kind == "waitress":
        options = json.dumps({"threads": threads, **(waitress_options or {})})
        command = [sys.executable, "-c", WAITRESS, str(fd), str(watchdog), app, options]
    else:
        command = [
            *(sys.executable, "-m", "gunicorn", "-c", str(root / "gunicorn_conf.py")),
            *("-w", str(workers), "-b", f"fd://{fd}", "--graceful-timeout", "5"),
            app,
        ]
    environ = {
        **os.environ,
        **(env or {}),
        "PYTHONUNBUFFERED": "1",
        "SERVED_WATCHDOG": str(watchdog),
    }
    stderr = stderr or root / f"{kind}.err"
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
        listener.close()  # the server holds it now; when it ends, connections are refused
    try:
        served = Served(kind, port, process, stderr)
        deadline = time.monotonic() + startup
        while True:  # ready once it answers
            try:
                served.get(ready)
                break
            except OSError:
                assert process.poll() is None, served.log_text()
                assert time.monotonic() < deadline, f"{kind} never answered:\n{served.log_text()}"
                time.sleep(0.05)
        expected = workers if kind == "gunicorn" else 1
        while len(served.worker_pids()) < expected:  # and once each worker has started
            assert time.monotonic() < deadline, served.log_text()
            time.sleep(0.05)
        yield served
    finally:
        stop(process)


@contextmanager
def serve_site(
    kind: str, root: Path, files: Mapping[str, str], app_source: str
) -> Iterator[Served]:
    """Write ``files`` under ``root/my_webapps`` and :func:`serve` ``app_source`` with ``kind``,
    once :meth:`str.format` has put that folder in its ``site_dir`` fields (``{site_dir!r}``)."""
    site_dir = root / "my_webapps"
    write_files(site_dir, files)
    with serve(kind, root, app_source.format(site_dir=str(site_dir))) as served:
        yield served


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate ``process``, and kill it if it does not end within 15 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
