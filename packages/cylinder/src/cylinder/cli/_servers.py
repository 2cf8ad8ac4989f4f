"""The WSGI servers ``cylinder serve --server`` can run: waitress, gunicorn and granian.

waitress comes with ``cylinder``; gunicorn and granian are optional extras
(``pip install cylinder[gunicorn]``, ``pip install cylinder[granian]``). Each runner serves an
application already built in this process until SIGINT or SIGTERM, prints one line naming the
URL once it listens, and turns "cannot listen" into a :class:`CommandError`. None of the three
ships type information that ``mypy --strict`` can use here, so each is reached through
:mod:`importlib` and checked against the small protocols below.
"""

from __future__ import annotations

import importlib
import multiprocessing
import multiprocessing.util
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any, Protocol, cast

from ._common import CommandError

__all__ = ["SERVERS", "serve_with"]

_WSGIApp = Callable[..., object]
#: Prints the line naming where the server listens.
_Announce = Callable[[str], None]

#: ``--server`` choice -> the distribution to install, as the extra's name says.
SERVERS: dict[str, str] = {"waitress": "waitress", "gunicorn": "gunicorn", "granian": "granian"}


class _Waitress(Protocol):
    """The part of a waitress server used here."""

    def run(self) -> None: ...

    def close(self) -> None: ...


class _Granian(Protocol):
    """The part of a ``granian.Granian`` server used here."""

    def on_startup(self, hook: Callable[[], object]) -> Callable[[], object]: ...

    def serve(
        self,
        spawn_target: object = None,
        target_loader: Callable[[], _WSGIApp] | None = None,
        wrap_loader: bool = True,
    ) -> None: ...


#: granian logs to stdout by default; stdout is where the one "Serving" line goes.
_GRANIAN_LOGGING = {
    "handlers": {
        name: {"formatter": name, "class": "logging.StreamHandler", "stream": "ext://sys.stderr"}
        for name in ("console", "access")
    }
}
_GRANIAN_LOGGING["handlers"]["console"]["formatter"] = "generic"


def serve_with(
    server: str,
    app: _WSGIApp,
    host: str,
    port: int,
    threads: int,
    announce: _Announce,
    close: Callable[[], object] | None = None,
) -> None:
    """Serve ``app`` with ``server`` until SIGINT or SIGTERM.

    :param server: a key of :data:`SERVERS`.
    :param threads: how many requests are handled at once: waitress's threads, the threads of
        gunicorn's one ``gthread`` worker, granian's Python threads.
    :param announce: called once with the URL (or URLs) the server listens on.
    :param close: what writes out the application's queued log records; run in a granian
        worker process when it stops, since it ends without running :mod:`atexit` hooks.
    :raises CommandError: when the server is not installed, or cannot listen.
    """
    if server == "waitress":
        _waitress(app, host, port, threads, announce)
    elif server == "gunicorn":
        _gunicorn(app, host, port, threads, announce)
    elif server == "granian":
        _granian(app, host, port, threads, announce, close)
    else:  # argparse allows only the keys of SERVERS
        raise ValueError(f"unknown server `{server}`")


def _import(server: str, module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise CommandError(
            f"`--server {server}` needs {SERVERS[server]}, which is not installed: "
            f"`pip install cylinder[{server}]`"
        ) from exc


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _free_port(host: str, port: int) -> int:
    """Check that ``host`` and ``port`` can be listened on; for port 0, find a free port.

    gunicorn and granian bind in code of their own that retries (gunicorn, for 5 seconds) or
    logs instead of raising, and granian cannot report which port 0 got, so both are given a
    port checked here first. Another process could take it in between; that is the price.

    :raises CommandError: when nothing can listen there.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
            return int(probe.getsockname()[1])
    except OSError as exc:
        raise CommandError(f"cannot listen on `{host}` port {port}: {exc}") from exc


def _announce_when_listening(host: str, port: int, announce: _Announce) -> None:
    """Call ``announce`` once ``host`` and ``port`` accept a connection (within a minute)."""
    deadline = time.monotonic() + 60.0
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                announce(_url(host, port))
                return
        except OSError:
            time.sleep(0.05)


def _waitress(app: _WSGIApp, host: str, port: int, threads: int, announce: _Announce) -> None:
    waitress = _import("waitress", "waitress")
    try:
        server = cast(
            "_Waitress", waitress.create_server(app, host=host, port=port, threads=threads)
        )
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot listen on `{host}` port {port}: {exc}") from exc
    try:
        listening: list[tuple[str, int]] = getattr(server, "effective_listen", None) or [
            (getattr(server, "effective_host", "?"), getattr(server, "effective_port", 0))
        ]
        announce(", ".join(_url(address, number) for address, number in listening))
        server.run()  # returns on KeyboardInterrupt, after stopping its threads
    finally:
        server.close()


def _gunicorn(app: _WSGIApp, host: str, port: int, threads: int, announce: _Announce) -> None:
    base = _import("gunicorn", "gunicorn.app.base").BaseApplication
    port = _free_port(host, port)
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    settings: dict[str, object] = {
        "bind": bind,
        "worker_class": "gthread",
        "workers": 1,
        "threads": threads,
        "when_ready": lambda arbiter: announce(_url(host, port)),
        "post_worker_init": _quit_gracefully,
    }

    def load_config(self: object) -> None:
        config = self.cfg  # type: ignore[attr-defined]
        if "control_socket_disable" in config.settings:
            # gunicorn 24+ opens a control socket at one path per user by default, which two
            # servers started by one user would share.
            config.set("control_socket_disable", True)
        for key, value in settings.items():
            config.set(key, value)

    def load(self: object) -> _WSGIApp:
        return app  # built before the worker was forked; its log listener restarts in it

    served = type("CylinderGunicorn", (base,), {"load_config": load_config, "load": load})
    try:
        served().run()  # gunicorn's arbiter handles SIGINT and SIGTERM, then exits
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise CommandError(f"gunicorn stopped with exit status {exc.code}") from exc


def _quit_gracefully(worker: Any) -> None:
    """Make the worker's SIGINT and SIGQUIT (what the arbiter sends it on Ctrl-C) end it the
    way SIGTERM does: its loop stops and it exits.

    gunicorn's own quick exit for those signals shuts the thread pool down from the signal
    handler; when the signal lands while the main thread is handing a connection to that pool
    (holding the pool's lock), the worker deadlocks, and the arbiter kills it only after
    `graceful_timeout` (30 s). Seen about once in 25 Ctrl-C's after a keep-alive request.
    """
    signal.signal(signal.SIGINT, worker.handle_exit)
    signal.signal(signal.SIGQUIT, worker.handle_exit)


def _granian(
    app: _WSGIApp,
    host: str,
    port: int,
    threads: int,
    announce: _Announce,
    close: Callable[[], object] | None,
) -> None:
    granian = _import("granian", "granian")
    interfaces = _import("granian", "granian.constants").Interfaces
    port = _free_port(host, port)
    server = cast(
        "_Granian",
        granian.Granian(
            "cylinder:app",  # a label only: the loader below gives the application
            address=host,
            port=port,
            interface=interfaces.WSGI,
            workers=1,
            blocking_threads=threads,
            log_dictconfig=_GRANIAN_LOGGING,
        ),
    )
    # On Linux each granian worker opens its own listening socket once it has started, after
    # the startup hooks ran: the line is printed once a connection is accepted.
    server.on_startup(
        lambda: threading.Thread(
            target=_announce_when_listening,
            args=(host, port, announce),
            name="cylinder-serve-announce",
            daemon=True,
        ).start()
    )
    # The worker process is forked with the application in memory (its log listener restarts
    # after the fork). granian spawns instead unless the start method is `fork` (Python 3.14
    # made `forkserver` the default), and a spawned worker could not be handed the application.
    if multiprocessing.get_start_method() != "fork":
        multiprocessing.set_start_method("fork", force=True)

    def load() -> _WSGIApp:  # in the worker process
        if close is not None:
            # The worker ends with `os._exit` after multiprocessing's own exit function, which
            # runs the finalizers registered like this one, and no `atexit` hook.
            multiprocessing.util.Finalize(None, close, exitpriority=10)
        return app

    server.serve(target_loader=load, wrap_loader=False)
