"""One application's logging: its logger, its queue, and the thread that feeds its handler."""

from __future__ import annotations

import atexit
import functools
import logging
import os
import sys
import threading
import weakref
from collections.abc import Mapping
from types import TracebackType
from typing import Self

from .batching import BatchStreamHandler
from .deferred import DEFERRABLE, CallSite, capture
from .formatting import default_formatter
from .listening import Listener
from .queueing import QueueingHandler, RecordQueue

__all__ = ["EXIT_FLUSH_TIMEOUT", "LogService"]

#: The most seconds a service still running at interpreter exit spends flushing its queue.
EXIT_FLUSH_TIMEOUT = 5.0


class LogService:
    """An application's logger, whose records are handled by a listener thread.

    Logging calls prepare the record in the calling thread (merged message, traceback text,
    ``request_id``, ``timestamp``) and queue it; they never wait for the handler, however slow.
    :meth:`log_deferred` queues only what the listener needs to build the same record.
    When ``queue_length`` records are waiting, new ones are dropped and counted (see
    :attr:`dropped`), and a WARNING with the count is queued once there is room again.

    The logger is made directly, not with :func:`logging.getLogger`: nothing is registered
    process-wide, two services never share a logger (even with the same name), and records do
    not propagate to the root logger.

    Records logged before :meth:`start` wait in the queue (bounded as usual) and are handled once
    the listener starts. Records logged after :meth:`stop` are dropped and counted. A service is
    started at most once; a service still running when the interpreter exits is stopped then, so
    queued records are flushed (for at most :data:`EXIT_FLUSH_TIMEOUT` seconds).

    :param name: the logger's name, as records show it.
    :param level: the logger's level.
    :param handler: where records go; by default a
        :class:`~cylinder_logging.batching.BatchStreamHandler` on ``sys.stderr``, a
        ``logging.StreamHandler`` that writes each batch of records with one ``write``.
        Only records at or above the handler's own level are passed to it.
    :param formatter: set on ``handler``; :func:`~cylinder_logging.default_formatter` by default.
    :param queue_length: the most records waiting at once; ``0`` for no bound (memory may then
        grow without limit under load).
    :raise TypeError: if ``queue_length``, ``handler`` or ``formatter`` has the wrong type.
    :raise ValueError: if ``queue_length`` is negative or ``level`` is not a logging level.
    """

    def __init__(
        self,
        name: str,
        *,
        level: int = logging.DEBUG,
        handler: logging.Handler | None = None,
        formatter: logging.Formatter | None = None,
        queue_length: int = 1000,
    ) -> None:
        if isinstance(queue_length, bool) or not isinstance(queue_length, int):
            raise TypeError(
                f"`log_queue_length` must be an int, got {queue_length!r}"
                f" ({type(queue_length).__name__})"
            )
        if queue_length < 0:
            raise ValueError(
                f"`log_queue_length` must be 0 (no bound) or a positive number of records,"
                f" got {queue_length}"
            )
        if handler is None:
            handler = BatchStreamHandler(sys.stderr)
        elif not isinstance(handler, logging.Handler):
            raise TypeError(
                f"`log_handler` must be a logging.Handler, got {handler!r}"
                f" ({type(handler).__name__})"
            )
        if formatter is None:
            formatter = default_formatter()
        elif not isinstance(formatter, logging.Formatter):
            raise TypeError(
                f"`log_formatter` must be a logging.Formatter, got {formatter!r}"
                f" ({type(formatter).__name__})"
            )
        logger = _ServiceLogger(name)
        try:
            logger.setLevel(level)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"`log_level` must be a logging level such as logging.INFO, got {level!r}"
            ) from error
        logger.propagate = False
        handler.setFormatter(formatter)
        self._queue = RecordQueue(name, queue_length)
        self._queueing = QueueingHandler(self._queue, handler)
        logger.addHandler(self._queueing)
        self._logger = logger
        self._handler = handler
        self._state = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped" if self._stopped else "not started"
        return f"<LogService {self._logger.name!r} {state}, {self.dropped} dropped>"

    @property
    def logger(self) -> logging.Logger:
        """The application's logger."""
        return self._logger

    @property
    def dropped(self) -> int:
        """How many records were dropped (queue full, or logged after :meth:`stop`), in total."""
        return self._queue.dropped

    @property
    def running(self) -> bool:
        """Whether the listener is running: started, not stopped."""
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stopped

    def start(self) -> None:
        """Start the listener thread; does nothing if it is running.

        :raise RuntimeError: if the service was stopped.
        """
        with self._state:
            if self._stopped:
                raise RuntimeError(
                    f"log service `{self._logger.name}` was stopped and cannot be started again;"
                    " create a new `LogService`"
                )
            if self._thread is None:
                self._spawn()
                atexit.register(self._stop_at_exit)
                # A fork copies no threads: a child (a gunicorn worker of a preloaded app)
                # gets a listener of its own. The hook holds the service weakly.
                os.register_at_fork(
                    after_in_child=functools.partial(_after_fork, weakref.ref(self))
                )

    def stop(self, timeout: float | None = None) -> bool:
        """Handle every queued record, then end the listener thread.

        Later records are dropped and counted. Calling it again waits again, so a stop that timed
        out can be finished later.

        :param timeout: the most seconds to wait; ``None`` waits as long as the handler takes.
        :return: whether the queue was flushed and the thread has ended.
        """
        with self._state:
            if not self._stopped:
                self._stopped = True
                if self._thread is None:
                    self._spawn()  # records logged before start() are flushed too
                self._queue.close()
                atexit.unregister(self._stop_at_exit)
            thread = self._thread
        if thread is None or thread is threading.current_thread():
            return False
        thread.join(timeout)
        return not thread.is_alive()

    def log_deferred(
        self,
        site: CallSite,
        msg: str,
        args: tuple[object, ...],
        values: tuple[object, ...] = (),
    ) -> None:
        """Log ``msg % args`` from ``site``, cheaply: the listener builds the record.

        For hot call sites that know where they are, such as an access line: there is no stack
        walk, and no :class:`logging.LogRecord` is made in this thread. The call merges the
        message and captures what depends on this thread and moment (the time, the request id,
        the thread and its name, the asyncio task); the listener builds the record from that.
        The handler gets the record that ``logger.handle(logger.makeRecord(...))`` would have
        queued at the same moment, with every attribute, ``request_id`` and ``timestamp`` alike
        (``processName`` is read when the listener builds it). The queue's bound and drop
        counting apply as usual.

        The record takes that normal path instead, so that anything that could see it before
        the queue sees it in this thread, when the logger has filters, other handlers or a
        parent it propagates to, when its queueing handler has filters or a level above
        ``site.level``, or when a record factory is set with
        :func:`logging.setLogRecordFactory`. So it does when ``msg`` is not a ``str``, when
        ``args`` is not a tuple or holds one mapping, and on a Python whose records have
        attributes :mod:`~cylinder_logging.deferred` does not know. The handler's own level and
        filters apply in the listener, as for every record.

        :param site: where the record comes from, with its level; nothing is logged if the
            logger is not enabled for that level.
        :param msg: the message format, merged as ``msg % args`` (when ``args`` is not empty)
            in this thread, as every record of this service is.
        :param args: the arguments of the message.
        :param values: the values of ``site.attributes``, in their order, which the record
            gets as attributes (as ``extra=`` gives them).
        :raises ValueError: when ``values`` does not give one value per attribute.
        """
        logger = self._logger
        if not logger.isEnabledFor(site.level):
            return
        if len(values) != len(site.attributes):
            raise ValueError(
                f"`values` must give one value per attribute of the call site"
                f" {site.attributes!r}, got {values!r}"
            )
        queueing = self._queueing
        handlers = logger.handlers
        if (
            logger.filters
            or len(handlers) != 1
            or handlers[0] is not queueing
            or queueing.filters
            or site.level < queueing.level
            or (logger.propagate and logger.parent is not None)
            or logging.getLogRecordFactory() is not logging.LogRecord
            or type(msg) is not str
            or type(args) is not tuple
            or (len(args) == 1 and isinstance(args[0], Mapping))
            or not DEFERRABLE
        ):
            logger.handle(_make_record(logger, site, msg, args, values))
            return
        try:
            message = msg % args if args else msg
        except Exception:  # reported as the queueing handler reports a message it cannot merge
            queueing.handleError(_make_record(logger, site, msg, args, values))
            return
        self._queue.put_nowait(capture(site, site.name or logger.name, message, values))

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every record queued before this call has been handled.

        Records queued while it waits are not waited for. Returns at once when the listener is
        not running (not started, or ended).

        :param timeout: the most seconds to wait; ``None`` waits as long as the handler takes.
        :return: whether all those records have been handled.
        """
        return self._queue.wait_for(self._queue.mark(), timeout)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _restart_in_child(self) -> None:
        """Called in a new child process: fresh locks, and a listener if the parent ran one."""
        self._state = threading.Lock()
        self._queue.reset_after_fork()
        if self._thread is not None and not self._stopped:
            self._thread = None
            self._spawn()

    def _spawn(self) -> None:
        """Start the listener thread (the caller holds ``_state``)."""
        thread = threading.Thread(
            target=self._listen, name=f"cylinder-logging {self._logger.name}", daemon=True
        )
        self._queue.set_listening(True)
        try:
            thread.start()
        except BaseException:
            self._queue.set_listening(False)
            raise
        self._thread = thread

    def _listen(self) -> None:
        """The listener thread: feeds queued records to the handler until the queue is closed
        and empty (see :mod:`~cylinder_logging.listening`)."""
        Listener(self._queue, self._handler).run()

    def _stop_at_exit(self) -> None:
        self.stop(EXIT_FLUSH_TIMEOUT)


class _ServiceLogger(logging.Logger):
    """A logger that works unregistered: no stale level cache, children that stay attached.

    The stdlib caches :meth:`isEnabledFor` per logger and clears the cache only for loggers it
    has registered, so an unregistered logger would ignore a later ``setLevel`` or
    ``logging.disable``; and ``getChild`` would return a registered logger that bypasses this
    one's handler.
    """

    def isEnabledFor(self, level: int) -> bool:
        """Return whether a record at ``level`` would be handled, checked afresh each time.

        :param level: a logging level.
        """
        if self.disabled or self.manager.disable >= level:
            return False
        return level >= (self.level or self.getEffectiveLevel())  # no call when a level is set

    def getChild(self, suffix: str) -> Self:
        """Return a new logger named ``<name>.<suffix>`` whose records go through this one.

        :param suffix: the child's name relative to this logger.
        """
        child = type(self)(f"{self.name}.{suffix}")
        child.parent = self
        return child


def _make_record(
    logger: logging.Logger,
    site: CallSite,
    msg: str,
    args: tuple[object, ...],
    values: tuple[object, ...],
) -> logging.LogRecord:
    """Return the record ``logger`` makes for a deferred call that takes the normal path."""
    return logger.makeRecord(
        site.name or logger.name,
        site.level,
        site.pathname,
        site.lineno,
        msg,
        args,
        None,
        site.func,
        dict(zip(site.attributes, values, strict=True)) if site.attributes else None,
    )


def _after_fork(service: weakref.ref[LogService]) -> None:
    """The at-fork hook of one service: restarts it in the child if it still exists."""
    alive = service()
    if alive is not None:
        alive._restart_in_child()
