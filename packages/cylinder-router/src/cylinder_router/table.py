"""The route table: every route file of a site as rows, for listing and linting.

Unlike resolution, which looks only at the folders on one request's path, the table walks the
whole site. It is read fresh from disk on every call (no cache): it serves tools, not requests.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass

from .errors import SiteError
from .filenames import Kind, near_miss
from .listing import Listing, read_listing
from .nonstatic import is_python_source, never_static
from .paths import RequestPath, is_inside, static_refusal, target_refusal
from .site import Site

__all__ = ["RejectedFile", "Rejection", "RouteRow", "RouteTable", "StaticRow", "route_table"]

_KIND_ORDER = {Kind.HANDLER: 0, Kind.EARLY_HOOK: 1, Kind.LATE_HOOK: 2, Kind.ERROR_HANDLER: 3}


@dataclass(frozen=True, slots=True)
class RouteRow:
    """One route file.

    :param prefix: the URL prefix it covers (``/`` for the site's root files).
    :param kind: handler, early hook, late hook or error handler.
    :param method: the lower-case method (``default`` included) for handlers and hooks.
    :param code: the status code for error handlers.
    :param file: the file's absolute path.
    """

    prefix: str
    kind: Kind
    method: str | None
    code: int | None
    file: str


@dataclass(frozen=True, slots=True)
class StaticRow:
    """A file that is served as it is on an exact GET of :attr:`url`.

    :param url: the one URL path that serves it.
    :param file: the file's absolute path.
    """

    url: str
    file: str


class Rejection(enum.Enum):
    """Why a file in a site is neither a route nor a static file."""

    #: The name looks like a route but breaks the grammar (``bar.ex.Get.py``): a mistake.
    NOT_A_ROUTE = "not a route"
    #: A plain module named almost like a route (``about.get.py``): probably a mistake.
    NEAR_MISS = "near miss"
    #: A copy of source or an editor's leftover (``page.ex.get.py~``): never served.
    NEVER_STATIC = "never static"


@dataclass(frozen=True, slots=True)
class RejectedFile:
    """A file whose name looks like a route but is not one, or that is never served.

    :param file: the file's absolute path.
    :param reason: what is wrong with the name, or why the file is never served.
    :param rejection: which of those it is.
    :param suggestion: for a near miss, the file name that was likely meant.
    """

    file: str
    reason: str
    rejection: Rejection = Rejection.NOT_A_ROUTE
    suggestion: str | None = None


@dataclass(frozen=True, slots=True)
class RouteTable:
    """Every route of a site.

    :param site: the site listed.
    :param routes: route files, sorted by prefix, then kind, then method or code.
    :param static_files: files served as they are, sorted by URL.
    :param rejected: names that look like routes but are not, and files that are never served
        though a request may name them (copies of source, editors' leftovers), sorted by file.
    """

    site: Site
    routes: tuple[RouteRow, ...]
    static_files: tuple[StaticRow, ...]
    rejected: tuple[RejectedFile, ...]


def route_table(site: Site) -> RouteTable:
    """Walk a site and list its routes, static files and rejected names.

    Folders are walked where they really are: a linked folder is not walked, because one that
    points outside the site folder is never entered by resolution either, and one that points
    inside it is listed at its real URL already. So each folder is listed once, whatever the
    order the filesystem lists names in.

    :raises SiteError: when ``site.site_dir`` is not a folder.
    """
    routes: list[RouteRow] = []
    static: list[StaticRow] = []
    rejected: list[RejectedFile] = []

    root_listing = read_listing(site.site_dir)
    if not root_listing.exists:
        raise SiteError(f"site folder `{site.site_dir}` does not exist")
    _collect_routes(root_listing, "", routes, only=site.site_name)
    prefix_dot = site.site_name + "."
    rejected.extend(
        RejectedFile(os.path.join(site.site_dir, item.name), item.reason)
        for item in root_listing.rejected
        if item.name.startswith(prefix_dot)
    )
    for name in sorted(root_listing.files):
        meant = near_miss(name)
        if meant is not None and meant.startswith(prefix_dot):
            file = os.path.join(site.site_dir, name)
            rejected.append(_near_miss(file, meant))

    real_root = os.path.realpath(site.folder)
    seen: set[str] = set()
    pending: list[tuple[str, tuple[str, ...]]] = [(site.folder, ())]
    while pending:
        folder, segments = pending.pop()
        real = os.path.realpath(folder)
        if real in seen or not is_inside(real, real_root):
            continue
        seen.add(real)
        listing = read_listing(folder)
        if not listing.exists:
            continue
        url = "".join(f"/{segment}" for segment in segments)
        _collect_routes(listing, url, routes)
        rejected.extend(
            RejectedFile(os.path.join(folder, item.name), item.reason) for item in listing.rejected
        )
        for name in sorted(listing.files):
            request_path = RequestPath((*segments, name))
            file = os.path.join(folder, name)
            refusal = static_refusal(request_path)
            if refusal is None:
                if target_refusal(file, real_root) is None:
                    static.append(StaticRow(request_path.normalized, file))
                continue
            meant = near_miss(name)
            if meant is not None:
                rejected.append(_near_miss(file, meant))
            elif refusal == never_static(name) and not is_python_source(name):
                rejected.append(RejectedFile(file, refusal, Rejection.NEVER_STATIC))
        pending.extend(
            (os.path.join(folder, name), (*segments, name))
            for name in listing.folders - listing.symlinks
        )

    routes.sort(key=_row_key)
    static.sort(key=lambda row: row.url)
    rejected.sort(key=lambda row: row.file)
    return RouteTable(site, tuple(routes), tuple(static), tuple(rejected))


def _near_miss(file: str, meant: str) -> RejectedFile:
    reason = f"a plain module that no request runs: did you mean `{meant}`?"
    return RejectedFile(file, reason, Rejection.NEAR_MISS, meant)


def _collect_routes(
    listing: Listing, url: str, rows: list[RouteRow], only: str | None = None
) -> None:
    for segment, files in listing.routes.items():
        if only is not None and segment != only:
            continue
        prefix = "/" if only is not None else f"{url}/{segment}"
        for kind in (Kind.HANDLER, Kind.EARLY_HOOK, Kind.LATE_HOOK):
            for method, name in files.by_kind(kind).items():
                rows.append(RouteRow(prefix, kind, method, None, os.path.join(listing.path, name)))
        for code, name in files.error_handlers.items():
            path = os.path.join(listing.path, name)
            rows.append(RouteRow(prefix, Kind.ERROR_HANDLER, None, code, path))


def _row_key(row: RouteRow) -> tuple[str, int, str, int]:
    return (row.prefix, _KIND_ORDER[row.kind], row.method or "", row.code or 0)
