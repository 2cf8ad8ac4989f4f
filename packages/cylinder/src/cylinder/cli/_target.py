"""The SITE argument of ``routes``, ``check`` and ``explain``: a site folder, or an application.

Given ``module:name`` (as ``serve`` takes it), the application is built and its ``app_map`` is
asked, with a request built from ``--host`` and the path, which site it names and which extras
it hands to ``main()``. Nothing else of the application runs: no hook, handler or error handler.
"""

from __future__ import annotations

import argparse
import os
import re
import traceback
from dataclasses import dataclass

from werkzeug.test import EnvironBuilder

from cylinder_router import Site

from ._common import CommandError, UsageError, resolve_site
from .serve import load_target

__all__ = ["SITE_HELP", "Target", "add_site_arguments", "extra_name", "read_target"]

SITE_HELP = (
    "a site folder, e.g. `my_webapps/webapp1`, or `module:name` for an application whose "
    "`app_map` names the site"
)

#: ``package.module:attribute.path``, as ``serve`` reads it.
_MODULE_TARGET = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
#: A host as a ``Host`` header carries it: a name or address, and a port.
_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


@dataclass(frozen=True, slots=True)
class Target:
    """The site a command works on, and what is known of its extras.

    :param site: the site.
    :param extras: the names of the extras ``main()`` may ask for besides the built-ins: from
        ``app_map`` for an application, from ``--extra`` for a folder; None when a folder was
        given with no ``--extra``, so that nothing is known of them.
    :param mapped: for an application, the line saying what its ``app_map`` answered.
    """

    site: Site
    extras: frozenset[str] | None
    mapped: str | None = None


def extra_name(text: str) -> str:
    """Argument type of ``--extra``: a parameter name.

    :raises argparse.ArgumentTypeError: for anything else.
    """
    if not text.isidentifier():
        raise argparse.ArgumentTypeError(f"`{text}` is not a parameter name")
    return text


def add_site_arguments(parser: argparse.ArgumentParser, path_option: bool) -> None:
    """Add SITE and ``--host`` (and ``--path`` when ``path_option``) to a subcommand."""
    parser.add_argument("site", metavar="SITE", help=SITE_HELP)
    parser.add_argument(
        "--host",
        default="localhost",
        type=_host,
        help="for `module:name`: the host of the request `app_map` is asked about "
        "(default: localhost)",
    )
    if path_option:
        parser.add_argument(
            "--path",
            default="/",
            help="for `module:name`: the path of the request `app_map` is asked about (default: /)",
        )


def read_target(argument: str, host: str, path: str, extras: list[str] | None = None) -> Target:
    """The site that SITE names: a folder, or what ``app_map`` of ``module:name`` answers for
    ``http://HOST/PATH``.

    :param argument: SITE as typed.
    :param host: the request's host, for an application.
    :param path: the request's path, with its query if any, for an application.
    :param extras: names given with ``--extra``, for a folder.
    :raises UsageError: when SITE names no site, module or Cylinder application, or its
        ``app_map`` names a site that does not exist.
    :raises CommandError: when the application fails to import or build, or ``app_map`` fails.
    """
    if not (_MODULE_TARGET.fullmatch(argument) and not os.path.exists(argument)):
        known = frozenset(extras) if extras else None
        return Target(resolve_site(argument), known)
    if extras:
        raise UsageError(
            f"`--extra` is for a site folder: `{argument}` is an application, "
            "whose `app_map` says which extras there are"
        )
    served = load_target(argument)
    app = served.owned
    try:
        if app is None:
            raise UsageError(
                f"`{argument}` is a WSGI application but not one built by `cylinder.get_app`: "
                "give a site folder, or the Cylinder application"
            )
        url = f"http://{host}{path}"
        environ = EnvironBuilder(path=path, base_url=f"http://{host}/").get_environ()
        try:
            site, given = app.map_request(environ)
        except Exception as exc:
            traceback.print_exc()
            raise CommandError(f"`app_map` of `{argument}` failed for `{url}`: {exc}") from exc
        provided = [name for name in app.provided_names if name not in given]
    finally:
        if app is not None:
            app.close()
    mapped = f"`app_map` of `{argument}` names site `{site.site_name}` in `{site.site_dir}`"
    if not os.path.isdir(site.site_dir):
        raise UsageError(f"{mapped} for `{url}`, but `{site.site_dir}` is not a folder")
    names = sorted(given)
    listed = f"extras: {', '.join(names)}" if names else "no extras"
    if provided:
        listed += f"; the application provides: {', '.join(provided)}"
    return Target(site, frozenset((*names, *provided)), f"{mapped} for `{url}`, with {listed}")


def _host(text: str) -> str:
    if not _HOST.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"`{text}` is not a host: expected a name or address, with a port if you like "
            "(`example.com`, `localhost:8000`)"
        )
    return text
