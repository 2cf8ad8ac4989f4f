"""``cylinder serve TARGET``: serve a site folder, or an application, with waitress."""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import re
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Protocol, cast

from cylinder import get_app
from cylinder_runtime import Application

from ._common import EXIT_OK, CommandError, UsageError, resolve_site

if TYPE_CHECKING:
    from signal import _HANDLER

__all__ = ["DESCRIPTION", "EXIT_CODES", "HELP", "Served", "configure", "load_target", "run"]

HELP = "serve a site folder or an application with waitress"
DESCRIPTION = """\
Serve TARGET over HTTP with waitress until Ctrl-C (SIGINT) or SIGTERM, which stop it cleanly.

TARGET is either
  a site folder, such as `my_webapps/webapp1`: served as the only site, its parent folder
    being `site_dir` and its name `site_name`; or
  `module:name`, such as `cylinder_main:create_app`: the module is imported with the current
    folder on `sys.path`, and `name` is either an application (built with `cylinder.get_app`,
    or any WSGI callable) or a function that takes no arguments and returns one.

Once listening, one line is printed: `Serving TARGET on http://HOST:PORT`. `--port 0` takes a
free port; the line shows which."""
EXIT_CODES = """\
exit codes:
  0  stopped by Ctrl-C (SIGINT) or SIGTERM
  1  cannot listen (port in use), or the application failed to import or build
  2  usage error: a bad option, no such site, or TARGET names no application"""

#: ``package.module:attribute.path``
_MODULE_TARGET = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")

_WSGIApp = Callable[..., object]


class _Server(Protocol):
    """The part of a waitress server used here (waitress ships no type information)."""

    def run(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Served:
    """A WSGI application ready to serve.

    :param app: the application.
    :param owned: the Cylinder application to close when serving stops, when there is one.
    """

    app: _WSGIApp
    owned: Application | None


def port_number(text: str) -> int:
    """Argument type of ``--port``: 0 to 65535.

    :raises argparse.ArgumentTypeError: for anything else.
    """
    if not (text.isascii() and text.isdigit() and int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"`{text}` is not a port: expected 0 to 65535")
    return int(text)


def thread_count(text: str) -> int:
    """Argument type of ``--threads``: a positive number.

    :raises argparse.ArgumentTypeError: for anything else.
    """
    if not (text.isascii() and text.isdigit() and int(text) > 0):
        raise argparse.ArgumentTypeError(f"`{text}` is not a thread count: expected 1 or more")
    return int(text)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``cylinder serve``."""
    parser.add_argument(
        "target", metavar="TARGET", help="a site folder, or `module:name` for an application"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=port_number,
        default=8000,
        help="the port to listen on; 0 takes a free one (default: 8000)",
    )
    parser.add_argument(
        "--threads",
        type=thread_count,
        default=4,
        metavar="N",
        help="how many requests are handled at once (default: 4)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve ``args.target`` until SIGINT or SIGTERM."""
    with _stop_on_signals():
        try:
            served = load_target(args.target)
            try:
                _serve(served.app, args)
            finally:
                if served.owned is not None:
                    served.owned.close()  # flushes the application's log queue
        except KeyboardInterrupt:
            pass  # a signal before the server ran, or while it was being closed
    return EXIT_OK


def _serve(app: _WSGIApp, args: argparse.Namespace) -> None:
    # waitress ships no type information: it is reached through `importlib`, so that the module
    # typed `Any` stays here and its server is checked against `_Server`.
    waitress = importlib.import_module("waitress")
    try:
        server = cast(
            "_Server",
            waitress.create_server(app, host=args.host, port=args.port, threads=args.threads),
        )
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot listen on `{args.host}` port {args.port}: {exc}") from exc
    try:
        print(f"Serving {args.target} on {_urls(server)}", flush=True)
        server.run()  # returns on KeyboardInterrupt, after stopping its threads
    finally:
        server.close()


def load_target(target: str) -> Served:
    """The application TARGET names.

    :raises UsageError: when TARGET names no site, module or application.
    :raises CommandError: when the site's own code fails while being imported or called.
    """
    if _MODULE_TARGET.fullmatch(target) and not os.path.exists(target):
        return _load_object(target)
    site = resolve_site(target)

    def app_map() -> tuple[str, str]:
        return site.site_dir, site.site_name

    app = get_app(app_map)
    return Served(app, app)


def _load_object(target: str) -> Served:
    module_name, _, attribute = target.partition(":")
    folder = os.getcwd()
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
            raise UsageError(
                f"TARGET `{target}`: no module `{exc.name}` in `{folder}` or on `sys.path`"
            ) from exc
        traceback.print_exc()
        raise CommandError(f"TARGET `{target}`: importing `{module_name}` failed: {exc}") from exc
    except Exception as exc:
        traceback.print_exc()
        raise CommandError(f"TARGET `{target}`: importing `{module_name}` failed: {exc}") from exc

    found: object = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise UsageError(f"TARGET `{target}`: `{module_name}` has no attribute `{attribute}`")
        found = getattr(found, part)

    if isinstance(found, Application):
        return Served(found, found)
    if not callable(found):
        raise UsageError(
            f"TARGET `{target}` is {type(found).__name__}, not an application or a function "
            "that returns one"
        )
    if not _takes_no_arguments(found):
        return Served(found, None)  # a WSGI callable: (environ, start_response)
    try:
        made = found()
    except Exception as exc:
        traceback.print_exc()
        raise CommandError(f"TARGET `{target}`: calling `{attribute}()` failed: {exc}") from exc
    if isinstance(made, Application):
        return Served(made, made)
    if not callable(made):
        raise UsageError(
            f"TARGET `{target}`: `{attribute}()` returned {type(made).__name__}, not an application"
        )
    return Served(made, None)


def _takes_no_arguments(func: Callable[..., object]) -> bool:
    try:
        inspect.signature(func).bind()
    except TypeError:
        return False
    except ValueError:  # no signature to read: a builtin, not a factory
        return False
    return True


def _urls(server: object) -> str:
    listening: list[tuple[str, int]] = getattr(server, "effective_listen", None) or [
        (getattr(server, "effective_host", "?"), getattr(server, "effective_port", 0))
    ]
    urls = []
    for host, port in listening:
        shown = f"[{host}]" if ":" in host else host
        urls.append(f"http://{shown}:{port}")
    return ", ".join(urls)


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Make SIGINT and SIGTERM stop the server, for as long as it serves.

    SIGINT is set too, as servers do: a process started in the background by a shell without
    job control inherits an ignored SIGINT, and must still stop when sent one.
    """

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous: list[tuple[signal.Signals, _HANDLER]] = []
    try:
        for number in (signal.SIGINT, signal.SIGTERM):
            previous.append((number, signal.signal(number, stop)))
    except ValueError:  # not the main thread, where signals cannot be set: leave them alone
        pass
    try:
        yield
    finally:
        for number, handler in previous:
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)
