"""A site's routes, and the files that answer one request, from cylinder-router alone.

cylinder-router reads file names: it needs neither Werkzeug nor the rest of Cylinder, and it
never imports or runs a file of the site. This is the kind of tool it is there for (a linter, a
static-site exporter, an editor plugin)::

    python examples/router_only/list_routes.py examples/site/my_webapps webapp1
    python examples/router_only/list_routes.py examples/site/my_webapps webapp1 GET /api/v1/users/7
"""

from __future__ import annotations

import argparse
import os
import sys

from cylinder_router import Resolution, RouteFile, Router, Site, SiteError, route_table


def list_routes(site: Site) -> list[str]:
    """One line per route file and per static file of ``site``, then the misnamed files."""
    table = route_table(site)
    lines = []
    for row in table.routes:
        what = row.method if row.method is not None else str(row.code)
        lines.append(f"{row.prefix:<15} {row.kind.label:<13} {what:<8} {shown(site, row.file)}")
    for static in table.static_files:
        lines.append(f"{static.url:<15} {'static file':<13} {'get':<8} {shown(site, static.file)}")
    for rejected in table.rejected:
        lines.append(f"not a route: {shown(site, rejected.file)}: {rejected.reason}")
    return lines


def explain(site: Site, method: str, path: str) -> list[str]:
    """What answers ``method path`` on ``site``, found the way Cylinder finds it."""
    found: Resolution = Router().resolve(site, path, method)
    answer = found.handler or found.static_file
    lines = [
        f"{method} {path}: {found.outcome.value}",
        f"  early hook   {shown(site, found.early_hook)}",
        f"  answered by  {shown(site, answer)}",
        f"  late hook    {shown(site, found.late_hook)}",
        f"  allowed      {found.allow_header}",
    ]
    if found.handler is not None:
        lines.append(f"  rest of path {'/'.join(found.rest) or '-'}")  # the handler reads it
    for code in (404, 500):
        lines.append(f"  {code} handler  {shown(site, found.error_handler(code))}")
    return lines


def shown(site: Site, file: RouteFile | str | None) -> str:
    """A file as a path relative to the folder that holds the site, or ``-``."""
    if file is None:
        return "-"
    path = file.path if isinstance(file, RouteFile) else file
    return os.path.relpath(path, site.site_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site_dir", help="the folder that holds the site, as app_map returns it")
    parser.add_argument("site_name", help="the site's name, as app_map returns it")
    parser.add_argument("method", nargs="?", help="a request method, such as GET")
    parser.add_argument("path", nargs="?", help="a URL path, such as /api/v1/users/7")
    args = parser.parse_args(argv)
    if (args.method is None) != (args.path is None):
        parser.error("give both METHOD and PATH, or neither")
    try:
        site = Site.from_app_map(args.site_dir, args.site_name)
        asked = args.method is not None
        lines = explain(site, args.method, args.path) if asked else list_routes(site)
    except SiteError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
