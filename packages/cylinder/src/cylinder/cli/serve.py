"""``cylinder serve TARGET``: serve a site folder, or an application, with waitress (or, with
``--server``, gunicorn or granian: see :mod:`cylinder.cli._servers`)."""

from __future__ import annotations

import argparse
import importlib
import inspect
import ipaddress
import os
import re
import signal
import socket
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING

from cylinder import DEBUG_VARIABLE, get_app
from cylinder_runtime import BUILTIN_NAMES, Application

from ._common import EXIT_OK, CommandError, UsageError, resolve_site
from ._servers import SERVERS, serve_with

if TYPE_CHECKING:
    from signal import _HANDLER

__all__ = [
    "DESCRIPTION",
    "EXIT_CODES",
    "HELP",
    "Served",
    "configure",
    "is_loopback",
    "load_target",
    "refuse_public_debug",
    "run",
]

HELP = "serve a site folder or an application with waitress, gunicorn or granian"
DESCRIPTION = """\
Serve TARGET over HTTP until Ctrl-C (SIGINT) or SIGTERM, which stop it cleanly.

TARGET is either
  a site folder, such as `my_webapps/webapp1`: served as the only site, its parent folder
    being `site_dir` and its name `site_name`; or
  `module:name`, such as `cylinder_main:create_app`: the module is imported with the current
    folder on `sys.path`, and `name` is an application (built with `cylinder.get_app`, or any
    WSGI callable), a function that takes no arguments and returns one, or an `app_map`
    (`cylinder_main:app_map`), around which the application is built.

A Python module or `.py` file given as TARGET (`cylinder_main`) is refused with the
`module:name` that was likely meant.

Once listening, one line is printed: `Serving TARGET on http://HOST:PORT`. `--port 0` takes a
free port; the line shows which.

`--server` picks the WSGI server: waitress (the default, installed with cylinder), gunicorn
(its `gthread` worker: one process, `--threads` threads; `pip install cylinder[gunicorn]`) or
granian (a Rust HTTP server, its WSGI interface: one process, `--threads` Python threads;
`pip install cylinder[granian]`).

`--debug` turns on the debug page: an uncaught error shows its traceback and source code in the
browser (for a `module:name` TARGET, `CYLINDER_DEBUG=1` is set while it is imported and built,
so an application built with `get_app(app_map)` turns it on). It is for development only: with
debug on, a `--host` that is not a loopback address is refused unless `--debug-public` is given
too."""
EXIT_CODES = """\
exit codes:
  0  stopped by Ctrl-C (SIGINT) or SIGTERM
  1  cannot listen (port in use), the application failed to import or build, or the
     `--server` chosen is not installed
  2  usage error: a bad option, no such site, TARGET names no application, or debug mode
     on a host that is not a loopback address without `--debug-public`"""

#: ``package.module:attribute.path``
_MODULE_TARGET = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")

_WSGIApp = Callable[..., object]


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
    parser.add_argument(
        "--server",
        choices=tuple(SERVERS),
        default="waitress",
        help="the WSGI server: waitress (default), gunicorn or granian (optional extras: "
        "`pip install cylinder[gunicorn]`, `pip install cylinder[granian]`)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show uncaught errors as a page with the traceback and source code (development "
        "only; refused on a host that is not a loopback address)",
    )
    parser.add_argument(
        "--debug-public",
        action="store_true",
        help="with --debug, allow a host that is not a loopback address: anyone who can "
        "connect sees tracebacks and source code",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve ``args.target`` until SIGINT or SIGTERM."""
    if args.debug_public and not args.debug:
        raise UsageError("`--debug-public` only goes with `--debug`")
    if args.debug:
        refuse_public_debug(args.host, args.debug_public, "`--debug`")
    with _stop_on_signals(), _debug_variable(args.debug):
        try:
            served = load_target(args.target, debug=args.debug)
            try:
                if served.owned is not None and served.owned.debug and not args.debug:
                    refuse_public_debug(args.host, args.debug_public, f"`{DEBUG_VARIABLE}=1`")
                _serve(served, args)
            finally:
                if served.owned is not None:
                    served.owned.close()  # flushes the application's log queue
        except KeyboardInterrupt:
            pass  # a signal before the server ran, or while it was being closed
    return EXIT_OK


def _serve(served: Served, args: argparse.Namespace) -> None:
    def announce(urls: str) -> None:
        print(f"Serving {args.target} on {urls}", flush=True)

    close = served.owned.close if served.owned is not None else None
    serve_with(args.server, served.app, args.host, args.port, args.threads, announce, close)


def load_target(target: str, debug: bool = False) -> Served:
    """The application TARGET names.

    :param debug: build the site's application in debug mode; for a module, check that the
        application it builds is in debug mode (``CYLINDER_DEBUG=1`` should have seen to it).
    :raises UsageError: when TARGET names no site, module or application, or ``debug`` is asked
        of an application built with ``debug=False``.
    :raises CommandError: when the site's own code fails while being imported or called.
    """
    if _MODULE_TARGET.fullmatch(target) and not os.path.exists(target):
        served = _load_object(target)
        if debug and served.owned is not None and not served.owned.debug:
            served.owned.close()
            raise UsageError(
                f"TARGET `{target}` builds its application with `debug=False`, which `--debug` "
                "cannot change: call `get_app` without `debug` (it then reads "
                f"`{DEBUG_VARIABLE}`) or with `debug=True`"
            )
        if debug and served.owned is None:
            print(
                f"cylinder serve: note: TARGET `{target}` is not a Cylinder application; "
                f"`--debug` only set `{DEBUG_VARIABLE}=1` while it was built",
                file=sys.stderr,
            )
        return served
    site = resolve_site(target)

    def app_map() -> tuple[str, str]:
        return site.site_dir, site.site_name

    app = get_app(app_map, debug=True if debug else None)
    return Served(app, app)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) reaches only this machine.

    A name counts when every address it resolves to is a loopback address; a name that does
    not resolve does not count.
    """
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        addresses = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    try:
        return bool(addresses) and all(
            ipaddress.ip_address(str(info[4][0])).is_loopback for info in addresses
        )
    except ValueError:
        return False


def refuse_public_debug(host: str, debug_public: bool, why: str) -> None:
    """Refuse to serve in debug mode where others can connect, unless told to.

    :param why: what turned debug mode on, for the message.
    :raises UsageError: when ``host`` is not a loopback address and ``debug_public`` is False.
    """
    if debug_public or is_loopback(host):
        return
    raise UsageError(
        f"`--host {host}` is not a loopback address, and debug mode ({why}) shows tracebacks "
        "and source code to anyone who can connect: serve on 127.0.0.1, or add `--debug-public` "
        "if you accept that"
    )


@contextmanager
def _debug_variable(debug: bool) -> Iterator[None]:
    """With ``debug``, set ``CYLINDER_DEBUG=1`` while serving; restore it after."""
    if not debug:
        yield
        return
    previous = os.environ.get(DEBUG_VARIABLE)
    os.environ[DEBUG_VARIABLE] = "1"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[DEBUG_VARIABLE]
        else:
            os.environ[DEBUG_VARIABLE] = previous


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
        if _asks_only_for_builtins(found):  # an `app_map`: the application is built around it
            app = get_app(found)
            return Served(app, app)
        return Served(found, None)  # a WSGI callable: (environ, start_response)
    try:
        made = found()
    except Exception as exc:
        traceback.print_exc()
        raise CommandError(f"TARGET `{target}`: calling `{attribute}()` failed: {exc}") from exc
    if isinstance(made, Application):
        return Served(made, made)
    if isinstance(made, tuple):  # an `app_map` that asks for nothing: it named a site
        app = get_app(found)
        return Served(app, app)
    if not callable(made):
        raise UsageError(
            f"TARGET `{target}`: `{attribute}()` returned {type(made).__name__}, not an application"
        )
    return Served(made, None)


def _asks_only_for_builtins(func: Callable[..., object]) -> bool:
    """Whether ``func`` reads like an ``app_map``: every parameter a built-in name."""
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return False
    return all(
        parameter.name in BUILTIN_NAMES
        and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
        for parameter in parameters
    )


def _takes_no_arguments(func: Callable[..., object]) -> bool:
    try:
        inspect.signature(func).bind()
    except TypeError:
        return False
    except ValueError:  # no signature to read: a builtin, not a factory
        return False
    return True


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
