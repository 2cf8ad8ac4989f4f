"""What every benchmark script shares: the benchmark site, prebuilt environs, a driver that
plays the server, and the timing loop.

This module needs only the standard library and Werkzeug, so that the driver of the original
Cylinder (``original_driver.py``, run in a virtual environment of its own) can import it too and
measure the same routes on the same site in the same way.
"""

from __future__ import annotations

import gc
import logging
import os
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import NotFound
from werkzeug.test import EnvironBuilder
from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import FileWrapper

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: The site's name: ``<site_dir>/webapp1.ex.get.py`` answers ``/``.
SITE_NAME = "webapp1"
#: The measured routes: name -> URL path.
ROUTES: dict[str, str] = {
    "root": "/",
    "deep": "/a/b/c/d/e/deep",
    "static": "/static/style.css",
}
#: What the root and deep handlers send, and the headers the early and late hooks add.
ROOT_BODY = b"Hello from the root"
DEEP_BODY = b"Hello from five folders down"
EARLY_HEADER = "X-Early-Hook"
LATE_HEADER = "X-Late-Hook"
#: A small stylesheet, the static file.
STATIC_BODY = b"body { margin: 0 auto; max-width: 40em; font: 16px/1.5 sans-serif; }\n" * 8
#: An mtime long past (2001-09-09), so the site is "settled": no file is within any racy window.
OLD_NS = 1_000_000_000_000_000_000

HANDLER_SOURCE = """\
def main(response):
    response.data = {body!r}
    return response
"""
EARLY_HOOK_SOURCE = f"""\
def main(response):
    response.headers[{EARLY_HEADER!r}] = "1"
    return response
"""
LATE_HOOK_SOURCE = f"""\
def main(response):
    response.headers[{LATE_HEADER!r}] = "1"
    return response
"""


@dataclass(frozen=True)
class SiteLayout:
    """The benchmark site, written by :func:`build_site`.

    :param site_dir: the folder that ``app_map`` names; the root files sit in it.
    :param root_handler: ``<site_dir>/webapp1.ex.get.py``, edited by the freshness check.
    :param static_folder: ``<site_dir>/webapp1/static``, also Flask's static folder.
    :param static_file: the static file, ``style.css`` in that folder.
    """

    site_dir: str
    root_handler: str
    static_folder: str
    static_file: str

    @classmethod
    def at(cls, site_dir: str) -> SiteLayout:
        """The layout of a site :func:`build_site` wrote into ``site_dir``."""
        site_dir = os.path.realpath(site_dir)
        static_folder = os.path.join(site_dir, SITE_NAME, "static")
        return cls(
            site_dir,
            os.path.join(site_dir, f"{SITE_NAME}.ex.get.py"),
            static_folder,
            os.path.join(static_folder, "style.css"),
        )


def build_site(site_dir: str) -> SiteLayout:
    """Write the benchmark site into ``site_dir`` (which must exist) and settle it.

    Files: a root GET handler, root early and late GET hooks, a GET handler five folders deep
    (``a/b/c/d/e/deep``) and a small static file (``static/style.css``).
    """
    site_dir = os.path.realpath(site_dir)  # the original Cylinder wants no symlinks on the way
    folder = os.path.join(site_dir, SITE_NAME)
    deep_folder = os.path.join(folder, "a", "b", "c", "d", "e")
    os.makedirs(deep_folder)
    os.makedirs(os.path.join(folder, "static"))
    files = {
        os.path.join(site_dir, f"{SITE_NAME}.ex.get.py"): HANDLER_SOURCE.format(body=ROOT_BODY),
        os.path.join(site_dir, f"{SITE_NAME}.eh.get.py"): EARLY_HOOK_SOURCE,
        os.path.join(site_dir, f"{SITE_NAME}.lh.get.py"): LATE_HOOK_SOURCE,
        os.path.join(deep_folder, "deep.ex.get.py"): HANDLER_SOURCE.format(body=DEEP_BODY),
    }
    for path, source in files.items():
        with open(path, "w", encoding="utf-8") as file:
            file.write(source)
    layout = SiteLayout.at(site_dir)
    with open(layout.static_file, "wb") as file:
        file.write(STATIC_BODY)
    settle(site_dir)
    return layout


def werkzeug_app(layout: SiteLayout) -> WSGIApplication:
    """The floor: a bare Werkzeug app doing the same work with a ``Request``, a ``Response``,
    a dict of paths and ``send_from_directory`` for the static file."""
    bodies = {ROUTES["root"]: ROOT_BODY, ROUTES["deep"]: DEEP_BODY}
    static_folder = layout.static_folder

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        path = request.path
        response: Response
        if path.startswith("/static/"):
            response = send_from_directory(static_folder, path[len("/static/") :], environ)
        elif path in bodies:
            response = Response(bodies[path])
        else:
            response = NotFound().get_response(environ)
        response.headers[EARLY_HEADER] = "1"
        response.headers[LATE_HEADER] = "1"
        return response(environ, start_response)

    return app


def settle(root: str) -> None:
    """Give every file and folder under ``root``, and ``root``, an old mtime (folders last)."""
    for current, folders, files in os.walk(root, topdown=False):
        for name in files + folders:
            os.utime(os.path.join(current, name), ns=(OLD_NS, OLD_NS))
    os.utime(root, ns=(OLD_NS, OLD_NS))


def make_environ(path: str, method: str = "GET") -> dict[str, Any]:
    """A WSGI environ as a server would build it for ``method path``, ready to be copied.

    It carries the headers a browser sends and a ``wsgi.file_wrapper``, as servers such as
    waitress offer one.
    """
    environ = EnvironBuilder(
        path=path,
        method=method,
        base_url="http://127.0.0.1:8000",
        headers=[
            ("User-Agent", "cylinder-benchmark/1.0"),
            ("Accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
            ("Accept-Encoding", "gzip, deflate"),
            ("Connection", "keep-alive"),
        ],
    ).get_environ()
    environ["REMOTE_ADDR"] = "127.0.0.1"
    environ["wsgi.file_wrapper"] = FileWrapper
    return environ


class Reply:
    """What one request got: status, headers and the whole body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self) -> None:
        self.status = ""
        self.headers: list[tuple[str, str]] = []
        self.body = b""

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)


def fetch(app: WSGIApplication, environ: WSGIEnvironment) -> Reply:
    """Send one request to ``app`` as a server would and keep everything it answers."""
    reply = Reply()

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        reply.status = status
        reply.headers = headers
        return _ignore

    body = app(dict(environ), start_response)
    try:
        reply.body = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return reply


def _ignore(data: bytes) -> None:
    return None


def _start_response(
    status: str, headers: list[tuple[str, str]], exc_info: Any = None
) -> Callable[[bytes], object]:
    return _ignore


def serve_many(app: WSGIApplication, environ: WSGIEnvironment, count: int) -> None:
    """Send ``count`` requests: a fresh copy of ``environ`` each, the body read and closed."""
    start_response = _start_response
    for _ in range(count):
        body = app(environ.copy(), start_response)
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()


@dataclass(frozen=True)
class Timing:
    """Requests per second: the median of ``runs``, and every run."""

    median: float
    runs: tuple[float, ...]

    @property
    def spread(self) -> float:
        """(max - min) / median of the runs, as a fraction."""
        return (max(self.runs) - min(self.runs)) / self.median if self.median else 0.0


class Meter:
    """Times one app on one route, a run at a time, so several can be measured in turns.

    :param app: the WSGI application.
    :param environ: the request, copied for each call.
    :param seconds: about how long one run lasts; the request count is calibrated once.
    :param after_run: called at the end of every timed run, inside the timing (e.g. to wait
        for queued log records, so their handling is paid for by the run that made them).
    """

    def __init__(
        self,
        app: WSGIApplication,
        environ: WSGIEnvironment,
        seconds: float,
        after_run: Callable[[], object] | None = None,
    ) -> None:
        self.app = app
        self.environ = environ
        self.after_run = after_run
        self.rates: list[float] = []
        # Warm-up, then calibrate: as many requests as fill about `seconds`.
        serve_many(app, environ, 200)
        started = time.perf_counter()
        count = 200
        serve_many(app, environ, count)
        elapsed = time.perf_counter() - started
        self.count = max(100, int(count * seconds / max(elapsed, 1e-9)))

    def run(self) -> float:
        """One timed run; returns its requests per second and keeps it."""
        gc.collect()
        started = time.perf_counter()
        serve_many(self.app, self.environ, self.count)
        if self.after_run is not None:
            self.after_run()
        rate = self.count / (time.perf_counter() - started)
        self.rates.append(rate)
        return rate

    def timing(self) -> Timing:
        return Timing(statistics.median(self.rates), tuple(self.rates))


def measure_in_turns(meters: Iterable[Meter], runs: int) -> None:
    """Run every meter ``runs`` times, in turns, so that drift in the machine's speed (another
    process, a frequency change) falls on all of them alike rather than on one."""
    meters = list(meters)
    for _ in range(runs):
        for meter in meters:
            meter.run()


class DiscardHandler(logging.Handler):
    """A log handler that takes every record and writes nothing: the cost of logging up to the
    handler, without the cost of any I/O."""

    def emit(self, record: logging.LogRecord) -> None:
        return None


def check_reply(route: str, reply: Reply, hooks: bool = True) -> list[str]:
    """What is wrong with ``reply`` as the answer to ``route``; empty when it is right."""
    problems = []
    if not reply.status.startswith("200"):
        problems.append(f"status {reply.status!r}, not 200")
    expected = {"root": ROOT_BODY, "deep": DEEP_BODY, "static": STATIC_BODY}[route]
    if reply.body != expected:
        problems.append(f"body {reply.body[:60]!r}, not {expected[:60]!r}")
    if hooks:
        for header in (EARLY_HEADER, LATE_HEADER):
            if reply.header(header) != "1":
                problems.append(f"no {header} header: a hook did not run")
    return problems


def edit_and_check(app: WSGIApplication, root_handler: str, token: str) -> list[str]:
    """Edit the root handler twice and check that the very next request sees each edit.

    The first edit is an ordinary save (new bytes, new mtime and size). The second follows at
    once with the same length, so it may land in the same tick of the filesystem clock as the
    first: only the bytes tell them apart. The original source is put back at the end.

    :return: what went wrong; empty when both edits were seen.
    """
    with open(root_handler, "rb") as file:
        original = file.read()
    environ = make_environ(ROUTES["root"])
    problems = []
    try:
        for step, body in enumerate((f"edited {token} one", f"edited {token} two"), 1):
            with open(root_handler, "w", encoding="utf-8") as file:
                file.write(HANDLER_SOURCE.format(body=body.encode()))
            reply = fetch(app, environ)
            if reply.body != body.encode():
                problems.append(
                    f"after edit {step} the root answered {reply.body!r}, not {body.encode()!r}"
                )
    finally:
        with open(root_handler, "wb") as file:
            file.write(original)
    after = fetch(app, environ).body
    if after != ROOT_BODY:
        problems.append(f"after putting the handler back the root answered {after!r}")
    return problems


def quiet_waitress() -> None:
    """Silence waitress's "Task queue depth is N" warning, logged for every request that waits
    for a worker thread (most of them, once connections outnumber threads): that logging would
    be measured along with the app. Errors are still logged."""
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def port_of(server: object) -> int:
    """The port a waitress server made with ``port=0`` on one host listens on (waitress keeps
    it as ``getnameinfo`` gives it: a string)."""
    port = getattr(server, "effective_port", None)
    if port is None:
        raise TypeError(f"{server!r} listens on more than one socket or on none")
    return int(port)


def machine_line() -> str:
    """Python, platform and cores, for the head of every report."""
    import platform

    return (
        f"python {platform.python_version()} ({platform.python_implementation()}) on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores"
    )
