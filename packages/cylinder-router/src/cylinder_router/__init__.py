"""cylinder-router: the file-based route resolver behind Cylinder.

It answers, from files on disk and as plain data, which files handle a request, and lists every
route of a site. It uses the standard library only and never imports or runs a site's files, so
other tools can reuse it: a linter, a static-site exporter, an editor plugin::

    from cylinder_router import Router, Site, route_table

    site = Site.from_app_map("my_webapps", "webapp1")
    for row in route_table(site).routes:
        print(row.prefix, row.kind.label, row.method or row.code, row.file)

    found = Router().resolve(site, "/foo/bar", "GET")
    found.outcome          # Outcome.HANDLER
    found.handler.path     # .../my_webapps/webapp1/foo/bar.ex.get.py
    found.early_hook       # the nearest .eh. file, or None
    found.error_handler(400)

A :class:`Router` keeps each folder's parsed listing and checks it with one ``stat`` per folder
on the path, so a changed site is seen by the next call and a large site costs no more than a
small one.

To read a file that was found, open it with :func:`open_beneath`: it never follows a link out
of the folder, never blocks on a FIFO, and gives a descriptor of a regular file or an error::

    fd, st = open_beneath(site.folder, "css/style.css")

``__all__`` lists what such tools need. The runtime also imports, by name, what serving requests
takes and tools do not: :class:`DirectoryCache` and :class:`FolderWatch` (listings checked with
inotify instead of ``stat``), :class:`FolderHandles` (site folders kept open while the watch
vouches for them, for ``open_beneath``'s ``base_fd``), and the path-safety helpers
:func:`is_inside`, :func:`is_lookup_safe` and :func:`target_refusal`, which :class:`Router`
and :func:`route_table` already apply.
"""

from __future__ import annotations

from .errors import (
    LeavesBaseError,
    MissingFileError,
    NotRegularFileError,
    OpenBeneathError,
    RefusedFileError,
    RouterError,
    SiteError,
)
from .filenames import (
    DEFAULT_METHOD,
    KNOWN_METHODS,
    Kind,
    NotRoute,
    RouteName,
    near_miss,
    parse_filename,
)
from .handles import FolderHandles as FolderHandles
from .listing import DirectoryCache as DirectoryCache
from .listing import Listing, SegmentFiles
from .methods import method_refusal
from .nonstatic import never_static
from .opening import open_beneath
from .paths import RequestPath, split_path, static_refusal
from .paths import is_inside as is_inside
from .paths import is_lookup_safe as is_lookup_safe
from .paths import target_refusal as target_refusal
from .resolve import Level, Outcome, Resolution, RouteFile, Router, iter_candidates
from .site import Site
from .table import RejectedFile, Rejection, RouteRow, RouteTable, StaticRow, route_table
from .watching import FolderWatch as FolderWatch

__all__ = [
    "DEFAULT_METHOD",
    "KNOWN_METHODS",
    "Kind",
    "LeavesBaseError",
    "Level",
    "Listing",
    "MissingFileError",
    "NotRegularFileError",
    "NotRoute",
    "OpenBeneathError",
    "Outcome",
    "RefusedFileError",
    "RejectedFile",
    "Rejection",
    "RequestPath",
    "Resolution",
    "RouteFile",
    "RouteName",
    "RouteRow",
    "RouteTable",
    "Router",
    "RouterError",
    "SegmentFiles",
    "Site",
    "SiteError",
    "StaticRow",
    "iter_candidates",
    "method_refusal",
    "near_miss",
    "never_static",
    "open_beneath",
    "parse_filename",
    "route_table",
    "split_path",
    "static_refusal",
]
