"""The ``cylinder`` command: serve, list, explain, lint and start sites from a terminal::

    cylinder new myproject                       # a starter project
    cylinder serve myproject/sites/hello         # serve it with waitress
    cylinder routes myproject/sites/hello        # what answers each URL and method
    cylinder explain myproject/sites/hello GET /style.css
    cylinder check myproject/sites/hello         # lint it; exit 1 on errors

Each subcommand is one module here with ``HELP``, ``DESCRIPTION``, ``EXIT_CODES``,
``configure(parser)`` and ``run(args) -> int``. Exit codes: 0 done, 1 problems found or a
failure while running, 2 a usage error. Errors go to stderr, naming the argument or file at
fault.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from types import ModuleType

from . import check, explain, new, routes, serve
from ._common import (
    EXIT_CODES_HELP,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    CommandError,
    UsageError,
)

__all__ = ["EXIT_OK", "EXIT_PROBLEMS", "EXIT_USAGE", "build_parser", "main"]

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
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    command: Callable[[argparse.Namespace], int] = args.run
    try:
        return command(args)
    except UsageError as exc:
        print(f"{args.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CommandError as exc:
        print(f"{args.prog}: error: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS


def _version() -> str:
    try:
        return metadata.version("cylinder")
    except metadata.PackageNotFoundError:
        return "unknown"
