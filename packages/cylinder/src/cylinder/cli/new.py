"""``cylinder new DIR``: a starter project that runs at once.

The files are copied from ``templates/`` beside this module, each without its ``.tmpl`` suffix
(the suffix keeps linters and type checkers away from code that is only a template).
"""

from __future__ import annotations

import argparse
import os
from importlib import resources
from importlib.resources.abc import Traversable

from ._common import EXIT_OK, CommandError, UsageError

__all__ = ["DESCRIPTION", "EXIT_CODES", "HELP", "configure", "run", "starter_files"]

HELP = "create a starter project"
DESCRIPTION = """\
Create a starter project in DIR, which must not exist yet or be empty:

  DIR/cylinder_main.py                  builds the application and serves it with waitress
  DIR/my_webapps/webapp1.ex.get.py      the handler of `GET /`
  DIR/my_webapps/webapp1.eh.get.py      an early hook, run before every GET
  DIR/my_webapps/webapp1.404.py         the site's own 404 page
  DIR/my_webapps/webapp1/style.css      a static file, served at `/style.css`

This is the layout the docs use: `app_map` in `cylinder_main.py` names the site folder
`my_webapps` and the site `webapp1`. Run it with `cylinder serve DIR/my_webapps/webapp1`,
`python DIR/cylinder_main.py`, or from DIR, `cylinder serve cylinder_main:create_app`."""
EXIT_CODES = """\
exit codes:
  0  created
  1  a file could not be written
  2  usage error: DIR is a file, or a folder that is not empty"""

_SUFFIX = ".tmpl"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``cylinder new``."""
    parser.add_argument("dir", metavar="DIR", help="the folder to create")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the starter project into ``args.dir``."""
    target: str = args.dir
    if os.path.exists(target):
        if not os.path.isdir(target):
            raise UsageError(f"`{target}` is a file: give a new folder")
        if os.listdir(target):
            raise UsageError(f"`{target}` is not empty: give a new or empty folder")
    files = starter_files()
    try:
        for name, text in files:
            path = os.path.join(target, *name.split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "x", encoding="utf-8", newline="\n") as file:
                file.write(text)
    except OSError as exc:
        raise CommandError(f"cannot write into `{target}`: {exc}") from exc
    shown = target.rstrip("/\\") or target
    print(f"created `{shown}`:")
    for name, _ in files:
        print(f"  {shown}/{name}")
    print()
    print(f"serve it:   cylinder serve {shown}/my_webapps/webapp1")
    print(f"or run:     python {shown}/cylinder_main.py")
    print(f"its routes: cylinder routes {shown}/my_webapps/webapp1")
    return EXIT_OK


def starter_files() -> list[tuple[str, str]]:
    """The starter project as ``(relative path with / separators, text)``, sorted."""
    files: list[tuple[str, str]] = []
    _collect(resources.files("cylinder.cli").joinpath("templates"), "", files)
    return sorted(files)


def _collect(folder: Traversable, prefix: str, files: list[tuple[str, str]]) -> None:
    for entry in folder.iterdir():
        if entry.is_dir():
            _collect(entry, f"{prefix}{entry.name}/", files)
        elif entry.name.endswith(_SUFFIX):
            files.append((prefix + entry.name[: -len(_SUFFIX)], entry.read_text("utf-8")))
