"""The kernel side of :mod:`.watching`: Linux's inotify calls through the C library, and the
events they report. The state (watches, stamps) is kept by :class:`~.watching.FolderWatch`.

The look at the queue made for every request (:meth:`Inotify.waiting`) is a ``poll`` with no
timeout called through :class:`ctypes.PyDLL`, which keeps the GIL during the call: the call
cannot block, and letting go of the GIL for it would hand the GIL to another thread (on a busy
server, a switch across cores) twice per request. The other calls are rare (a folder watched,
events read) and are made as usual.
"""

from __future__ import annotations

import ctypes
import functools
import os
import struct
from collections.abc import Callable, Iterator

__all__ = [
    "ENTRY_REPLACED",
    "FOLDER_GONE",
    "GUARD_MASK",
    "IN_CLOSE_WRITE",
    "IN_CREATE",
    "IN_DELETE",
    "IN_IGNORED",
    "IN_ISDIR",
    "IN_MODIFY",
    "IN_MOVED_FROM",
    "IN_MOVED_TO",
    "IN_Q_OVERFLOW",
    "LOCAL_FILESYSTEMS",
    "MASK",
    "READ_SIZE",
    "Inotify",
    "events",
]

# inotify(7) event bits.
IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_UNMOUNT = 0x00002000
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ISDIR = 0x40000000
IN_ONLYDIR = 0x01000000
IN_MASK_ADD = 0x20000000

#: What a watch asks for: every change to the folder or to an entry in it, and nothing that mere
#: reading causes (serving a file must not make its folder look changed). ``IN_MODIFY`` (a write
#: or a truncation) then ``IN_CLOSE_WRITE`` (the writer closed the file) tell when a file is
#: being written.
MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_ONLYDIR
)
#: What a watch on a folder on the way to a root asks for: its entries removed or renamed (the
#: path through one of them may now lead elsewhere), and the folder itself removed or renamed.
#: Not ``IN_CREATE``: an entry on a way exists, and no name can be made where one exists, so it is
#: removed or renamed over first, which is an event. Not ``IN_ATTRIB``: a ``chmod`` or a ``touch``
#: makes no path lead elsewhere, and in a folder such as ``/tmp`` they are constant (gunicorn's
#: workers touch a file there on every turn of their loop). Nor reads, writes or closes. Added to
#: what the folder's watch already asks for (``IN_MASK_ADD``), never taking from it, since a
#: folder watched for its contents and on the way to a root has one watch.
GUARD_MASK = (
    IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_ONLYDIR
    | IN_MASK_ADD
)
#: Events that mean the named entry of a folder may now be another object.
ENTRY_REPLACED = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB
#: Events that mean the watched folder itself is gone from where it was.
FOLDER_GONE = IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED

_EVENT = struct.Struct("iIII")
#: Bytes asked of one ``read``: far more than the largest event (16 bytes and a 256-byte name).
READ_SIZE = 64 * 1024
_POLLIN = 0x0001

#: ``statfs`` magic numbers of the local filesystems whose changes all raise inotify events: ext2,
#: ext3 and ext4, xfs, btrfs, tmpfs, overlay, zfs, f2fs, ramfs, bcachefs, reiserfs, jfs.
LOCAL_FILESYSTEMS = frozenset(
    {
        0xEF53,
        0x58465342,
        0x9123683E,
        0x01021994,
        0x794C7630,
        0x2FC12FC1,
        0xF2F52010,
        0x858458F6,
        0xCA451A4E,
        0x52654973,
        0x3153464A,
    }
)


class _PollFd(ctypes.Structure):
    """``struct pollfd``: the descriptor and the events asked about; the kernel writes only
    ``revents``, which nobody reads here, so threads may share one."""

    _fields_ = (("fd", ctypes.c_int), ("events", ctypes.c_short), ("revents", ctypes.c_short))


class Inotify:
    """The inotify calls, through the C library (Linux only: imported modules included)."""

    __slots__ = ("_add", "_init", "_poll", "_remove", "_statfs")

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self._init: Callable[[int], int] = libc.inotify_init1
        self._add: Callable[[int, bytes, int], int] = libc.inotify_add_watch
        self._remove: Callable[[int, int], int] = libc.inotify_rm_watch
        self._statfs: Callable[[bytes, ctypes.Array[ctypes.c_char]], int] = libc.statfs
        # Called without argument types: ctypes converts nothing, and every argument but the
        # timeout is made once, in the C type the function takes (see `waiting`).
        self._poll: Callable[..., int] = ctypes.PyDLL(None).poll

    def open(self) -> int:
        fd = self._init(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            raise _os_error("inotify_init1", "")
        return fd

    def add(self, fd: int, path: str, mask: int = MASK) -> int:
        """Watch the folder at ``path`` for ``mask`` (:data:`MASK`, or :data:`GUARD_MASK` for a
        folder on the way to a root); the watch descriptor, the same for every path that leads
        to the same folder."""
        wd = self._add(fd, os.fsencode(path), mask)
        if wd < 0:
            raise _os_error("inotify_add_watch", path)
        return wd

    def waiting(self, fd: int) -> Callable[[], int]:
        """A check of whether events are queued on ``fd``, for every request: the call answers
        1 when some are, 0 when none are, -1 when the look failed. It never blocks, reads
        nothing, and keeps the GIL (see the module's docstring)."""
        asked = _PollFd(fd, _POLLIN, 0)
        return functools.partial(self._poll, ctypes.byref(asked), ctypes.c_ulong(1), 0)

    def remove(self, fd: int, wd: int) -> None:
        self._remove(fd, wd)  # fails only for a watch the kernel already dropped

    def filesystem(self, path: str) -> int:
        """The ``f_type`` of the filesystem holding ``path`` (the first field of statfs)."""
        buffer = ctypes.create_string_buffer(512)
        if self._statfs(os.fsencode(path), buffer) != 0:
            raise _os_error("statfs", path)
        return ctypes.c_long.from_buffer(buffer).value & 0xFFFFFFFF


def _os_error(call: str, path: str) -> OSError:
    code = ctypes.get_errno()
    return OSError(code, f"{call}: {os.strerror(code)}", path or None)


def events(data: bytes) -> Iterator[tuple[int, int, bytes, int]]:
    """The events in what one ``read`` returned: ``(watch descriptor, mask, entry name,
    cookie)``, the name empty when the event is about the watched folder itself, the cookie the
    same for the two halves of one rename (``IN_MOVED_FROM``, ``IN_MOVED_TO``), else 0."""
    offset = 0
    size = _EVENT.size
    while offset + size <= len(data):
        wd, mask, cookie, length = _EVENT.unpack_from(data, offset)
        name = data[offset + size : offset + size + length].rstrip(b"\0")
        offset += size + length
        yield wd, mask, name, cookie
