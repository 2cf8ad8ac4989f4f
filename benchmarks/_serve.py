"""Serve one peer on the benchmark site with one WSGI server, for ``real_socket.py``.

Writes the site into ``--site-dir`` (an empty folder) and serves it on ``--port`` of 127.0.0.1
until terminated. The runner knows the server is ready when a request is answered.

Servers: ``waitress`` (``--threads`` threads), ``gunicorn-sync`` (``--threads`` worker
processes, one request at a time each, no keep-alive), ``gunicorn-gthread`` (one worker process
with ``--threads`` threads) and ``granian`` (its WSGI interface: one worker process, Rust I/O
threads, ``--threads`` Python threads). Peers that log (``flask-access``, ``cylinder-debug``)
write their records to stderr, which the runner sends to a file, as a deployment would.

    python benchmarks/_serve.py --server waitress --app cylinder-warning --port 8001 \\
        --site-dir /tmp/empty-folder
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from _apps import CYLINDER_LEVELS, cylinder_app, flask_app
from _bench import SiteLayout, build_site, quiet_waitress, werkzeug_app

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

APPS = ("werkzeug", "flask", "flask-access", *CYLINDER_LEVELS)
SERVERS = ("waitress", "gunicorn-sync", "gunicorn-gthread", "granian")


def build_app(name: str, layout: SiteLayout) -> WSGIApplication:
    """The peer ``name``, built where it will serve: after a fork, in a worker process, so that
    the threads of the peers that log (Flask's ``QueueListener``) run where the requests are."""
    if name == "werkzeug":
        return werkzeug_app(layout)
    if name in ("flask", "flask-access"):
        return flask_app(layout, access_log=name == "flask-access", stream=True)
    return cylinder_app(layout, CYLINDER_LEVELS[name], stream=True)


def serve_waitress(make: Callable[[], WSGIApplication], port: int, threads: int) -> None:
    from waitress.server import create_server

    quiet_waitress()
    create_server(make(), host="127.0.0.1", port=port, threads=threads).run()


def serve_gunicorn(
    make: Callable[[], WSGIApplication], port: int, threads: int, worker: str
) -> None:
    from gunicorn.app.base import BaseApplication

    options: dict[str, Any] = {"bind": f"127.0.0.1:{port}", "worker_class": worker}
    if worker == "sync":
        options["workers"] = threads
    else:
        options.update(workers=1, threads=threads)

    class Served(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> WSGIApplication:
            return make()  # in each worker: gunicorn forks before it loads

    Served().run()


def serve_granian(make: Callable[[], WSGIApplication], port: int, threads: int) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    # The loader runs in the worker process, forked (Python's default start method on Linux
    # before 3.14), so a closure will do.
    server = Granian(
        "benchmark:app",
        address="127.0.0.1",
        port=port,
        interface=Interfaces.WSGI,
        workers=1,
        runtime_threads=1,
        blocking_threads=threads,
        log_access=False,
    )
    server.serve(target_loader=make, wrap_loader=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--server", choices=SERVERS, default="waitress")
    parser.add_argument("--app", choices=APPS, required=True)
    parser.add_argument("--site-dir", required=True, help="an empty folder to write the site to")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=4, help="threads (or sync workers)")
    args = parser.parse_args()
    if os.listdir(args.site_dir):
        sys.exit(f"--site-dir {args.site_dir} is not empty")
    layout = build_site(args.site_dir)

    def make() -> WSGIApplication:
        return build_app(args.app, layout)

    if args.server == "waitress":
        serve_waitress(make, args.port, args.threads)
    elif args.server.startswith("gunicorn-"):
        serve_gunicorn(make, args.port, args.threads, args.server.removeprefix("gunicorn-"))
    else:
        serve_granian(make, args.port, args.threads)


if __name__ == "__main__":
    main()
