"""Which files in watched folders a writer is in the middle of, from their inotify events.

A write or a truncation raises ``IN_MODIFY``; closing a file that was open for writing raises
``IN_CLOSE_WRITE``. Between the two, the file may hold half of what its writer means to put in
it. :class:`Writers` keeps, for :class:`~.watching.FolderWatch`, the names in that state, and for
each name the stamp of the last event about it, so that a reader can tell whether the file was
touched while it read it.

A file just created (``IN_CREATE``) and not yet closed is *created*: opened to be written, it is
empty until the first write. ``IN_CREATE`` is also what a hard link, a symbolic link or a device
node raises, which no close ever follows, so the reader counts a created file as being written
only while it is empty.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ._inotify import (
    IN_CLOSE_WRITE,
    IN_CREATE,
    IN_DELETE,
    IN_ISDIR,
    IN_MODIFY,
    IN_MOVED_FROM,
    IN_MOVED_TO,
)

__all__ = ["MAX_CREATED", "MAX_NAMED", "FileState", "Writers"]

#: Names whose last event is remembered; past this many the memory starts afresh (every name then
#: reads as changed once, which only costs a reader one more look).
MAX_NAMED = 4096
#: Names created and not yet written or closed; past this many the memory starts afresh (names
#: made by ``link``, ``symlink`` or ``mknod`` stay here until their next event).
MAX_CREATED = 1024
#: Renames of a file being written whose other half has not been seen yet.
_MAX_MOVING = 64


@dataclass(frozen=True, slots=True)
class FileState:
    """What the events said about one file, as of the last poll.

    :param stamp: changes with every event naming the file (written, closed, created, removed,
        renamed, its attributes changed). While it is the same, nobody wrote the file.
    :param writing: the file was modified (written or truncated) and its writer has not closed
        it yet.
    :param created: the name was created and has seen no write, close or rename since: a file
        opened to be written, still empty, or a link or node (which nobody closes).
    """

    stamp: int
    writing: bool
    created: bool = False


class Writers:
    """The files being written, and the last event about each name, by absolute path."""

    __slots__ = ("_created", "_floor", "_moving", "_named", "_writing")

    def __init__(self) -> None:
        self._writing: set[str] = set()
        self._created: set[str] = set()
        self._named: dict[str, int] = {}
        self._floor = 0  # the stamp of a name with no remembered event
        self._moving: set[int] = set()  # cookies of renames that moved a file being written

    def state(self, path: str) -> FileState:
        """The file's state as of the events applied so far."""
        return FileState(
            self._named.get(path, self._floor), path in self._writing, path in self._created
        )

    def apply(self, path: str, mask: int, cookie: int, stamp: int) -> None:
        """Take one event naming ``path``, whose folder got ``stamp`` for it."""
        named = self._named
        if len(named) >= MAX_NAMED and path not in named:
            named.clear()
            self._floor = stamp
        named[path] = stamp
        writing = self._writing
        self._created.discard(path)
        if mask & IN_CREATE:
            if not mask & IN_ISDIR:
                if len(self._created) >= MAX_CREATED:
                    self._created.clear()
                self._created.add(path)
        elif mask & IN_MODIFY:
            writing.add(path)
        elif mask & (IN_CLOSE_WRITE | IN_DELETE):
            writing.discard(path)
        elif mask & IN_MOVED_FROM:
            if path in writing:
                # The writer still holds the file under its new name, which the other half of
                # the rename (same cookie) tells.
                writing.discard(path)
                if len(self._moving) >= _MAX_MOVING:
                    self._moving.clear()
                self._moving.add(cookie)
        elif mask & IN_MOVED_TO:
            writing.discard(path)  # the file that had this name is not the one here now
            if cookie in self._moving:
                self._moving.discard(cookie)
                writing.add(path)

    def forget_folder(self, folder: str, stamp: int) -> None:
        """No more events will come for ``folder`` (its watch was dropped): what was being
        written there is unknown from now on, and every name in it reads as changed."""
        self._writing = {path for path in self._writing if os.path.dirname(path) != folder}
        self._created = {path for path in self._created if os.path.dirname(path) != folder}
        for path in [path for path in self._named if os.path.dirname(path) == folder]:
            self._named[path] = stamp

    def forget_all(self, stamp: int) -> None:
        """No event can be trusted any more: forget every file, and every name reads as
        changed."""
        self._writing = set()
        self._created = set()
        self._named.clear()
        self._moving.clear()
        self._floor = stamp
