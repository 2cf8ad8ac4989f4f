"""Resolution: which files answer a request, found by searching up the tree.

For a path ``/s1/.../sn`` the search looks at ``n + 1`` levels, deepest first: level ``k`` holds the
files of segment ``sk`` in folder ``<site>/s1/.../s(k-1)``; level 0 is the site's root files,
``<site_dir>/<site_name>.*``. Handlers, early hooks, late hooks and error handlers are each searched
on their own; at each level the exact method comes before ``default``; the first file found wins.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import SiteError
from .filenames import DEFAULT_METHOD, Kind, RouteName
from .listing import DirectoryCache, Listing
from .methods import method_refusal
from .paths import (
    RequestPath,
    is_inside,
    is_lookup_safe,
    split_path,
    static_refusal,
    target_refusal,
)
from .site import Site

__all__ = ["Level", "Outcome", "Resolution", "RouteFile", "Router"]

_GET = "get"
_HEAD = "head"
_OPTIONS = "options"

#: Resolutions a router keeps for reuse while the folders they were read from are unchanged.
MAX_RESOLUTIONS = 4096

#: What a resolution is kept under: site folder, site name, path, method.
_Key = tuple[str, str, str, str]


class Outcome(enum.Enum):
    """What answers a request, before any handler runs."""

    #: A handler file (``.ex.``) was found.
    HANDLER = "handler"
    #: A static file matched the path exactly (GET and HEAD).
    STATIC = "static"
    #: OPTIONS with no handler for it, on a path where something answers other methods: the
    #: framework answers 204 with ``Allow``.
    OPTIONS = "options"
    #: Nothing on the path handles any method: 404.
    NOT_FOUND = "not found"
    #: Handlers exist on the path, but not for this method: 405 with ``Allow``.
    METHOD_NOT_ALLOWED = "method not allowed"
    #: The method can never be routed: 501.
    NOT_IMPLEMENTED = "not implemented"


@dataclass(frozen=True, slots=True)
class RouteFile:
    """A route file chosen by the search.

    :param path: the file's absolute path.
    :param route: its parsed name.
    :param depth: how many URL segments its prefix has (0 for the site's root files).
    :param prefix: the URL prefix the file covers (``/`` for the root files).
    :param exact: True when it matched the method exactly, False for a ``default`` file;
        always True for error handlers.
    """

    path: str
    route: RouteName
    depth: int
    prefix: str
    exact: bool


@dataclass(frozen=True, slots=True)
class Level:
    """One step of the search: a segment and the listing of the folder holding its files.

    :param depth: 0 for the site root, ``k`` for the ``k``-th URL segment.
    :param segment: the segment (the site name at depth 0).
    :param listing: the folder that holds this segment's files.
    :param prefix: the URL prefix of files found here.
    """

    depth: int
    segment: str
    listing: Listing
    prefix: str

    def find(self, kind: Kind, method: str) -> RouteFile | None:
        """The file of this kind for ``method`` (exact, else ``default``) at this level."""
        files = self.listing.routes.get(self.segment)
        if files is None:
            return None
        table = files.by_kind(kind)
        name = table.get(method)
        exact = name is not None
        if name is None:
            name = table.get(DEFAULT_METHOD)
            if name is None:
                return None
        route = RouteName(self.segment, kind, method if exact else DEFAULT_METHOD)
        return RouteFile(
            os.path.join(self.listing.path, name), route, self.depth, self.prefix, exact
        )

    def find_error_handler(self, code: int) -> RouteFile | None:
        """The ``<segment>.<code>.py`` file at this level."""
        files = self.listing.routes.get(self.segment)
        if files is None:
            return None
        name = files.error_handlers.get(code)
        if name is None:
            return None
        route = RouteName(self.segment, Kind.ERROR_HANDLER, code=code)
        return RouteFile(
            os.path.join(self.listing.path, name), route, self.depth, self.prefix, True
        )

    def handler_methods(self) -> frozenset[str]:
        """The lower-case methods of the handler files at this level (``default`` included)."""
        files = self.listing.routes.get(self.segment)
        return frozenset(files.handlers) if files is not None else frozenset()


@dataclass(frozen=True, slots=True)
class Resolution:
    """Everything the router knows about a request, as plain data.

    :param path: the request path as matched.
    :param method: the request method as sent.
    :param route_method: the lower-case method the files were searched for: the request's,
        ``get`` when HEAD fell back to GET, ``default`` when the method cannot be routed.
    :param head_as_get: HEAD with no ``head`` or ``default`` handler on the path, routed as GET.
    :param outcome: what answers the request.
    :param early_hook: the nearest early hook for ``route_method``, if any.
    :param handler: the handler, when :attr:`outcome` is ``HANDLER``.
    :param late_hook: the nearest late hook for ``route_method``, if any.
    :param static_file: the file to serve, when :attr:`outcome` is ``STATIC``.
    :param allowed: upper-case methods answered on this path (for ``Allow``): the handlers'
        methods, GET and HEAD for a static file, HEAD where GET is handled, and OPTIONS.
    :param any_method: a ``default`` handler on the path takes every method.
    :param prefix: the URL prefix of the handler or static file, else None.
    :param rest: the segments below :attr:`prefix` (all of them when nothing matched).
    :param refusal: why the method cannot be routed, for ``NOT_IMPLEMENTED``.
    :param levels: the search levels, root first, kept for error-handler lookups.
    """

    path: RequestPath
    method: str
    route_method: str
    head_as_get: bool
    outcome: Outcome
    early_hook: RouteFile | None
    handler: RouteFile | None
    late_hook: RouteFile | None
    static_file: str | None
    allowed: frozenset[str]
    any_method: bool
    prefix: str | None
    rest: tuple[str, ...]
    refusal: str | None
    levels: tuple[Level, ...]

    @property
    def allow_header(self) -> str:
        """:attr:`allowed` as the value of an ``Allow`` header, sorted."""
        return ", ".join(sorted(self.allowed))

    def error_handler(self, code: int) -> RouteFile | None:
        """The nearest error handler for ``code`` on this request's path. No I/O."""
        return nearest_error_handler(self.levels, code)


class Router:
    """Resolves requests against sites on disk, keeping parsed folder listings between calls.

    One router per application; it holds no global state and is safe to use from many threads.

    :param cache: the listing cache to use (a new one by default).
    """

    __slots__ = ("_cache", "_max_resolutions", "_resolutions")

    def __init__(
        self, cache: DirectoryCache | None = None, max_resolutions: int = MAX_RESOLUTIONS
    ) -> None:
        """:param max_resolutions: how many recent resolutions to keep for reuse."""
        self._cache = cache if cache is not None else DirectoryCache()
        # key -> (resolution, the watch's version before it was found when every folder it was
        # read from is watched, else None; the roots among those folders)
        self._resolutions: dict[_Key, tuple[Resolution, int | None, tuple[str, ...]]] = {}
        self._max_resolutions = max_resolutions

    @property
    def cache(self) -> DirectoryCache:
        """The folder listings this router keeps."""
        return self._cache

    def levels(self, site: Site, path: RequestPath) -> tuple[Level, ...]:
        """The search levels for a path, root first, as far down as folders exist.

        :raises SiteError: when ``site.site_dir`` is not a folder.
        """
        root = self._cache.get(site.site_dir)
        if not root.exists:
            raise SiteError(f"site folder `{site.site_dir}` does not exist")
        levels = [Level(0, site.site_name, root, "/")]
        if site.site_name not in root.folders:
            return tuple(levels)
        listing = self._cache.get(site.folder)
        real_root: str | None = None
        prefix = ""
        for depth, segment in enumerate(path.segments, start=1):
            if not listing.exists or not is_lookup_safe(segment):
                break
            prefix = f"{prefix}/{segment}"
            levels.append(Level(depth, segment, listing, prefix))
            if segment not in listing.folders:
                break
            child = os.path.join(listing.path, segment)
            if segment in listing.symlinks:
                if real_root is None:
                    real_root = os.path.realpath(site.folder)
                if not is_inside(os.path.realpath(child), real_root):
                    break
            listing = self._cache.get(child)
        return tuple(levels)

    def resolve(self, site: Site, path: str | RequestPath, method: str) -> Resolution:
        """Find what answers ``method path`` on ``site``.

        :param site: the site named by ``app_map``.
        :param path: the decoded URL path (``PATH_INFO``), or an already split one.
        :param method: the request method as sent (``GET``).
        :raises SiteError: when ``site.site_dir`` is not a folder.
        """
        if isinstance(path, str):
            key = (site.site_dir, site.site_name, path, method)
            watch = self._cache.watch
            version = watch.version if watch is not None else None  # read before any listing
            known = self._resolutions.get(key)
            if known is not None:
                found, seen, roots = known
                if seen is not None and watch is not None:
                    for root in roots:
                        watch.stamp(root)  # checked against its inode; dropped if it moved
                    if watch.version == seen:
                        return found  # no watched folder changed since it was worked out
                if self._unchanged(found.levels):
                    self._remember(key, found, version)
                    return found
            found = self._resolve(site, split_path(path), method)
            if _through_link(found.levels):
                # What a link leads to is not in the listings on the path (`x.txt -> sub/y`
                # may later lead to a `.py` file): such answers are worked out every time.
                return found
            if len(self._resolutions) >= self._max_resolutions:
                self._resolutions.clear()  # bounded: unique hostile paths cannot grow it
            self._remember(key, found, version)
            return found
        return self._resolve(site, path, method)

    def _remember(self, key: _Key, found: Resolution, version: int | None) -> None:
        """Keep ``found`` for reuse; with the watch's ``version`` (read before its listings were
        checked) when every folder it was read from is watched, so that an unchanged version,
        once its roots are checked, proves it current."""
        watch = self._cache.watch
        if watch is None or version is None:
            self._resolutions[key] = (found, None, ())
            return
        paths = {level.listing.path for level in found.levels}
        watched = all(watch.stamp(path) is not None for path in paths)
        roots = tuple(path for path in paths if watch.is_root(path))
        self._resolutions[key] = (found, version if watched else None, roots)

    def _unchanged(self, levels: tuple[Level, ...]) -> bool:
        """Whether every folder a resolution was read from still has the same listing.

        A resolution is a pure function of its levels' listings: any change that could alter
        it (a file added or removed, a folder created where the search stopped, a link
        replaced) changes one of those folders, so its listing is a new object.
        """
        get = self._cache.get
        return all(get(level.listing.path) is level.listing for level in levels)

    def _resolve(self, site: Site, request_path: RequestPath, method: str) -> Resolution:
        levels = self.levels(site, request_path)
        handler_methods: set[str] = set()
        for level in levels:
            handler_methods |= level.handler_methods()
        any_method = DEFAULT_METHOD in handler_methods
        static_file = self._static_file(site, request_path, levels)

        allowed = {m.upper() for m in handler_methods if m != DEFAULT_METHOD}
        if static_file is not None:
            allowed |= {"GET", "HEAD"}
        if "GET" in allowed:
            allowed.add("HEAD")
        allowed.add("OPTIONS")

        refusal = method_refusal(method)
        lowered = method.lower()
        head_as_get = (
            refusal is None and lowered == _HEAD and not any_method and _HEAD not in handler_methods
        )
        if refusal is not None:
            route_method = DEFAULT_METHOD
        elif head_as_get:
            route_method = _GET
        else:
            route_method = lowered

        handler: RouteFile | None = None
        prefix: str | None = None
        rest = request_path.segments
        if refusal is not None:
            outcome = Outcome.NOT_IMPLEMENTED
        elif static_file is not None and lowered in (_GET, _HEAD):
            outcome = Outcome.STATIC
            prefix, rest = request_path.normalized, ()
        else:
            handler = _search(levels, Kind.HANDLER, route_method)
            if handler is not None:
                outcome = Outcome.HANDLER
                prefix, rest = handler.prefix, request_path.segments[handler.depth :]
            elif not handler_methods and static_file is None:
                outcome = Outcome.NOT_FOUND  # nothing here answers any method, OPTIONS included
            elif lowered == _OPTIONS:
                outcome = Outcome.OPTIONS
            else:
                outcome = Outcome.METHOD_NOT_ALLOWED

        return Resolution(
            path=request_path,
            method=method,
            route_method=route_method,
            head_as_get=head_as_get,
            outcome=outcome,
            early_hook=_search(levels, Kind.EARLY_HOOK, route_method),
            handler=handler,
            late_hook=_search(levels, Kind.LATE_HOOK, route_method),
            static_file=static_file if outcome is Outcome.STATIC else None,
            allowed=frozenset(allowed),
            any_method=any_method,
            prefix=prefix,
            rest=rest,
            refusal=refusal,
            levels=levels,
        )

    def error_handler(self, site: Site, path: str | RequestPath, code: int) -> RouteFile | None:
        """The nearest ``<code>.py`` error handler for a path.

        :raises SiteError: when ``site.site_dir`` is not a folder.
        """
        request_path = split_path(path) if isinstance(path, str) else path
        return nearest_error_handler(self.levels(site, request_path), code)

    def static_file(self, site: Site, path: str | RequestPath) -> str | None:
        """The file a GET of ``path`` would serve, or None. Rules in :mod:`.paths`."""
        request_path = split_path(path) if isinstance(path, str) else path
        return self._static_file(site, request_path, self.levels(site, request_path))

    def _static_file(self, site: Site, path: RequestPath, levels: tuple[Level, ...]) -> str | None:
        segments = path.segments
        if len(levels) != len(segments) + 1 or static_refusal(path) is not None:
            return None
        last = levels[-1]
        if last.segment not in last.listing.files:
            return None
        candidate = os.path.join(last.listing.path, last.segment)
        # A link on the way (the file or a folder) may lead to a file the rules refuse, inside
        # the site or out of it: then the file reached must pass them itself.
        linked = any(level.segment in level.listing.symlinks for level in levels[1:])
        if linked and target_refusal(candidate, os.path.realpath(site.folder)) is not None:
            return None
        return candidate


def _through_link(levels: tuple[Level, ...]) -> bool:
    """Whether a segment on the path is a symbolic link in its folder."""
    return any(level.segment in level.listing.symlinks for level in levels[1:])


def nearest_error_handler(levels: tuple[Level, ...], code: int) -> RouteFile | None:
    """The error handler for ``code`` at the deepest of ``levels`` that has one."""
    for level in reversed(levels):
        found = level.find_error_handler(code)
        if found is not None:
            return found
    return None


def _search(levels: tuple[Level, ...], kind: Kind, method: str) -> RouteFile | None:
    for level in reversed(levels):
        found = level.find(kind, method)
        if found is not None:
            return found
    return None


def iter_candidates(
    site: Site, path: RequestPath, kind: Kind, method: str
) -> Iterator[tuple[int, str, str]]:
    """Every file name the search for ``kind`` and ``method`` would look at, in order.

    Yields ``(depth, folder, file name)``: deepest level first, at each the exact method, then
    ``default``. Looks at nothing on disk; used to explain a resolution.

    :raises ValueError: for :attr:`Kind.ERROR_HANDLER`, which has no method.
    """
    if kind is Kind.ERROR_HANDLER:
        raise ValueError(
            "`iter_candidates` lists handlers and hooks; an error handler is `<segment>.<code>.py`"
            " at each level (see `Resolution.error_handler`)"
        )
    folders = [site.site_dir, site.folder]
    for segment in path.segments[:-1]:
        folders.append(os.path.join(folders[-1], segment))
    names = [site.site_name, *path.segments]
    methods = [method] if method == DEFAULT_METHOD else [method, DEFAULT_METHOD]
    for depth in range(len(names) - 1, -1, -1):
        for wanted in methods:
            route = RouteName(names[depth], kind, wanted)
            yield depth, folders[depth], route.file_name()
