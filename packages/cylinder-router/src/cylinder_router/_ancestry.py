"""The way to a root folder: the entries the kernel looks up to follow its path, watched so that
the path coming to lead elsewhere is an event.

A *root* (see :mod:`.watching`) is a watched folder whose parent is not watched for its contents:
the folder of sites, a folder reached through a symbolic link. Its path can come to lead to
another folder with no event in the root itself: an ancestor renamed, or replaced by another
folder of the same name, a ``current -> releases/42`` link on the way switched to
``releases/43``. Each such change replaces an entry that following the path looks up: ``srv`` in
``/``, ``current`` in ``/srv``, and for a link every entry its target goes through. So the way to
a root is the list of those lookups, ``(folder, entry name)``; :func:`lookups` follows a path as
the kernel does and has each folder watched before it looks in it. :class:`Ancestry` keeps, for
every watch on a way, the names that lead to each root: an event naming one of them (or the
folder itself removed, renamed or unmounted) tells exactly which roots may have moved, and an
event about any other entry (``/tmp`` sees many) costs one dictionary lookup.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable

__all__ = ["MAX_LINKS", "Ancestry", "lookups"]

#: Symbolic links followed on one path before giving up, as the kernel does (``ELOOP``).
MAX_LINKS = 40

_NONE: frozenset[str] = frozenset()


def lookups(path: str, watch: Callable[[str], int]) -> list[tuple[int, bytes]]:
    """The way to the folder at ``path``: every ``(watch descriptor, entry name)`` looked up to
    follow it, symbolic links included, in the order the kernel looks them up.

    Each folder looked in is handed to ``watch`` before its entry is looked up, by its path free
    of links, and ``watch`` answers the descriptor of its watch. Watched in that order, a folder
    is watched while the entries leading to it are already watched: from the moment the last
    one is looked up, a change anywhere on the way is an event.

    :param path: an absolute path.
    :param watch: starts watching a folder and returns the descriptor; raises
        :class:`OSError` when it cannot.
    :raises OSError: an entry on the way is missing, is not a folder or a link, loops, or a
        folder cannot be watched.
    :raises ValueError: ``path`` is not absolute or holds a NUL.
    """
    if not os.path.isabs(path):
        raise ValueError(f"the way to `{path}` is known only for an absolute path")
    pending = path.split("/")[::-1]  # the names still to look up, the next one last
    folder = "/"
    found: list[tuple[int, bytes]] = []
    watched: dict[str, int] = {}
    links = 0
    while pending:
        name = pending.pop()
        if name in ("", "."):
            continue
        if name == "..":
            # Looked up in `folder`, it is `folder`'s parent, which only a change on the way
            # that led here (already watched) can move.
            folder = os.path.dirname(folder)
            continue
        wd = watched.get(folder)
        if wd is None:
            wd = watched[folder] = watch(folder)
        found.append((wd, os.fsencode(name)))
        entry = os.path.join(folder, name)
        mode = os.lstat(entry).st_mode
        if stat.S_ISLNK(mode):
            links += 1
            if links > MAX_LINKS:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
            target = os.readlink(entry)
            if target.startswith("/"):
                folder = "/"
            pending.extend(target.split("/")[::-1])
        elif stat.S_ISDIR(mode):
            folder = entry
        else:
            raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), entry)
    return found


class Ancestry:
    """The ways to the roots that have one: for each watch on a way, which entry names lead to
    which roots. Watch descriptors are shared: a folder may be on the way to several roots, and
    watched for its contents too."""

    __slots__ = ("_leads", "_ways")

    def __init__(self) -> None:
        self._leads: dict[int, dict[bytes, set[str]]] = {}
        self._ways: dict[str, frozenset[tuple[int, bytes]]] = {}

    def __contains__(self, root: object) -> bool:
        """Whether ``root`` has a way, kept here."""
        return root in self._ways

    def __len__(self) -> int:
        return len(self._ways)

    @property
    def watches(self) -> frozenset[int]:
        """Every watch descriptor on some way."""
        return frozenset(self._leads)

    def guards(self, wd: int) -> bool:
        """Whether the folder of watch ``wd`` is on the way to some root."""
        return wd in self._leads

    def add(self, root: str, way: Iterable[tuple[int, bytes]]) -> None:
        """Keep ``way`` (from :func:`lookups`) as the way to ``root``, in place of any before."""
        self.release(root)
        kept = self._ways[root] = frozenset(way)
        for wd, name in kept:
            self._leads.setdefault(wd, {}).setdefault(name, set()).add(root)

    def named(self, wd: int, name: bytes) -> frozenset[str]:
        """The roots whose way looks up ``name`` in the folder of watch ``wd``: those an event
        naming that entry may have moved."""
        names = self._leads.get(wd)
        if names is None:
            return _NONE
        roots = names.get(name)
        return frozenset(roots) if roots else _NONE

    def through(self, wd: int) -> frozenset[str]:
        """Every root whose way goes through the folder of watch ``wd``."""
        names = self._leads.get(wd)
        if names is None:
            return _NONE
        return frozenset(root for roots in names.values() for root in roots)

    def release(self, root: str) -> list[int]:
        """Forget the way to ``root``; the watch descriptors no longer on any way."""
        way = self._ways.pop(root, None)
        if way is None:
            return []
        unused = []
        for wd, name in way:
            names = self._leads.get(wd)
            if names is None:
                continue
            roots = names.get(name)
            if roots is not None:
                roots.discard(root)
                if not roots:
                    del names[name]
            if not names:
                del self._leads[wd]
                unused.append(wd)
        return unused

    def clear(self) -> None:
        """Forget every way."""
        self._leads.clear()
        self._ways.clear()
