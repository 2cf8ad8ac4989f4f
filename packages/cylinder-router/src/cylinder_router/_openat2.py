"""Linux's ``openat2(2)``, through the C library, for :mod:`.opening`'s usual case.

One call resolves a whole relative path below a folder's descriptor with
``RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS``: the kernel refuses any ``..`` that would climb out and
any symbolic link on the way. So the usual case (plain folders, a regular file, no link) costs
one system call instead of an ``openat`` and a ``close`` per folder; anything else fails here and
is walked name by name by :mod:`.opening`, which follows links that stay inside and says why.

Where the kernel or a sandbox lacks the call (before Linux 5.6, or a seccomp filter that
refuses it), :data:`OPENAT2` is None, found out once by a probe when this module is imported.
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys
from collections.abc import Callable

__all__ = ["Openat2", "load"]

#: openat2's number where the architecture shares the common system call table (5.6 and later).
_SYS_OPENAT2 = 437
_COMMON_TABLE = ("x86_64", "aarch64", "arm64", "riscv64", "ppc64le", "ppc64", "s390x", "armv7l")
_AT_FDCWD = -100
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_NO_SYMLINKS = 0x04
_RESOLVE_BENEATH = 0x08

#: Opens ``path`` (bytes) below the folder ``dir_fd``, no link anywhere, never above the
#: folder: the descriptor, or -1 (for any reason: the caller walks instead).
Openat2 = Callable[[int, bytes], int]


def load(flags: int) -> Openat2 | None:
    """``openat2`` with ``flags`` (``O_*``), or None where this system lacks it.

    :param flags: the open flags every call uses.
    """
    if not sys.platform.startswith("linux") or os.uname().machine not in _COMMON_TABLE:
        return None
    try:
        syscall = ctypes.CDLL(None, use_errno=True).syscall
    except (OSError, AttributeError):
        return None
    syscall.restype = ctypes.c_long
    resolve = _RESOLVE_BENEATH | _RESOLVE_NO_SYMLINKS | _RESOLVE_NO_MAGICLINKS
    how = struct.pack("=QQQ", flags, 0, resolve)  # struct open_how: flags, mode, resolve
    number = ctypes.c_long(_SYS_OPENAT2)
    size = ctypes.c_size_t(len(how))

    def openat2(dir_fd: int, path: bytes) -> int:
        return int(syscall(number, ctypes.c_int(dir_fd), path, how, size))

    probe = openat2(_AT_FDCWD, b".")
    if probe < 0:
        return None
    os.close(probe)
    return openat2
