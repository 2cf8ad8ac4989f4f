"""What every subcommand shares: exit codes, the errors that set them, and the SITE argument."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import PurePath

from cylinder_router import Site, SiteError

from ._modules import module_instead_of_site

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_CODES_HELP",
    "EXIT_OK",
    "EXIT_PROBLEMS",
    "EXIT_USAGE",
    "CommandError",
    "UsageError",
    "aligned",
    "relative",
    "resolve_site",
]

#: The command did what was asked.
EXIT_OK = 0
#: ``check`` found errors, or the command failed while running (a port in use, a crash on import).
EXIT_PROBLEMS = 1
#: The command line cannot be acted on: a bad argument, a missing site, an unusable TARGET.
EXIT_USAGE = 2

#: The reader of the output went away (``cylinder routes --json | head -1``): 128 + SIGPIPE,
#: the status a shell shows for a program that a closed pipe stopped.
EXIT_BROKEN_PIPE = 141

#: The epilog of ``cylinder --help``; each subcommand has its own ``EXIT_CODES``.
EXIT_CODES_HELP = """\
`cylinder` with no command prints this help and exits 0.

exit codes:
  0  done; for `check`, no errors found (warnings may have been printed)
  1  `check` found errors, or the command failed while running
  2  usage error: a bad argument, no such site, or an unusable TARGET
  141  the reader of the output went away (`cylinder routes --json | head -1`), as for a
     program stopped by SIGPIPE; nothing is printed about it"""


class UsageError(Exception):
    """The command line names something that cannot be used; the command exits with 2.

    The message is lower-case and names the argument or file at fault in backticks.
    """


class CommandError(Exception):
    """The command failed while doing its work; it exits with 1."""


def resolve_site(argument: str) -> Site:
    """Read a SITE argument: the path of a site folder, such as ``my_webapps/webapp1``.

    Its parent is the ``site_dir``, its base name the ``site_name``. The site exists when the
    folder does, or when root files ``<parent>/<name>.*.py`` do (a site may be all root files).
    A Python module (``cylinder_main``, ``cylinder_main.py``) is not a site: the error names
    the ``module:name`` that was likely meant.

    :param argument: the path as typed.
    :raises UsageError: naming the path when no such site exists, or the fix when it is a
        Python module.
    """
    if not argument:
        raise UsageError("the site path is empty: give a site folder such as `my_webapps/webapp1`")
    folder = os.path.abspath(argument)
    site_dir, site_name = os.path.split(folder)
    if not site_name:
        raise UsageError(f"`{argument}` is a filesystem root, not a site folder")
    is_folder = os.path.isdir(folder)
    has_root_files = _has_root_files(site_dir, site_name)
    if not is_folder and not has_root_files:
        module = module_instead_of_site(argument)
        if module is not None:
            raise UsageError(module)
    if os.path.exists(folder) and not is_folder:
        raise UsageError(f"`{argument}` is a file, not a site folder")
    if not is_folder and not has_root_files:
        raise UsageError(
            f"no site at `{argument}`: there is no folder `{argument}` "
            f"and no root files `{site_name}.*.py` beside where it would be"
        )
    try:
        return Site.from_app_map(site_dir, site_name)
    except SiteError as exc:
        raise UsageError(f"`{argument}` cannot be a site: {exc}") from exc


def _has_root_files(site_dir: str, site_name: str) -> bool:
    try:
        names = os.listdir(site_dir)
    except OSError:
        return False
    prefix = site_name + "."
    # `<name>.<something>.py`: `<name>.py` alone is a module of that name, not a site.
    return any(
        name.startswith(prefix) and name.lower().endswith(".py") and len(name) > len(prefix) + 3
        for name in names
    )


def relative(site: Site, path: str) -> str:
    """``path`` relative to the folder that holds the site, with ``/`` separators.

    ``my_webapps/webapp1/foo/bar.ex.get.py`` becomes ``webapp1/foo/bar.ex.get.py``, the same on
    every machine and every OS, so that output can be committed and compared.
    """
    return PurePath(os.path.relpath(path, site.site_dir)).as_posix()


def aligned(rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    """Rows of cells, all of one length, as lines whose columns line up."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        (indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))).rstrip()
        for row in rows
    ]
