"""cylinder-router: the file-based route resolver behind Cylinder.

It answers, from files on disk and as plain data, which files handle a request. It uses the
standard library only, so other tools can reuse it::

    from cylinder_router import Router, Site

    router = Router()
    site = Site.from_app_map("my_webapps", "webapp1")
    found = router.resolve(site, "/foo/bar", "GET")
    found.outcome          # Outcome.HANDLER
    found.handler.path     # .../my_webapps/webapp1/foo/bar.ex.get.py
    found.early_hook       # the nearest .eh. file, or None
    found.error_handler(400)

The router keeps each folder's parsed listing and checks it with one ``stat`` per folder on the
path, so a changed site is seen by the next call and a large site costs no more than a small one.
With a :class:`FolderWatch` (inotify, on Linux) it checks watched folders with no system call at
all; the watch's owner calls ``poll()`` once per request::

    watch = FolderWatch()
    router = Router(DirectoryCache(watch=watch))
    watch.poll()  # as each request arrives
    router.resolve(site, "/foo/bar", "GET")

To read a file that was found, open it with :func:`open_beneath`: it never follows a link out
of the folder, never blocks on a FIFO, and gives a descriptor of a regular file or an error::

    fd, st = open_beneath(site.folder, "css/style.css")
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
from .filenames import DEFAULT_METHOD, KNOWN_METHODS, Kind, NotRoute, RouteName, parse_filename
from .listing import DirectoryCache, Listing, SegmentFiles
from .methods import method_refusal
from .opening import open_beneath
from .paths import (
    RequestPath,
    is_inside,
    is_lookup_safe,
    split_path,
    static_refusal,
    target_refusal,
)
from .resolve import Level, Outcome, Resolution, RouteFile, Router, iter_candidates
from .site import Site
from .table import RejectedFile, RouteRow, RouteTable, StaticRow, route_table
from .watching import FolderWatch

__all__ = [
    "DEFAULT_METHOD",
    "KNOWN_METHODS",
    "DirectoryCache",
    "FolderWatch",
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
    "is_inside",
    "is_lookup_safe",
    "iter_candidates",
    "method_refusal",
    "open_beneath",
    "parse_filename",
    "route_table",
    "split_path",
    "static_refusal",
    "target_refusal",
]
