"""Opening a file below a folder so that what was checked is what is read.

Deciding from a name that a file may be read, then opening it again by that name, leaves a gap:
a writer can put a symbolic link to ``/etc/passwd`` or a FIFO there in between. So the file is
opened once, and every check is made on that very descriptor or on the way it was reached.

:func:`open_beneath` walks the path one name at a time with ``openat`` from a descriptor of the
folder, never letting the kernel follow a symbolic link (``O_NOFOLLOW``). A link met on the way
is read and its target walked the same way, by the same rules, so links that stay inside the
folder work and any link (or ``..``) that would climb above it is refused. ``..`` is taken back
along the descriptors already walked, never looked up, so even a folder moved away during the
walk cannot lead out of it. Nothing is ever opened in a way that can wait: the last name is
opened with ``O_NONBLOCK`` (a FIFO opens at once and is then refused) and folders with
``O_DIRECTORY``. The descriptor is then ``fstat``-ed and kept only if it is a regular file.
The usual path (plain folders, a regular file, no link) takes one ``openat2`` call where Linux
has it (``RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS``: the kernel refuses any link or climb), else
one ``openat`` per name; anything else is walked again in full, links read and errors
explained.

Why a walk rather than ``openat2(RESOLVE_BENEATH)``: it needs no system call Python lacks (no
``ctypes``), runs the same on every POSIX system, keeps links with an absolute target inside the
folder working (``RESOLVE_BENEATH`` refuses every absolute link), and tells the caller the path
the file was reached by, which a caller's name rules need (``notes.txt -> app.ex.get.py``). It
costs one ``openat`` per folder on the path, as the kernel's own walk does.

What it cannot tell: a hard link is the file itself, wherever its other names are, so a hard
link to a file outside the folder is opened like any other file.

Where ``os.open`` takes no ``dir_fd`` (Windows), the file is opened by its resolved name and
its identity (device and inode) is compared with the one the containment check saw.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Callable
from typing import TypeVar

from ._openat2 import load as load_openat2
from .errors import (
    LeavesBaseError,
    MissingFileError,
    NotRegularFileError,
    OpenBeneathError,
    RefusedFileError,
)

__all__ = ["MAX_LINKS", "open_beneath"]

_E = TypeVar("_E", bound=OpenBeneathError)

#: Symbolic links followed on one path before giving up (Linux's own limit).
MAX_LINKS = 40

#: A rule on the path a file was reached by (links followed, as names below the folder): why
#: it may not be opened, or None.
Refusal = Callable[[tuple[str, ...]], "str | None"]

_O_PATH = getattr(os, "O_PATH", 0)  # Linux: a folder on the way needs search, not read, rights
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_BASE_FLAGS = os.O_RDONLY | _DIRECTORY | _NONBLOCK | _CLOEXEC | _O_PATH
_FOLDER_FLAGS = _BASE_FLAGS | _NOFOLLOW
_FILE_FLAGS = (
    os.O_RDONLY
    | _NOFOLLOW
    | _NONBLOCK
    | _CLOEXEC
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_BINARY", 0)
)
#: Whether ``os.open`` takes ``dir_fd`` here (not on Windows).
_WALKS = os.open in os.supports_dir_fd
#: The usual case in one system call, where Linux has ``openat2`` (a constant: the C function
#: and the flags it is called with).
_OPENAT2 = load_openat2(_FILE_FLAGS)
#: What starts an absolute path: ``isabs`` without its cost on the hot path.
_SEPARATORS = frozenset(sep for sep in ("/", os.sep, os.altsep) if sep)
#: Whether paths may start with a drive (``C:x`` is not relative to anything either).
_DRIVES = bool(os.path.splitdrive("C:x")[0])
_FS_ENCODING = sys.getfilesystemencoding()
_FS_ERRORS = sys.getfilesystemencodeerrors()
#: Names that take the full walk: ``..`` and the empty and ``.`` names it drops.
_ODD_NAMES = frozenset({"", ".", ".."})
#: What ``open`` says, by system, when ``O_NOFOLLOW`` met a link (or ``O_DIRECTORY`` a non-folder).
_MAYBE_LINK = frozenset(
    {errno.ELOOP, errno.ENOTDIR, errno.EMLINK, getattr(errno, "EFTYPE", errno.ELOOP)}
)


def open_beneath(
    base: str, relative: str, *, refusal: Refusal | None = None, base_fd: int | None = None
) -> tuple[int, os.stat_result]:
    """Open the regular file ``base/relative`` for reading, without ever leaving ``base``.

    Symbolic links are followed only while they stay inside ``base`` (an absolute target
    counts when it names ``base`` itself, as given or resolved, followed by a path inside it).
    The descriptor is opened non-blocking and close-on-exec (``O_NONBLOCK`` has no effect on
    reading a regular file); the caller owns it and must close it.

    :param base: the folder; it may itself be or lie below a symbolic link.
    :param relative: a relative path below ``base``, ``/``-separated.
    :param refusal: a rule on the names the file was reached by, links followed (``a/b.txt``
        as ``("a", "b.txt")``): a reason to refuse it, or None. Called once the file is open,
        when a symbolic link was followed on the way; without one the names are those asked
        for, which the caller has judged already.
    :param base_fd: an open descriptor of ``base`` (``O_PATH`` will do) that the caller knows
        is still what ``base`` leads to (:class:`~.handles.FolderHandles` keeps such ones): the
        usual case then opens nothing but the file. It is not closed.
    :returns: the descriptor and its ``fstat``.
    :raises ValueError: when ``relative`` is absolute or holds a NUL.
    :raises MissingFileError: nothing there (or a file where a folder is needed).
    :raises NotRegularFileError: a folder, FIFO, socket or device.
    :raises LeavesBaseError: a symbolic link or ``..`` leads outside ``base``.
    :raises RefusedFileError: ``refusal`` gave a reason.
    :raises OpenBeneathError: any other failure (permissions, too many links), with its errno.
    """
    if "\x00" in relative or "\x00" in base:
        raise ValueError(f"`relative` {relative!r} and `base` {base!r} must not hold a NUL")
    if relative[:1] in _SEPARATORS or (_DRIVES and os.path.splitdrive(relative)[0]):
        raise ValueError(f"`relative` {relative!r} must be a path relative to `base`")
    if not _WALKS:
        return _open_by_name(base, relative, refusal)
    names = relative.split("/")
    if _ODD_NAMES.isdisjoint(names):
        found = _direct(base, relative, names, base_fd)
        if found is not None:
            return found
    return _Walk(base, relative).run(_split(relative), refusal)


def _direct(
    base: str, relative: str, names: list[str], base_fd: int | None
) -> tuple[int, os.stat_result] | None:
    """The usual case in as few steps as the rules allow: each name a plain folder, the last a
    regular file, no link anywhere. None for anything else, which :class:`_Walk` then does
    again in full (and explains). ``base_fd``, when given, stands for ``base`` and stays open."""
    if base_fd is None:
        try:
            folder = os.open(base, _BASE_FLAGS)
        except OSError:
            return None
    else:
        folder = base_fd
    if _OPENAT2 is not None:
        try:
            fd = _OPENAT2(folder, relative.encode(_FS_ENCODING, _FS_ERRORS))  # os.fsencode
        finally:
            if folder != base_fd:
                os.close(folder)
        return _regular(fd) if fd >= 0 else None
    try:
        for name in names[:-1]:
            inner = os.open(name, _FOLDER_FLAGS, dir_fd=folder)
            if folder != base_fd:
                os.close(folder)
            folder = inner
        fd = os.open(names[-1], _FILE_FLAGS, dir_fd=folder)
    except OSError:
        return None
    finally:
        if folder != base_fd:
            os.close(folder)
    return _regular(fd)


def _regular(fd: int) -> tuple[int, os.stat_result] | None:
    """``fd`` and its ``fstat`` when it is a regular file; otherwise None, ``fd`` closed."""
    try:
        st = os.fstat(fd)
    except OSError:
        st = None
    if st is not None and stat.S_ISREG(st.st_mode):
        return fd, st
    os.close(fd)
    return None


class _Walk:
    """One :func:`open_beneath` call: the descriptors of the folders walked so far."""

    __slots__ = ("base", "folders", "linked", "names", "relative")

    def __init__(self, base: str, relative: str) -> None:
        self.base = base
        self.relative = relative
        self.folders: list[int] = []  # the folder walked last is at the end; base first
        self.names: list[str] = []  # the names those folders were reached by, below base
        self.linked = False  # whether a symbolic link was followed

    def run(self, parts: list[str], refusal: Refusal | None) -> tuple[int, os.stat_result]:
        try:
            self.folders.append(os.open(self.base, _BASE_FLAGS))
        except OSError as exc:
            raise self._error(exc, self.base) from exc
        try:
            return self._walk(parts, refusal)
        finally:
            for fd in self.folders:
                os.close(fd)

    def _walk(self, parts: list[str], refusal: Refusal | None) -> tuple[int, os.stat_result]:
        pending = parts[::-1]  # popped from the end
        links = 0
        while pending:
            name = pending.pop()
            if name == "..":
                if len(self.folders) == 1:
                    raise self._leaves()
                os.close(self.folders.pop())
                self.names.pop()
                continue
            last = not pending
            try:
                fd = os.open(name, _FILE_FLAGS if last else _FOLDER_FLAGS, dir_fd=self.folders[-1])
            except OSError as exc:
                target = self._link_target(name, exc)
                fd = -1
            if fd < 0:
                links += 1
                if links > MAX_LINKS:
                    raise self._failure(
                        OpenBeneathError, errno.ELOOP, "it goes through too many symbolic links"
                    )
                if target is None:
                    pending.append(name)  # it stopped being a link in between: look again
                    continue
                self.linked = True
                if os.path.isabs(target):
                    target = self._inside(target)
                    self._restart_at_base()
                pending.extend(_split(target)[::-1])
                continue
            if not last:
                self.folders.append(fd)
                self.names.append(name)
                continue
            return self._checked(fd, (*self.names, name), refusal)
        raise self._failure(NotRegularFileError, errno.EISDIR, "it is a folder, not a regular file")

    def _checked(
        self, fd: int, reached: tuple[str, ...], refusal: Refusal | None
    ) -> tuple[int, os.stat_result]:
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise self._failure(
                    NotRegularFileError,
                    errno.EISDIR if stat.S_ISDIR(st.st_mode) else errno.ENXIO,
                    f"it is {_kind(st.st_mode)}, not a regular file",
                )
            reason = refusal(reached) if refusal is not None and self.linked else None
            if reason is not None:
                raise self._failure(
                    RefusedFileError, errno.EACCES, f"it leads to `{'/'.join(reached)}`: {reason}"
                )
        except BaseException:
            os.close(fd)
            raise
        return fd, st

    def _link_target(self, name: str, exc: OSError) -> str | None:
        """The target of the link ``name`` that ``open`` refused with ``exc``; None when
        ``name`` is no longer a link; ``exc``, turned into our error, when it never was."""
        if exc.errno not in _MAYBE_LINK:
            raise self._error(exc, name) from exc
        try:
            return os.readlink(name, dir_fd=self.folders[-1])
        except OSError as again:
            if again.errno == errno.EINVAL and exc.errno in (errno.ELOOP, errno.EMLINK):
                return None  # swapped for a non-link since `open` saw a link
            if again.errno == errno.EINVAL:  # not a link: a file where a folder was needed
                raise self._missing() from exc
            raise self._error(again, name) from exc

    def _restart_at_base(self) -> None:
        """Go back to ``base``, for an absolute link target that :meth:`_inside` accepted."""
        while len(self.folders) > 1:
            os.close(self.folders.pop())
        self.names.clear()

    def _inside(self, target: str) -> str:
        """The part of the absolute ``target`` below ``base``: ``base`` as given or resolved
        must be its leading names."""
        wanted = _split(target)
        for form in (os.path.abspath(self.base), os.path.realpath(self.base)):
            prefix = _split(form)
            if wanted[: len(prefix)] == prefix:
                return "/".join(wanted[len(prefix) :]) or "."
        raise self._leaves()

    def _leaves(self) -> LeavesBaseError:
        return self._failure(
            LeavesBaseError, errno.EXDEV, "a symbolic link or `..` on its path leads outside it"
        )

    def _missing(self) -> MissingFileError:
        return self._failure(MissingFileError, errno.ENOENT, "there is no such file")

    def _error(self, exc: OSError, name: str) -> OpenBeneathError:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return self._missing()
        if exc.errno == errno.ENXIO:  # a socket, or a device with no driver behind it
            return self._failure(NotRegularFileError, exc.errno, "it is not a regular file")
        return self._failure(
            OpenBeneathError, exc.errno or errno.EIO, f"`{name}`: {exc.strerror or exc}"
        )

    def _failure(self, cls: type[_E], code: int, why: str) -> _E:
        message = f"cannot open `{self.relative}` in `{self.base}`: {why}"
        return cls(code, message, os.path.join(self.base, self.relative))


def _open_by_name(base: str, relative: str, refusal: Refusal | None) -> tuple[int, os.stat_result]:
    """Where ``os.open`` takes no ``dir_fd``: resolve the name, check it is inside ``base``,
    open it and make sure the descriptor is the file that was checked."""
    walk = _Walk(base, relative)
    real_base = os.path.realpath(base)
    real = os.path.realpath(os.path.join(base, relative))
    try:
        inside = os.path.commonpath((real, real_base)) == real_base
    except ValueError:  # another drive
        inside = False
    if not inside:
        raise walk._leaves()
    try:
        checked = os.stat(real)
        fd = os.open(real, _FILE_FLAGS)
    except OSError as exc:
        raise walk._error(exc, relative) from exc
    opened = os.fstat(fd)
    if (opened.st_dev, opened.st_ino) != (checked.st_dev, checked.st_ino):
        os.close(fd)
        raise walk._failure(OpenBeneathError, errno.EAGAIN, "it was replaced while being opened")
    reached = tuple(_split(os.path.relpath(real, real_base)))
    walk.linked = reached != tuple(_split(relative))
    return walk._checked(fd, reached, refusal)


def _split(path: str) -> list[str]:
    """The names of a path, without empty and ``.`` ones (``..`` is kept)."""
    if os.altsep:
        path = path.replace(os.altsep, os.sep)
    return [part for part in path.split(os.sep) if part not in ("", ".")]


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a plain file"
