"""Loading handler, hook and error-handler files as modules, once per version of each file.

A file is executed the first time it is needed and again only after it changes; its module is
reused in between, so module-level caches in a handler work. A change is noticed by one ``stat``
per request: the file's inode, size, mtime and ctime. A file loaded less than
:data:`cylinder_router.listing.RACY_WINDOW_NS` after its last change is also compared byte for
byte with what was loaded until it settles, because two writes within one tick of the
filesystem clock can leave every ``stat`` field the same.

Given a :class:`~cylinder_router.watching.FolderWatch`, a file is trusted without any ``stat`` while
its folder's stamp is the one it was loaded under (the watch's owner polls it once per request).
A file that is a symbolic link or has other hard links is always checked with ``stat``: a change
made through another path raises its event in another folder.

What was checked is what is read: a file is opened once, with
:func:`~cylinder_router.open_beneath` below the folder of sites (``site_dir``), never following a
symbolic link out of it and never waiting (a FIFO, socket or device is refused at once as not a
regular file), and its bytes are read, and its ``fstat`` taken, from that descriptor.

Many threads may ask for the same file at once: one loads it while the others wait for that
load, and no thread ever sees a module whose top level has not finished running.

With the watch, a file is never run half-written: while a writer has modified the file and not
yet closed it, the version loaded before keeps answering; with none loaded before, the request
gets :class:`FileBeingWritten`, a 503 with ``Retry-After``, and a warning naming the file is
logged. After reading a file, the loader polls the watch again and keeps what it read only if no
event named the file since the request's poll, so a write that overlaps the read is never
executed either. Without a watch (or in a folder it cannot watch) what is on disk is loaded.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib.machinery import ModuleSpec

from werkzeug.exceptions import ServiceUnavailable

from cylinder_router import NotRegularFileError, OpenBeneathError, open_beneath
from cylinder_router.listing import RACY_WINDOW_NS
from cylinder_router.watching import FileState, FolderWatch

from .errors import HandlerLoadError
from .inject import CallPlan, plan_call

__all__ = ["RETRY_AFTER", "FileBeingWritten", "LoadedFile", "ModuleLoader"]

_Fingerprint = tuple[int, int, int, int, int, int]

#: Seconds a client is asked to wait (``Retry-After``) when a file it needs is being written and
#: no earlier version of it was loaded.
RETRY_AFTER = 1
#: How many times a file is read again when a writer touched it during the read, before the
#: request is answered as if the file were still being written.
READ_ATTEMPTS = 3


class FileBeingWritten(ServiceUnavailable):
    """A route file is being written (modified, not yet closed) and no earlier version of it was
    loaded: 503 with ``Retry-After``. The response says nothing about the file; the log does.

    :param path: the file.
    """

    def __init__(self, path: str) -> None:
        super().__init__(retry_after=RETRY_AFTER)
        self.path = path

    def __str__(self) -> str:
        return f"{super().__str__()} (`{self.path}` is being written)"


class _Busy(Exception):
    """Raised inside the loader when the file is being written; carries nothing."""


@dataclass(frozen=True, slots=True)
class LoadedFile:
    """One version of a loaded file.

    :param path: the file.
    :param module: its module, top level fully run.
    :param main: the module's ``main``.
    :param plan: how to call ``main``, read from its signature once.
    :param fingerprint: the ``stat`` (inode, size, mtime, ctime, device, links) of the bytes read.
    :param source: those bytes, compared with the file while the version is not settled.
    :param settled: whether the file's last change is older than the racy window, so that an
        unchanged fingerprint alone proves the file unchanged.
    :param folder: the folder holding the file.
    :param stamp: the folder's watch stamp from before the file was last found current, or
        ``None``.
    :param watchable: whether its folder's events see every change to it: not for a symbolic
        link (its target changes elsewhere) or a file with other hard links (written through
        another path, the event is raised in another folder).
    """

    path: str
    module: types.ModuleType
    main: Callable[..., object]
    plan: CallPlan
    fingerprint: _Fingerprint
    source: bytes
    settled: bool
    folder: str
    stamp: int | None
    watchable: bool


class ModuleLoader:
    """Loads route files and keeps the current version of each.

    :param racy_window_ns: how recent a change must be for the bytes to be compared too.
    :param watch: tells which folders changed since a file was loaded, and which files are being
        written; without one (or for folders it does not watch) every load costs a ``stat`` of
        the file, and what is on disk is loaded.
    :param log: where a file that is being written and cannot be answered for is reported.
    """

    __slots__ = ("_files", "_locks", "_log", "_racy_window_ns", "_swap", "_watch")

    def __init__(
        self,
        racy_window_ns: int = RACY_WINDOW_NS,
        watch: FolderWatch | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self._files: dict[str, LoadedFile] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._racy_window_ns = racy_window_ns
        self._watch = watch
        self._log = log
        # Held to store a version, so that marking an old version settled (done without the
        # file's lock) can never put it back in place of a newer one.
        self._swap = threading.Lock()

    def load(self, path: str, describe: Callable[[], str], base: str | None = None) -> LoadedFile:
        """The current version of the file at ``path``, loading it if it is new or changed.

        :param path: the file's absolute path.
        :param describe: gives the file in words for error messages
            ("handler `foo/bar.ex.get.py`"); called only when the file is loaded.
        :param base: the folder the file must be read from below (symbolic links followed only
            while they stay inside it): the folder of sites. ``None``: the file's own folder.
        :raises HandlerLoadError: naming the file and line when it cannot be loaded.
        :raises FileBeingWritten: when a writer has modified the file and not yet closed it, and
            no earlier version was loaded.
        """
        current = self._files.get(path)
        watch = self._watch
        stamp = None
        if watch is not None:
            if current is not None:
                stamp = watch.stamp(current.folder)
                if stamp is not None and stamp == current.stamp:
                    return current  # nothing in its folder changed since it was found current
            folder = os.path.dirname(path)
            stamp = watch.stamp(folder) or watch.watch(folder)  # taken before the file is read
            if stamp is not None:
                state = watch.file_state(path)
                if state is not None and state.writing:
                    return self._meanwhile(path, current)
        if base is None:
            base = os.path.dirname(path)
        fingerprint = _fingerprint(path)
        if current is not None and self._is_current(current, fingerprint, base):
            self._vouch(current, stamp)
            return current
        lock = self._locks.setdefault(path, threading.Lock())
        with lock:
            current = self._files.get(path)
            fingerprint = _fingerprint(path)
            if current is not None and self._is_current(current, fingerprint, base):
                self._vouch(current, stamp)
                return current
            if fingerprint is None:  # (a loaded version would have been served above)
                raise HandlerLoadError(path, None, "the file does not exist")
            try:
                loaded = self._execute(path, base, describe(), stamp)
            except _Busy:
                return self._meanwhile(path, current)
            with self._swap:
                self._files[path] = loaded
            return loaded

    def _meanwhile(self, path: str, current: LoadedFile | None) -> LoadedFile:
        """What answers while ``path`` is being written: the version loaded before, else a 503."""
        if current is not None:
            return current  # (not vouched for: checked again once the writer closes the file)
        if self._log is not None:
            self._log.warning(
                "`%s` is being written (modified, not yet closed): answering 503 until its "
                "writer closes it",
                path,
            )
        raise FileBeingWritten(path)

    def forget(self, path: str) -> None:
        """Drop the loaded version of ``path``; the next :meth:`load` executes it again."""
        self._files.pop(path, None)

    def _is_current(self, loaded: LoadedFile, fingerprint: _Fingerprint | None, base: str) -> bool:
        if fingerprint is None:
            return True  # vanished: keep serving the version we have until routing moves on
        if fingerprint != loaded.fingerprint:
            return False
        if loaded.settled:
            return True
        try:
            same = _read_file(base, loaded.path)[1] == loaded.source
        except HandlerLoadError:
            return False  # no longer readable as it was: load it again, and say why
        if same and time.time_ns() - fingerprint[2] > self._racy_window_ns:
            self._swap_in(loaded, replace(loaded, settled=True))
        return same

    def _vouch(self, loaded: LoadedFile, stamp: int | None) -> None:
        """Remember that ``loaded`` was found current under folder stamp ``stamp`` (taken before
        the check), so that later requests trust it until the folder changes again."""
        if stamp is not None and loaded.stamp != stamp and loaded.watchable:
            self._swap_in(loaded, replace(loaded, stamp=stamp))

    def _swap_in(self, loaded: LoadedFile, updated: LoadedFile) -> None:
        """Put ``updated`` in place of ``loaded``, unless a newer version replaced it already."""
        with self._swap:
            if self._files.get(loaded.path) is loaded:
                self._files[loaded.path] = updated

    def _execute(self, path: str, base: str, where: str, stamp: int | None) -> LoadedFile:
        started = time.time_ns()
        fingerprint, source = self._read(path, base, stamp)
        try:
            code = compile(source, path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            raise HandlerLoadError(path, exc.lineno, f"{type(exc).__name__}: {exc.msg}") from exc
        except ValueError as exc:  # NUL bytes in the source
            raise HandlerLoadError(path, None, f"cannot compile: {exc}") from exc

        # Registered while its top level runs, so that code needing its own module (dataclasses,
        # typing) works; taken out again so that nothing outlives the application. Another
        # application may be executing the same file right now: then this one takes a name of
        # its own, so that neither removes (or leaves behind) the other's entry.
        name = f"<cylinder {path}>"
        module = types.ModuleType(name)
        if sys.modules.setdefault(name, module) is not module:
            name = f"<cylinder {path} {id(module):x}>"
            module.__name__ = name
            sys.modules[name] = module
        module.__file__ = path
        module.__spec__ = ModuleSpec(name, None, origin=path)
        try:
            exec(code, module.__dict__)
        except (Exception, SystemExit) as exc:  # a sys.exit() at the top level fails the load
            line = _line_in(path, exc)
            raise HandlerLoadError(path, line, f"{type(exc).__name__}: {exc}") from exc
        finally:
            if sys.modules.get(name) is module:
                del sys.modules[name]

        main = getattr(module, "main", None)
        if not callable(main):
            reason = "it defines no `main`" if main is None else "its `main` is not callable"
            raise HandlerLoadError(path, None, reason)
        try:
            plan = plan_call(main, where)
        except TypeError as exc:
            raise HandlerLoadError(path, None, str(exc)) from exc
        settled = started - fingerprint[2] > self._racy_window_ns
        watchable = fingerprint[5] == 1 and _not_a_link(path)
        return LoadedFile(
            path,
            module,
            main,
            plan,
            fingerprint,
            source,
            settled,
            folder=os.path.dirname(path),
            stamp=stamp if watchable else None,
            watchable=watchable,
        )

    def _read(self, path: str, base: str, stamp: int | None) -> tuple[_Fingerprint, bytes]:
        """The file's bytes and the ``stat`` of the very file read, once no writer is in the
        middle of it (as far as the watch can tell: ``stamp`` is ``None`` when it cannot).

        :raises _Busy: the file is being written (or was just created and is still empty), or
            kept changing while it was read.
        """
        watch = self._watch
        before = watch.file_state(path) if watch is not None and stamp is not None else None
        for _ in range(READ_ATTEMPTS):
            if before is not None and before.writing:
                raise _Busy
            fingerprint, source = _read_file(base, path)
            if watch is None or before is None:
                return fingerprint, source
            # Every write queues its event before it returns: with none naming the file since
            # `before`, nobody wrote it while it was read.
            watch.poll()
            after: FileState | None = watch.file_state(path)
            if after == before:
                if before.created and not source:
                    raise _Busy  # created to be written, and nothing written yet
                return fingerprint, source
            if after is None:  # no longer watched: what is on disk, as without a watch
                return _read_file(base, path)
            before = after
        raise _Busy


def _read_file(base: str, path: str) -> tuple[_Fingerprint, bytes]:
    """The bytes of the regular file at ``path``, opened once below ``base``, and the ``stat``
    of that very descriptor: a replacement made since the caller's ``stat`` must not be
    remembered under the old version's fingerprint.

    :raises HandlerLoadError: naming the file, when it is not a regular file inside ``base``
        (a FIFO, socket or device is refused at once, never waited for) or cannot be read.
    """
    try:
        fd, st = open_beneath(base, os.path.relpath(path, base))
    except NotRegularFileError as exc:
        raise HandlerLoadError(path, None, f"it is not a regular file ({exc})") from exc
    except OpenBeneathError as exc:
        raise HandlerLoadError(path, None, str(exc)) from exc
    except ValueError as exc:  # not below `base` at all (another drive), a NUL
        raise HandlerLoadError(path, None, f"cannot open it below `{base}`: {exc}") from exc
    try:
        with os.fdopen(fd, "rb") as file:
            source = file.read()
    except OSError as exc:
        raise HandlerLoadError(path, None, f"cannot read the file: {exc}") from exc
    return _fingerprint_of(st), source


def _fingerprint(path: str) -> _Fingerprint | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return _fingerprint_of(st)


def _fingerprint_of(st: os.stat_result) -> _Fingerprint:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_dev, st.st_nlink)


def _not_a_link(path: str) -> bool:
    """Whether ``path`` itself is not a symbolic link (whose target changes elsewhere)."""
    return not os.path.islink(path)  # (islink answers False for a path it cannot lstat)


def _line_in(path: str, exc: BaseException) -> int | None:
    """The last line of ``path`` in the traceback of ``exc``."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == path:
            line = frame.lineno
    return line
