"""``cylinder routes SITE [--json]``: what answers each URL prefix and method, and around it.

For every prefix that has handler files, one row per method: the handler that answers it, the
early and late hooks that run around it, and the error handlers in scope. Then the static files,
with their hooks and error handlers. Nothing is imported or run: it is all read from file names.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cylinder_router import (
    DEFAULT_METHOD,
    Kind,
    Level,
    Outcome,
    Rejection,
    RouteFile,
    Router,
    RouteTable,
    Site,
    route_table,
    split_path,
)

from ._common import EXIT_OK, aligned, relative
from ._target import add_site_arguments, read_target

__all__ = [
    "DESCRIPTION",
    "EXIT_CODES",
    "HELP",
    "RouteEntry",
    "StaticEntry",
    "configure",
    "error_handlers_in_scope",
    "list_routes",
    "nearest",
    "run",
]

HELP = "list what answers each URL prefix and method"
DESCRIPTION = """\
List the routes of SITE: for each URL prefix and method, the handler file that answers it, the
early and late hooks that run around it and the error handlers in scope (the nearest one for
each status code); then the static files, with the same. No site code is imported or run.

SITE is a site folder, or `module:name` as `cylinder serve` takes it: then the application is
built and its `app_map` asked which site answers `http://HOST/PATH` (`--host`, `--path`); no
other code of the application runs.

The method column holds the method as sent (GET, POST) or `default` for a catch-all
`.ex.default.py` file (any method without a file of its own). HEAD is answered as GET unless
a `.ex.head.py` file exists, so it has no rows of its own. A handler whose GET is taken by a
static file of the same URL has no GET row: `cylinder check` warns about it.

Last come the files that are neither routes nor served: names that look like routes but are
not (`cylinder check` says why), and copies of source or editors' leftovers (`page.ex.get.py~`,
`contact.ex.get`), which a request may name but is never given.

With --json the same facts are printed as JSON with sorted keys, paths relative to the folder
that holds the site and `/` separators: commit it, and a diff shows any URL moving to another
file."""
EXIT_CODES = """\
exit codes:
  0  listed
  1  the application failed to import or build, or its `app_map` failed
  2  usage error: a bad option, no such site or application, or a Python module given as SITE"""


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """What answers one method at one URL prefix.

    :param prefix: the URL prefix of the handler file.
    :param method: the upper-case method, or ``default`` for the catch-all row.
    :param handler: the handler file.
    :param early_hook: the early hook that runs before it, if any.
    :param late_hook: the late hook that runs after it, if any.
    :param error_handlers: status code -> the nearest error handler for a request at the prefix.
    """

    prefix: str
    method: str
    handler: str
    early_hook: str | None
    late_hook: str | None
    error_handlers: Mapping[int, str]


@dataclass(frozen=True, slots=True)
class StaticEntry:
    """A static file and what runs around it on GET.

    :param url: the one URL that serves it.
    :param file: the file.
    :param early_hook: the early hook that runs before it, if any.
    :param late_hook: the late hook that runs after it, if any.
    :param error_handlers: status code -> the nearest error handler for its URL.
    """

    url: str
    file: str
    early_hook: str | None
    late_hook: str | None
    error_handlers: Mapping[int, str]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``cylinder routes``."""
    add_site_arguments(parser, path_option=True)
    parser.add_argument("--json", action="store_true", help="print stable JSON instead of text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the route table of ``args.site``."""
    target = read_target(args.site, args.host, args.path)
    site = target.site
    table = route_table(site)
    routes, static = list_routes(site, table)
    if args.json:
        print(json.dumps(_as_json(site, table, routes, static), indent=2, sort_keys=True))
    else:
        lines = _as_text(args.site, site, table, routes, static)
        if target.mapped is not None:
            lines.insert(1, target.mapped)
        for line in lines:
            print(line)
    return EXIT_OK


def list_routes(
    site: Site, table: RouteTable, router: Router | None = None
) -> tuple[list[RouteEntry], list[StaticEntry]]:
    """What answers each prefix and method of a site, and what answers each static URL.

    The methods listed for a prefix are those of its own handler files and of the hooks on its
    way up to the root (a ``get`` hook above a ``default`` handler makes GET differ from the
    rest); a method is listed only where a handler file at the prefix itself answers it.

    :param site: the site.
    :param table: its route table.
    :param router: the router to resolve with (a new one by default).
    """
    router = router if router is not None else Router()
    entries: list[RouteEntry] = []
    prefixes = sorted({row.prefix for row in table.routes if row.kind is Kind.HANDLER})
    for prefix in prefixes:
        request_path = split_path(prefix)
        depth = len(request_path.segments)
        levels = router.levels(site, request_path)
        if len(levels) != depth + 1:
            continue  # a folder on the way cannot be entered: nothing here is ever reached
        here = levels[-1]
        scope = error_handlers_in_scope(levels)
        methods = set(here.handler_methods())
        for level in levels:
            files = level.listing.routes.get(level.segment)
            if files is not None:
                methods.update(files.early_hooks, files.late_hooks)
        for method in sorted(methods, key=lambda m: (m == DEFAULT_METHOD, m)):
            if method == DEFAULT_METHOD:
                handler = here.find(Kind.HANDLER, DEFAULT_METHOD)
                early = nearest(levels, Kind.EARLY_HOOK, DEFAULT_METHOD)
                late = nearest(levels, Kind.LATE_HOOK, DEFAULT_METHOD)
                shown = DEFAULT_METHOD
            else:
                found = router.resolve(site, request_path, method.upper())
                if found.outcome is not Outcome.HANDLER or found.head_as_get:
                    continue
                handler, early, late = found.handler, found.early_hook, found.late_hook
                shown = method.upper()
            if handler is None or handler.depth != depth:
                continue  # answered by a file further up: that prefix lists it
            entries.append(
                RouteEntry(prefix, shown, handler.path, _path(early), _path(late), scope)
            )

    static: list[StaticEntry] = []
    for row in table.static_files:
        found = router.resolve(site, row.url, "GET")
        static.append(
            StaticEntry(
                row.url,
                row.file,
                _path(found.early_hook),
                _path(found.late_hook),
                error_handlers_in_scope(found.levels),
            )
        )
    return entries, static


def nearest(levels: Iterable[Level], kind: Kind, method: str) -> RouteFile | None:
    """The deepest file of ``kind`` for ``method`` (exact, else ``default``) on ``levels``."""
    for level in reversed(tuple(levels)):
        found = level.find(kind, method)
        if found is not None:
            return found
    return None


def error_handlers_in_scope(levels: Iterable[Level]) -> dict[int, str]:
    """Status code -> the nearest error-handler file, for a request whose search is ``levels``
    (root first, as :meth:`cylinder_router.Router.levels` gives them)."""
    found: dict[int, str] = {}
    for level in levels:
        files = level.listing.routes.get(level.segment)
        if files is not None:
            for code, name in files.error_handlers.items():
                found[code] = os.path.join(level.listing.path, name)  # deeper levels win
    return dict(sorted(found.items()))


def _path(route_file: RouteFile | None) -> str | None:
    return route_file.path if route_file is not None else None


def _as_json(
    site: Site, table: RouteTable, routes: list[RouteEntry], static: list[StaticEntry]
) -> dict[str, object]:
    def rel(path: str | None) -> str | None:
        return relative(site, path) if path is not None else None

    def scope(handlers: Mapping[int, str]) -> dict[str, str]:
        return {str(code): relative(site, path) for code, path in handlers.items()}

    return {
        "site": site.site_name,
        "routes": [
            {
                "prefix": entry.prefix,
                "method": entry.method,
                "handler": rel(entry.handler),
                "early_hook": rel(entry.early_hook),
                "late_hook": rel(entry.late_hook),
                "error_handlers": scope(entry.error_handlers),
            }
            for entry in routes
        ],
        "static_files": [
            {
                "url": entry.url,
                "file": rel(entry.file),
                "early_hook": rel(entry.early_hook),
                "late_hook": rel(entry.late_hook),
                "error_handlers": scope(entry.error_handlers),
            }
            for entry in static
        ],
        "rejected": [
            {
                "file": relative(site, item.file),
                "reason": item.reason,
                "rejection": item.rejection.value,
            }
            for item in table.rejected
        ],
    }


def _as_text(
    argument: str,
    site: Site,
    table: RouteTable,
    routes: list[RouteEntry],
    static: list[StaticEntry],
) -> list[str]:
    def rel(path: str | None) -> str:
        return relative(site, path) if path is not None else "-"

    def scope(handlers: Mapping[int, str]) -> str:
        return ", ".join(f"{code} {relative(site, path)}" for code, path in handlers.items()) or "-"

    lines = [f"routes of `{argument}`", ""]
    if routes:
        rows = [["PREFIX", "METHOD", "HANDLER", "EARLY HOOK", "LATE HOOK", "ERROR HANDLERS"]]
        rows += [
            [
                entry.prefix,
                entry.method,
                rel(entry.handler),
                rel(entry.early_hook),
                rel(entry.late_hook),
                scope(entry.error_handlers),
            ]
            for entry in routes
        ]
        lines += aligned(rows)
    else:
        lines.append("no handler files")
    lines.append("")
    if static:
        lines.append("static files, served on GET and HEAD:")
        rows = [["URL", "FILE", "EARLY HOOK", "LATE HOOK", "ERROR HANDLERS"]]
        rows += [
            [
                entry.url,
                rel(entry.file),
                rel(entry.early_hook),
                rel(entry.late_hook),
                scope(entry.error_handlers),
            ]
            for entry in static
        ]
        lines += aligned(rows)
    else:
        lines.append("no static files")
    not_routes = [item for item in table.rejected if item.rejection is not Rejection.NEVER_STATIC]
    if not_routes:
        count = len(not_routes)
        looks = "file looks like a route but is" if count == 1 else "files look like routes but are"
        lines += ["", f"{count} {looks} not; `cylinder check` says why:"]
        lines += [f"  {relative(site, item.file)}" for item in not_routes]
    never = [item for item in table.rejected if item.rejection is Rejection.NEVER_STATIC]
    if never:
        count = len(never)
        files = "file is" if count == 1 else "files are"
        lines += ["", f"{count} {files} never served, though a request may name them:"]
        lines += aligned([[relative(site, item.file), item.reason] for item in never], "  ")
    return lines
