"""Folder listings, parsed once and kept while the folder is unchanged.

Resolution never asks the filesystem about a name taken from a URL. It lists each folder on the
path once, parses every name in it by the grammar, and looks request segments up in that listing.
That makes matching exact-case on every filesystem and keeps hostile names away from system
calls. The listing is kept and checked with one ``stat`` of the folder per request: adding,
removing or renaming an entry changes the folder's ``mtime``.

A folder changed within :data:`RACY_WINDOW_NS` of being listed is listed again next time, because
two changes inside one tick of the filesystem clock leave the same ``mtime`` (git calls this
"racy"). So a burst of edits costs a few extra listings and is never missed, and a settled site
costs one ``stat`` per folder on the path, whatever its size.

Given a :class:`~cylinder_router.watching.FolderWatch`, a watched folder costs no ``stat`` at all:
its listing is kept while the folder's stamp is the one it was listed under, and the watch's
``poll()`` (once per request, by its owner) moves the stamp of every folder changed since.
Folders the watch cannot take are checked with ``stat`` as above.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .filenames import DEFAULT_METHOD, Kind, NotRoute, RouteName, parse_filename
from .watching import FolderWatch

__all__ = ["RACY_WINDOW_NS", "DirectoryCache", "Listing", "SegmentFiles"]

#: How long after a folder's last change its listing is still re-read: 2 s covers coarse
#: filesystem clocks (1 s on some network filesystems, a jiffy on Linux).
RACY_WINDOW_NS = 2_000_000_000

_EMPTY_METHODS: Mapping[str, str] = MappingProxyType({})


@dataclass(slots=True)
class SegmentFiles:
    """The route files of one segment in one folder, by kind. Values are file names.

    :param handlers: method -> file name, for ``.ex.`` files.
    :param early_hooks: method -> file name, for ``.eh.`` files.
    :param late_hooks: method -> file name, for ``.lh.`` files.
    :param error_handlers: status code -> file name.
    """

    handlers: dict[str, str] = field(default_factory=dict)
    early_hooks: dict[str, str] = field(default_factory=dict)
    late_hooks: dict[str, str] = field(default_factory=dict)
    error_handlers: dict[int, str] = field(default_factory=dict)

    def by_kind(self, kind: Kind) -> Mapping[str, str]:
        """The method -> file name table for handlers or hooks."""
        if kind is Kind.HANDLER:
            return self.handlers
        if kind is Kind.EARLY_HOOK:
            return self.early_hooks
        if kind is Kind.LATE_HOOK:
            return self.late_hooks
        return _EMPTY_METHODS

    def has_default_handler(self) -> bool:
        """Whether a ``.ex.default.py`` file takes every method here."""
        return DEFAULT_METHOD in self.handlers


@dataclass(frozen=True, slots=True)
class Listing:
    """One folder, parsed.

    :param path: the folder's absolute path.
    :param routes: segment -> its route files in this folder.
    :param files: names of regular files (symlinks followed), route files included.
    :param folders: names of sub-folders (symlinks followed).
    :param symlinks: names of entries that are symbolic links.
    :param rejected: names that look like routes but break the grammar.
    :param exists: False when the folder could not be listed (missing, not a folder).
    """

    path: str
    routes: Mapping[str, SegmentFiles]
    files: frozenset[str]
    folders: frozenset[str]
    symlinks: frozenset[str]
    rejected: tuple[NotRoute, ...]
    exists: bool = True


@dataclass(frozen=True, slots=True)
class _Cached:
    """A listing, and what proves it current: the watch stamp it was read under, or else the
    folder's ``stat`` fingerprint and whether its mtime was old enough to be trusted."""

    listing: Listing
    stamp: int | None
    fingerprint: tuple[int, int, int] | None
    settled: bool


def _missing(path: str) -> Listing:
    return Listing(path, MappingProxyType({}), frozenset(), frozenset(), frozenset(), (), False)


def read_listing(path: str) -> Listing:
    """List and parse one folder now, without any cache.

    :param path: an absolute folder path.
    """
    routes: dict[str, SegmentFiles] = {}
    files: set[str] = set()
    folders: set[str] = set()
    symlinks: set[str] = set()
    rejected: list[NotRoute] = []
    try:
        entries = list(os.scandir(path))
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return _missing(path)
    for entry in entries:
        name = entry.name
        try:
            if entry.is_symlink():
                symlinks.add(name)
            if entry.is_dir():
                folders.add(name)
                continue
            if not entry.is_file():
                continue
        except OSError:  # vanished while listing, or a symlink loop
            continue
        files.add(name)
        parsed = parse_filename(name)
        if isinstance(parsed, NotRoute):
            if parsed.suspicious:
                rejected.append(parsed)
            continue
        _add_route(routes.setdefault(parsed.segment, SegmentFiles()), parsed, name)
    rejected.sort(key=lambda item: item.name)
    return Listing(
        path,
        MappingProxyType(routes),
        frozenset(files),
        frozenset(folders),
        frozenset(symlinks),
        tuple(rejected),
    )


def _add_route(files: SegmentFiles, route: RouteName, name: str) -> None:
    if route.kind is Kind.ERROR_HANDLER:
        assert route.code is not None
        files.error_handlers[route.code] = name
        return
    assert route.method is not None
    table = files.by_kind(route.kind)
    assert isinstance(table, dict)
    table[route.method] = name


class DirectoryCache:
    """Listings of the folders a router has looked at, each re-read when its folder changes.

    Safe to share between threads: entries are immutable and replaced whole, and two threads
    that list the same folder at once both get a correct listing.

    :param racy_window_ns: how recent a change must be for a listing to be re-read.
    :param watch: tells which watched folders changed; whoever owns it calls its ``poll()``
        when a request arrives. Without one, every folder is checked with ``stat``.
    """

    __slots__ = ("_entries", "_racy_window_ns", "_watch")

    def __init__(
        self, racy_window_ns: int = RACY_WINDOW_NS, watch: FolderWatch | None = None
    ) -> None:
        self._entries: dict[str, _Cached] = {}
        self._racy_window_ns = racy_window_ns
        self._watch = watch

    @property
    def watch(self) -> FolderWatch | None:
        """The folder watch, if any."""
        return self._watch

    def get(self, path: str) -> Listing:
        """The current listing of the folder at ``path`` (absolute).

        Costs nothing when the folder is watched and unchanged, one ``stat`` when it is not
        watched but unchanged and settled; lists it otherwise.
        """
        watch = self._watch
        if watch is not None:
            stamp = watch.stamp(path)
            if stamp is not None:
                cached = self._entries.get(path)
                if cached is not None and cached.stamp == stamp:
                    return cached.listing
            else:
                stamp = watch.watch(path)  # watched before it is read: no change slips by
            if stamp is not None:
                listing = read_listing(path)
                if listing.exists:
                    self._entries[path] = _Cached(listing, stamp, None, False)
                else:
                    self._entries.pop(path, None)
                return listing
        return self._get_by_stat(path)

    def _get_by_stat(self, path: str) -> Listing:
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            self._entries.pop(path, None)
            return _missing(path)
        if not stat.S_ISDIR(st.st_mode):
            return _missing(path)
        fingerprint = (st.st_ino, st.st_dev, st.st_mtime_ns)
        cached = self._entries.get(path)
        if cached is not None and cached.settled and cached.fingerprint == fingerprint:
            return cached.listing
        started = time.time_ns()
        listing = read_listing(path)
        if not listing.exists:
            # Not listable now (permissions, a race): fixing that need not change the mtime.
            self._entries.pop(path, None)
            return listing
        settled = started - st.st_mtime_ns > self._racy_window_ns
        self._entries[path] = _Cached(listing, None, fingerprint, settled)
        return listing

    def clear(self) -> None:
        """Forget every listing."""
        self._entries.clear()
