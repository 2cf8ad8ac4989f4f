"""Folder descriptors kept open while a :class:`~.watching.FolderWatch` vouches for them.

:func:`~.opening.open_beneath` opens files below a folder's descriptor. Opening and closing that
descriptor for every file costs two system calls, and for a site folder it is the same folder
request after request. :class:`FolderHandles` keeps one open per folder and hands it out while
the watch's stamps of the folder (and of a folder the caller names as a guard, such as the
root it lies in) are the ones it was opened under. Any event in the folder, or in its parent
about it (renamed, replaced, removed), or a root found leading elsewhere, changes or drops a
stamp, and the next call opens the folder again by its path. So a handle always is what the
path led to as of the caller's last :meth:`~.watching.FolderWatch.poll`, as an open by path
would be.

Without a watch, or for a folder it does not watch, nothing is kept: :meth:`FolderHandles.get`
answers None and the caller opens by path.

A handle is closed when the last reference to it goes, never while a caller holds it: a handle
replaced in the cache by another thread stays open until the thread using it lets it go.
"""

from __future__ import annotations

import os
import weakref

from .watching import FolderWatch

__all__ = ["MAX_HANDLES", "FolderHandle", "FolderHandles"]

#: Folders kept open at most; past this many the cache starts afresh (handles in use stay open
#: until their users let them go).
MAX_HANDLES = 256

_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_DIRECTORY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_PATH", 0)  # Linux: a folder used as `dir_fd` needs search rights only
)


class FolderHandle:
    """An open descriptor of a folder, closed when this object is collected or :meth:`close`\\ d.

    :param path: the folder; followed if it is a symbolic link, as any open by path is.
    :raises OSError: when it cannot be opened (missing, not a folder, permissions).
    """

    __slots__ = ("__weakref__", "_closer", "fd", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, _FLAGS)
        self._closer = weakref.finalize(self, os.close, self.fd)

    def __repr__(self) -> str:
        state = "open" if self._closer.alive else "closed"
        return f"<FolderHandle {self.path!r} fd={self.fd} {state}>"

    def close(self) -> None:
        """Close the descriptor now (once; later calls do nothing)."""
        self._closer()


class FolderHandles:
    """Open folders, each kept while ``watch`` says nothing changed about it.

    :param watch: the watch the caller polls once per request; None keeps nothing.
    :param limit: folders kept at most.
    """

    __slots__ = ("_handles", "_limit", "_watch")

    def __init__(self, watch: FolderWatch | None, limit: int = MAX_HANDLES) -> None:
        self._watch = watch
        self._limit = limit
        self._handles: dict[str, tuple[tuple[int | None, int | None], FolderHandle]] = {}

    def __len__(self) -> int:
        return len(self._handles)

    def get(self, folder: str, guard: str | None = None) -> FolderHandle | None:
        """An open handle of ``folder``, or None when the watch cannot vouch for one (the caller
        then opens ``folder`` by its path).

        :param folder: an absolute path, as given to the watch.
        :param guard: a folder whose stamp must be unchanged too, e.g. the watched root that
            ``folder`` lies in (a root whose path cannot be followed by events is checked with
            ``stat`` when its stamp is asked for).
        """
        watch = self._watch
        if watch is None:
            return None
        # The guard first: asking for a root's stamp may check its path (and drop the folders
        # below it).
        stamps = (None if guard is None else watch.stamp(guard), watch.stamp(folder))
        if stamps[1] is None or (guard is not None and stamps[0] is None):
            return None
        kept = self._handles.get(folder)
        if kept is not None and kept[0] == stamps:
            return kept[1]
        try:
            handle = FolderHandle(folder)
        except (OSError, ValueError):
            return None
        # Kept only if nothing changed while it was opened (the stamps stand as of the caller's
        # poll, so this compares what any event it took may have changed meanwhile).
        again = (None if guard is None else watch.stamp(guard), watch.stamp(folder))
        if again == stamps:
            if len(self._handles) >= self._limit:
                self._handles.clear()
            self._handles[folder] = (stamps, handle)
        return handle

    def clear(self) -> None:
        """Let go of every handle (each closes when its last user lets it go)."""
        self._handles.clear()
