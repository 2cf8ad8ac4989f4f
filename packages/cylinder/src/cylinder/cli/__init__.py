"""The ``cylinder`` command: serve, list, explain, lint and start sites from a terminal::

    cylinder new myproject                          # a starter project
    cylinder serve myproject/my_webapps/webapp1     # serve it with waitress
    cylinder routes myproject/my_webapps/webapp1    # what answers each URL and method
    cylinder explain myproject/my_webapps/webapp1 GET /style.css
    cylinder check myproject/my_webapps/webapp1     # lint it; exit 1 on errors
    cylinder check cylinder_main:create_app         # the site and extras its app_map names

Each subcommand is one module here with ``HELP``, ``DESCRIPTION``, ``EXIT_CODES``,
``configure(parser)`` and ``run(args) -> int``. Exit codes: 0 done, 1 problems found or a
failure while running, 2 a usage error, 141 (128 + SIGPIPE) when the reader of the output
went away (``cylinder routes --json | head -1``). Errors go to stderr, naming the argument or
file at fault. ``cylinder`` alone prints the help and exits 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from types import ModuleType

from . import check, explain, new, routes, serve
from ._common import (
    EXIT_BROKEN_PIPE,
    EXIT_CODES_HELP,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    CommandError,
    UsageError,
)

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_OK",
    "EXIT_PROBLEMS",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

_DESCRIPTION = """\
Cylinder serves WSGI sites whose routes are the files on disk. This command serves a site,
shows which files answer which requests, lints a site, and starts new projects."""

_COMMANDS: tuple[tuple[str, ModuleType], ...] = (
    ("serve", serve),
    ("routes", routes),
    ("explain", explain),
    ("check", check),
    ("new", new),
)


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``cylinder`` command and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="cylinder",
        description=_DESCRIPTION,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(
        title="commands", metavar="COMMAND", dest="command", required=True
    )
    for name, module in _COMMANDS:
        sub = subparsers.add_parser(
            name,
            help=module.HELP,
            description=module.DESCRIPTION,
            epilog=module.EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.configure(sub)
        sub.set_defaults(prog=sub.prog)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``cylinder`` command.

    :param argv: the arguments after the program name; ``sys.argv[1:]`` when None.
    :return: the exit code.
    """
    parser = build_parser()
    arguments = sys.argv[1:] if argv is None else list(argv)
    try:
        if not arguments:  # a newcomer's first try: show what there is
            parser.print_help()
            sys.stdout.flush()
            return EXIT_OK
        try:
            args = parser.parse_args(arguments)
        except SystemExit as exc:  # --help, --version, or a usage error argparse printed
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
        command: Callable[[argparse.Namespace], int] = args.run
        try:
            code = command(args)
        except UsageError as exc:
            print(f"{args.prog}: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except CommandError as exc:
            print(f"{args.prog}: error: {exc}", file=sys.stderr)
            return EXIT_PROBLEMS
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        return _reader_gone()


def _reader_gone() -> int:
    """The reader of stdout went away (``| head``): stop quietly, as a process killed by
    SIGPIPE would, with its exit code, instead of printing a traceback.

    stdout is pointed at the null device first, so that flushing what is left in its buffer
    at exit cannot fail again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)
    return EXIT_BROKEN_PIPE


def _version() -> str:
    try:
        return metadata.version("cylinder")
    except metadata.PackageNotFoundError:
        return "unknown"
