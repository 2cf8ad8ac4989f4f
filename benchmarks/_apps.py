"""The peers on the benchmark site: Flask and Cylinder, built as their users would build them.

The bare Werkzeug floor lives in ``_bench.py`` (the original Cylinder's driver uses it too).
"""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import sys
import time
from logging.handlers import QueueHandler, QueueListener
from typing import TYPE_CHECKING

from _bench import (
    DEEP_BODY,
    EARLY_HEADER,
    LATE_HEADER,
    ROOT_BODY,
    ROUTES,
    SITE_NAME,
    DiscardHandler,
    SiteLayout,
    werkzeug_app,
)
from flask import Flask, Response, g, request

import cylinder

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

#: The Cylinder configurations measured: label -> log level. DEBUG is ``get_app``'s default:
#: every request puts one access record through the log queue. WARNING filters it out.
CYLINDER_LEVELS: dict[str, int] = {
    "cylinder-debug": logging.DEBUG,
    "cylinder-warning": logging.WARNING,
}


def source_line() -> str:
    """Which Cylinder is measured: the checkout it is imported from, its commit, and whether
    its ``packages/`` differ from that commit (such figures belong to no commit)."""
    where = os.path.dirname(os.path.abspath(cylinder.__file__))

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", where, *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    top = git("rev-parse", "--show-toplevel")
    if not top:
        return f"cylinder {cylinder.__version__} from {where} (not a git checkout)"
    commit = git("rev-parse", "--short", "HEAD")
    changed = git("-C", top, "status", "--porcelain", "--", "packages")
    state = "with uncommitted changes in packages/" if changed else "packages/ as committed"
    return f"cylinder {cylinder.__version__} from {top} at commit {commit}, {state}"


class FlaskWithAccessLog(Flask):
    """A Flask app that also logs one access record per request, the standard library's way to
    log without waiting for the handler: a ``QueueHandler`` on the request's side and a
    ``QueueListener`` thread feeding the same discarding handler Cylinder's records go to."""

    def drain_logs(self) -> None:
        """Wait until every queued record was handled (each timed run pays for its records)."""
        self.access_queue.join()

    def close(self) -> None:
        self.access_listener.stop()

    access_queue: queue.Queue[logging.LogRecord]
    access_listener: QueueListener


def flask_app(layout: SiteLayout, access_log: bool = False, stream: bool = False) -> Flask:
    """Flask doing the same work: a ``before_request`` and an ``after_request`` hook, the root
    and deep routes, and Flask's own static route for the static file. With ``access_log``, also
    one INFO record per request (method, path, status, milliseconds) as Cylinder logs at DEBUG,
    to a handler that discards it, or with ``stream`` to a ``StreamHandler`` on stderr."""
    kind = FlaskWithAccessLog if access_log else Flask
    app = kind("cylinder_benchmark", static_folder=layout.static_folder, static_url_path="/static")
    access: logging.Logger | None = None
    if isinstance(app, FlaskWithAccessLog):
        app.access_queue = queue.Queue(-1)
        access = logging.Logger("flask-access", logging.DEBUG)  # unregistered, like Cylinder's
        access.addHandler(QueueHandler(app.access_queue))
        handler = logging.StreamHandler(sys.stderr) if stream else DiscardHandler()
        app.access_listener = QueueListener(app.access_queue, handler)
        app.access_listener.start()

    @app.before_request
    def early_hook() -> None:
        g.early = "1"
        g.started = time.perf_counter()

    @app.after_request
    def late_hook(response: Response) -> Response:
        response.headers[EARLY_HEADER] = g.early
        response.headers[LATE_HEADER] = "1"
        if access is not None:
            elapsed = (time.perf_counter() - g.started) * 1000
            access.info(
                "%s %s %s %.2fms", request.method, request.path, response.status_code, elapsed
            )
        return response

    @app.get(ROUTES["root"])
    def root() -> bytes:
        return ROOT_BODY

    @app.get(ROUTES["deep"])
    def deep() -> bytes:
        return DEEP_BODY

    return app


def cylinder_app(layout: SiteLayout, log_level: int, stream: bool = False) -> cylinder.Application:
    """Cylinder on the benchmark site, as the README builds it, with ``log_level`` and a log
    handler that discards records (the queue, the listener thread and the handler call are all
    paid; only the I/O is not), or with ``stream`` Cylinder's default handler (stderr)."""
    site_dir = layout.site_dir

    def app_map(request: object) -> tuple[str, str, dict[str, object]]:
        return site_dir, SITE_NAME, {}

    handler = None if stream else DiscardHandler()
    return cylinder.get_app(app_map, log_level=log_level, log_handler=handler)


def build_peers(layout: SiteLayout) -> dict[str, WSGIApplication]:
    """Every in-process peer: label -> WSGI application."""
    apps: dict[str, WSGIApplication] = {
        "werkzeug": werkzeug_app(layout),
        "flask": flask_app(layout),
        "flask-access": flask_app(layout, access_log=True),
    }
    for label, level in CYLINDER_LEVELS.items():
        apps[label] = cylinder_app(layout, level)
    return apps
