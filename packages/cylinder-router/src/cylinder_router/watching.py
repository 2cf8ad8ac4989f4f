"""Change notification for folders, so that a settled site costs no ``stat`` per request.

On Linux the kernel queues an inotify event while the call that changes a folder runs (a file
written, created, removed, renamed, its attributes changed). A non-blocking look at the queue when
a request arrives therefore sees every change made before it: one system call instead of one
``stat`` per folder and per file, and one that keeps the GIL (see :mod:`._inotify`).
:class:`FolderWatch` keeps a *stamp* per watched folder that changes with every event in it; what
was read from a folder (its listing, a module loaded from a file in it) stays good while the
folder's stamp is the one it was read under.

Folders are watched only where the events can be trusted, and are checked with ``stat`` elsewhere:

- local filesystems only (ext4, xfs, btrfs, tmpfs, overlay and a few more): a network filesystem
  sees changes made on other machines without any event;
- a folder whose parent is watched is *anchored*: renaming, replacing or removing it is an event
  in the parent, which drops it and every watched folder below it. Any other watched folder (the
  folder of sites, a folder reached through a symbolic link) is a *root*, whose path may come to
  lead elsewhere without an event in it (an ancestor renamed or replaced, a ``current ->
  release`` link switched). So the *way* to a root is watched too (:mod:`._ancestry`): every
  folder its path looks in, up to ``/`` and through the links on the way, for its entries
  removed or renamed (see :data:`._inotify.GUARD_MASK`). An event naming an entry on the way
  drops the root, and it is read again when next asked for. Where some folder on the way cannot
  be watched (another filesystem, permissions, the watch limit) or the path is relative, the
  root is checked instead with one ``stat`` against the inode watched, by the first
  :meth:`FolderWatch.stamp` of it after each poll;
- an event queue overflow, a fork (the child would share the parent's queue: the watch lets go of
  it in the child, from :func:`os.register_at_fork`), or any error reading the queue drops every
  watch, and everything is read again.

A filesystem mounted over a folder on the way is no event: the root keeps its stamps until
something else drops it (docs/reload.md says so).

The events also tell when a file is *being written*: modified (``IN_MODIFY``: written or
truncated) and not yet closed by its writer (``IN_CLOSE_WRITE``). :meth:`FolderWatch.file_state`
answers that for a file in a watched folder, with a stamp of the last event naming the file, so
that a reader can make sure nobody wrote the file while it read it. Only what happens while the
folder is watched is known: a writer that began before the watch is not seen until its next write.

When inotify is missing (another system, no instance left: ``fs.inotify.max_user_instances``) or
a folder cannot be watched (``max_user_watches``), :meth:`FolderWatch.stamp` answers ``None`` and
callers fall back to ``stat``.

A watch is read by many threads; :meth:`~FolderWatch.poll` takes a lock only when events are
queued, :meth:`~FolderWatch.watch` takes it, :meth:`~FolderWatch.stamp` is a dictionary lookup
(plus, for a root checked by ``stat`` and not yet checked since the last poll, a ``stat``).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
import sys
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from ._ancestry import Ancestry, lookups
from ._inotify import (
    ENTRY_REPLACED,
    FOLDER_GONE,
    GUARD_MASK,
    IN_IGNORED,
    IN_Q_OVERFLOW,
    LOCAL_FILESYSTEMS,
    READ_SIZE,
    Inotify,
    events,
)
from ._writers import FileState, Writers

__all__ = ["LOCAL_FILESYSTEMS", "MAX_UNWATCHABLE", "FileState", "FolderWatch"]

#: Folders remembered as not watchable (another filesystem, permissions), so they are not tried
#: again on every request; past this many the memory starts afresh.
MAX_UNWATCHABLE = 1024


@dataclass(slots=True)
class _Watched:
    """One watched folder: its watch descriptor, the inode it watches, and the anchored folders
    below it (dropped with it). A root's way is kept by ``FolderWatch._ancestry``, a root
    checked by ``stat`` is in ``FolderWatch._stat_roots``."""

    wd: int
    identity: tuple[int, int]
    children: set[str] = field(default_factory=set)


class FolderWatch:
    """Watches the folders it is asked about, and tells whether anything in them changed.

    Call :meth:`poll` when a request arrives; then :meth:`stamp` of a folder is its state as of
    that moment. Anything read from a folder while its stamp was ``s`` is still current while the
    stamp is ``s``. :meth:`watch` starts watching a folder (before it is read).

    :param enabled: False for a watch that never watches (every stamp is ``None``), e.g. to
        force ``stat`` checks.
    """

    __slots__ = (
        "__weakref__",
        "_ancestry",
        "_applying",
        "_checked",
        "_closer",
        "_failure",
        "_fd",
        "_folders",
        "_inotify",
        "_lock",
        "_next_stamp",
        "_queued",
        "_stamps",
        "_stat_roots",
        "_unwatchable",
        "_version",
        "_wds",
        "_writers",
    )

    def __init__(self, enabled: bool = True) -> None:
        self._lock = threading.Lock()
        self._folders: dict[str, _Watched] = {}
        self._wds: dict[int, str] = {}
        self._stamps: dict[str, int] = {}
        self._ancestry = Ancestry()
        # Roots whose way is not watched, checked with a `stat` after each poll.
        self._stat_roots: set[str] = set()
        # Those checked since the last poll; replaced (not cleared) by each poll, so a thread
        # only ever sees roots checked after its own poll.
        self._checked: set[str] = set()
        self._applying = False  # a poller has taken events and not yet applied them
        self._unwatchable: set[str] = set()
        self._next_stamp = 1
        self._version = 0
        self._fd = -1
        self._queued: Callable[[], int] | None = None  # Inotify.waiting() of the descriptor
        self._closer: weakref.finalize[[int], FolderWatch] | None = None
        self._failure: str | None = None
        self._inotify: Inotify | None = None
        self._writers = Writers()
        if not enabled:
            self._failure = "watching is turned off"
        elif not sys.platform.startswith("linux"):
            self._failure = f"inotify is a Linux facility; this is {sys.platform}"
        else:
            # A child process must not read its parent's queue: it lets go of it at the fork,
            # so that no request has to ask which process it runs in.
            os.register_at_fork(after_in_child=functools.partial(_after_fork, weakref.ref(self)))

    def __repr__(self) -> str:
        state = f"off: {self._failure}" if self._failure else f"{len(self._folders)} folders"
        return f"<FolderWatch {state}>"

    @property
    def active(self) -> bool:
        """Whether folders can be watched at all (False: every check is a ``stat``)."""
        return self._failure is None

    @property
    def failure(self) -> str | None:
        """Why nothing is watched, when :attr:`active` is False."""
        return self._failure

    @property
    def watched(self) -> frozenset[str]:
        """The folders watched now."""
        return frozenset(self._folders)

    @property
    def version(self) -> int:
        """A number that changes whenever any stamp changes or any folder stops being watched:
        while it is the same, every stamp is."""
        return self._version

    def stamp(self, folder: str) -> int | None:
        """The folder's stamp as of the last :meth:`poll`, or ``None`` when it is not watched.

        A root whose way is not watched is checked against the inode watched the first time it
        is asked for after each poll; the stamps of other folders are a dictionary lookup.

        :param folder: a path as given to :meth:`watch`.
        """
        found = self._stamps.get(folder)
        if found is None or folder not in self._stat_roots:
            return found
        checked = self._checked
        if folder in checked:
            return found
        # A root not checked since the last poll: is its path still the inode watched? (No lock
        # for the common answer, yes; a set replaced by a poll meanwhile is simply dropped.)
        watched = self._folders.get(folder)
        try:
            st = os.stat(folder)
            same = watched is not None and (st.st_ino, st.st_dev) == watched.identity
        except OSError:
            same = False
        with self._lock if not same else contextlib.nullcontext():
            if self._folders.get(folder) is not watched:
                return None  # dropped or watched again meanwhile: let the caller look again
            if not same:
                self._drop(folder)
                return None
            checked.add(folder)
            return self._stamps.get(folder)

    def file_state(self, path: str) -> FileState | None:
        """What the events said about the file at ``path`` as of the last :meth:`poll`, or
        ``None`` when its folder is not watched (nothing is known then).

        Ask only after :meth:`stamp` of the file's folder answered a stamp for this poll (for a
        root checked by ``stat``, that is what checks it).

        :param path: a file in a folder given to :meth:`watch`.
        """
        if os.path.dirname(path) not in self._stamps:
            return None
        return self._writers.state(path)

    def is_root(self, folder: str) -> bool:
        """Whether ``folder`` is a root checked by :meth:`stamp` with a ``stat`` after each poll
        (its way could not be watched). A root whose way is watched is not: like an anchored
        folder, it is dropped by the event that moves it."""
        return folder in self._stat_roots

    def watch(self, folder: str) -> int | None:
        """Start watching ``folder`` (before reading it) and return its stamp.

        Returns ``None``, and the caller checks with ``stat``, when the folder cannot be watched:
        it is missing or not a folder, on a filesystem that is not local, unreadable, or the
        watch limits are reached.

        :param folder: an absolute path.
        """
        if self._failure is not None or folder in self._unwatchable:
            return None  # (asked again on every request: answered without the lock)
        with self._lock:
            known = self._stamps.get(folder)
            if known is not None:
                return known
            if self._failure is not None or folder in self._unwatchable:
                return None
            fd = self._open()
            if fd < 0:
                return None
            return self._add(fd, folder)

    def poll(self) -> None:
        """Take every change the kernel has queued and update the stamps.

        After it returns, a folder changed before the call has a new stamp or is not watched
        (for a root checked by ``stat``, from its next :meth:`stamp`).
        """
        queued = self._queued
        if queued is None:
            return
        # Nothing queued and nobody applying what they took: nothing changed before this call,
        # so no lock (threads would queue on it behind each other). The flag is read after the
        # queue: a poller sets it before it takes events.
        if queued() == 0 and not self._applying:
            if self._stat_roots:
                self._checked = set()
            return
        with self._lock:
            fd = self._fd
            if fd < 0:
                return
            self._applying = True
            try:
                while True:
                    try:
                        # A read returns whole events only; this size always holds the next one.
                        data = os.read(fd, READ_SIZE)
                    except BlockingIOError:
                        break  # the queue is empty
                    self._apply(data)
            except OSError as error:
                self._give_up(f"reading inotify events failed: {error}")
                return
            finally:
                self._applying = False
            self._checked = set()

    def close(self) -> None:
        """Stop watching and release the inotify descriptor. Every stamp is ``None`` after."""
        with self._lock:
            self._give_up(self._failure or "the watch was closed")

    # --- with the lock held -------------------------------------------------------------------

    def _open(self) -> int:
        if self._fd >= 0:
            return self._fd
        try:
            inotify = self._inotify = self._inotify or Inotify()
            fd = inotify.open()
        except (OSError, AttributeError) as error:  # AttributeError: no such C function
            self._failure = f"inotify is not available: {error}"
            return -1
        self._fd = fd
        self._closer = weakref.finalize(self, os.close, fd)
        self._queued = inotify.waiting(fd)
        return fd

    def _add(self, fd: int, folder: str) -> int | None:
        inotify = self._inotify
        assert inotify is not None
        try:
            before = os.lstat(folder)
            linked = stat.S_ISLNK(before.st_mode)
            if linked:
                before = os.stat(folder)
            if not stat.S_ISDIR(before.st_mode):
                return None
            if inotify.filesystem(folder) not in LOCAL_FILESYSTEMS:
                self._remember_unwatchable(folder)
                return None
            wd = inotify.add(fd, folder)
        except ValueError:  # a NUL in the path: nothing on disk is called that
            return None
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.ENOMEM):
                self._failure = f"the inotify watch limit is reached: {error}"
            elif error.errno in (errno.EACCES, errno.EPERM):
                self._remember_unwatchable(folder)
            return None
        if wd in self._wds:
            # The same folder under another path (through a link): its events name that path.
            self._remember_unwatchable(folder)
            return None
        parent = os.path.dirname(folder)
        anchor = self._folders.get(parent)
        root = linked or anchor is None or parent == folder
        # A root's way is watched before the last look at the folder: if that look finds the
        # inode watched, any later change on the way is an event.
        guarded = root and self._guard(fd, folder)
        try:
            after = os.stat(folder)
        except OSError:
            after = None
        if after is None or (after.st_ino, after.st_dev) != (before.st_ino, before.st_dev):
            # Replaced while we looked: the watch may be on either.
            if guarded:
                self._release_way(folder)
            self._unwatch(wd)
            return None
        if not root:
            assert anchor is not None
            anchor.children.add(folder)
        elif not guarded:
            self._stat_roots.add(folder)
        self._folders[folder] = _Watched(wd, (after.st_ino, after.st_dev))
        self._wds[wd] = folder
        return self._bump(folder)

    def _guard(self, fd: int, root: str) -> bool:
        """Watch the way to ``root`` (see :mod:`._ancestry`); False, with nothing of it left
        watched, when some folder on it cannot be watched or the path is relative."""
        inotify = self._inotify
        assert inotify is not None
        added: list[int] = []

        def watch_way(folder: str) -> int:
            if inotify.filesystem(folder) not in LOCAL_FILESYSTEMS:
                raise OSError(errno.EREMOTE, "not a local filesystem", folder)
            wd = inotify.add(fd, folder, GUARD_MASK)
            added.append(wd)
            return wd

        try:
            way = lookups(root, watch_way)
        except (OSError, ValueError):
            for wd in added:
                self._unwatch(wd)
            return False
        self._ancestry.add(root, way)
        return True

    def _bump(self, folder: str) -> int:
        stamp = self._stamps[folder] = self._new_stamp()
        self._version += 1
        return stamp

    def _new_stamp(self) -> int:
        stamp = self._next_stamp
        self._next_stamp = stamp + 1
        return stamp

    def _apply(self, data: bytes) -> None:
        ancestry = self._ancestry
        for wd, mask, name_bytes, cookie in events(data):
            if mask & IN_Q_OVERFLOW:
                self._forget_all()  # some events were lost: nothing watched can be trusted
                continue
            if ancestry.guards(wd):
                # A folder on the way to roots: drop the roots this entry (or the folder itself
                # gone) may have moved; an event about any other entry moves none.
                if mask & FOLDER_GONE:
                    moved = ancestry.through(wd)
                else:
                    moved = ancestry.named(wd, name_bytes)
                for root in moved:
                    self._drop(root)
            folder = self._wds.get(wd)
            if folder is None:
                continue  # a watch already dropped, or on a way only
            if mask & FOLDER_GONE:
                self._drop(folder, removed_by_kernel=bool(mask & IN_IGNORED))
                continue
            stamp = self._bump(folder)
            if name_bytes:
                path = os.path.join(folder, os.fsdecode(name_bytes))
                self._writers.apply(path, mask, cookie, stamp)
                if mask & ENTRY_REPLACED and path in self._folders:
                    self._drop(path)

    def _drop(self, folder: str, removed_by_kernel: bool = False) -> None:
        """Stop watching ``folder`` and every watched folder below it."""
        watched = self._folders.pop(folder, None)
        if watched is None:
            return
        self._version += 1
        self._stamps.pop(folder, None)
        self._stat_roots.discard(folder)
        self._wds.pop(watched.wd, None)
        anchor = self._folders.get(os.path.dirname(folder))
        if anchor is not None:
            anchor.children.discard(folder)
        self._release_way(folder)
        if not removed_by_kernel:
            self._unwatch(watched.wd)
        self._writers.forget_folder(folder, self._new_stamp())
        for child in list(watched.children):
            self._drop(child)

    def _release_way(self, root: str) -> None:
        """Forget the way to ``root``, and stop the watches no longer needed for anything."""
        for wd in self._ancestry.release(root):
            self._unwatch(wd)

    def _unwatch(self, wd: int) -> None:
        """Remove the kernel's watch ``wd`` unless a watched folder or a way still uses it."""
        if wd in self._wds or self._ancestry.guards(wd):
            return
        if self._inotify is not None and self._fd >= 0:
            self._inotify.remove(self._fd, wd)

    def _forget_all(self) -> None:
        if self._inotify is not None and self._fd >= 0:
            for wd in self._wds.keys() | self._ancestry.watches:
                self._inotify.remove(self._fd, wd)
        self._clear()
        self._unwatchable.clear()

    def _clear(self) -> None:
        """Forget every watched folder and way (the kernel's watches are left as they are)."""
        self._version += 1
        self._folders.clear()
        self._wds.clear()
        self._stamps.clear()
        self._ancestry.clear()
        self._stat_roots.clear()
        self._checked = set()
        self._writers.forget_all(self._new_stamp())

    def _forked(self) -> None:
        """In a child process, just forked (only this thread runs): the descriptor is the
        parent's queue. Let go of it (without removing the parent's watches) and start afresh;
        the first folder watched makes a descriptor of the child's own."""
        # Another thread of the parent may have held the lock: no such thread is here to free it.
        self._lock = threading.Lock()
        self._applying = False
        self._queued = None
        if self._closer is not None:
            self._closer.detach()
            self._closer = None
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = -1
        self._clear()

    def _give_up(self, why: str) -> None:
        """Watch nothing from now on, and release the descriptor."""
        self._forget_all()
        self._failure = why
        self._queued = None
        if self._closer is not None:
            self._closer()
            self._closer = None
        self._fd = -1

    def _remember_unwatchable(self, folder: str) -> None:
        if len(self._unwatchable) >= MAX_UNWATCHABLE:
            self._unwatchable.clear()
        self._unwatchable.add(folder)


def _after_fork(watch: weakref.ref[FolderWatch]) -> None:
    """Run in every child process :func:`os.fork` makes, for each watch made before the fork and
    still alive (the reference is weak: a fork keeps no watch alive)."""
    alive = watch()
    if alive is not None:
        alive._forked()
