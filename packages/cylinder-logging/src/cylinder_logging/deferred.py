"""Deferred records: the logging thread queues a few facts, the listener builds the record.

A hot call site that knows where it is (the runtime's access line) need not pay for a whole
:class:`logging.LogRecord` in the logging thread. It describes itself once, as a
:class:`CallSite`. Each call then captures (:func:`capture`) only what depends on the moment and
on the logging thread: the time, the request id, the thread and its name, the asyncio task, the
message merged with its arguments, and the values of the call site's own attributes. That small
tuple, a :data:`DeferredRecord`, is queued like any prepared record, and the listener's
:class:`RecordBuilder` turns it into the record that
:func:`~cylinder_logging.records.prepare_record` makes of ``Logger.makeRecord``'s: the same
attributes, in the same order, with the same values. Only ``processName`` is read by the
listener, once per batch, rather than by the logging thread.

Only the attributes of the running Python's ``LogRecord`` that this module knows are set;
:data:`DEFERRABLE` is false when that Python's records have others, and callers must then take
the normal path.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Final

from .context import _REQUEST_ID
from .formatting import timestamp_of
from .records import NO_REQUEST_ID

__all__ = ["DEFERRABLE", "CallSite", "DeferredRecord", "RecordBuilder", "capture"]

#: ``LogRecord`` reads the clock in nanoseconds from Python 3.13 on (gh-102402).
_NANOSECOND_CLOCK: Final = sys.version_info >= (3, 13)
#: The ``logging`` module's start time, the origin of ``relativeCreated``, in the unit of that
#: clock. Set once when ``logging`` is imported; typeshed does not declare it.
_START_TIME: Final[float] = logging.__dict__["_startTime"]
#: Whether records have ``taskName`` (Python 3.12 on).
_TASK_NAMES: Final = sys.version_info >= (3, 12)

#: The attributes a record gets from ``LogRecord.__init__``, in its order, as far as this
#: module knows them.
_STANDARD_ATTRIBUTES: Final = (
    "name",
    "msg",
    "args",
    "levelname",
    "levelno",
    "pathname",
    "filename",
    "module",
    "exc_info",
    "exc_text",
    "stack_info",
    "lineno",
    "funcName",
    "created",
    "msecs",
    "relativeCreated",
    "thread",
    "threadName",
    "processName",
    "process",
    *(("taskName",) if _TASK_NAMES else ()),
)

#: Whether this Python's ``LogRecord`` sets exactly the attributes :class:`RecordBuilder` sets;
#: when not (a later Python added one), records must not be deferred.
DEFERRABLE: Final = (
    tuple(vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))) == _STANDARD_ATTRIBUTES
)


#: What a record gets after its ``LogRecord`` attributes and ``extra=`` fields, when prepared.
_PREPARED_ATTRIBUTES: Final = ("message", "request_id", "timestamp")


class CallSite:
    """Where deferred records come from: their level, source file, line and function, and the
    name and extra attributes they carry.

    Make one per call site, once (a module or application constant will do): what its records
    share is worked out here, not per record. It is never changed afterwards.

    :param level: the level of its records.
    :param pathname: the source file its records name (``%(pathname)s``, ``%(filename)s``); a
        call site that stands for something else than a line of code may name that instead
        (the runtime's access records name ``access``, line 0).
    :param lineno: the line its records name.
    :param func: the function its records name.
    :param name: the records' ``name``; the logger's name when ``None``.
    :param attributes: the names of attributes each record gets besides the standard ones, as
        ``extra=`` would give them; :meth:`~cylinder_logging.LogService.log_deferred` takes
        their values, in this order.
    :raises ValueError: when an attribute would replace one a record has anyway.
    """

    __slots__ = (
        "_filename",
        "_shared",
        "attributes",
        "func",
        "level",
        "lineno",
        "name",
        "pathname",
    )

    def __init__(
        self,
        level: int,
        pathname: str,
        lineno: int,
        func: str | None = None,
        *,
        name: str | None = None,
        attributes: Iterable[str] = (),
    ) -> None:
        self.level = level
        self.pathname = pathname
        self.lineno = lineno
        self.func = func
        self.name = name
        self.attributes = tuple(attributes)
        for attribute in self.attributes:
            if attribute in _STANDARD_ATTRIBUTES or attribute in (*_PREPARED_ATTRIBUTES, "asctime"):
                raise ValueError(
                    f"call site attribute `{attribute}` would replace the record's own"
                )
        if len(set(self.attributes)) != len(self.attributes):
            raise ValueError(f"call site attributes {self.attributes!r} name one twice")
        try:
            filename = os.path.basename(pathname)
            module = os.path.splitext(filename)[0]
        except (TypeError, ValueError, AttributeError):  # as LogRecord
            filename, module = pathname, "Unknown module"
        self._filename = filename
        # Every attribute of a prepared record, in its order, with the values this call site's
        # records share; RecordBuilder copies it and fills in the others. Never changed.
        self._shared: dict[str, object] = dict.fromkeys(_STANDARD_ATTRIBUTES)
        self._shared.update(
            levelno=level,
            pathname=pathname,
            filename=filename,
            module=module,
            lineno=lineno,
            funcName=func,
        )
        self._shared.update(dict.fromkeys(self.attributes))  # where extra= puts them
        self._shared.update(dict.fromkeys(_PREPARED_ATTRIBUTES))

    def __repr__(self) -> str:
        return f"<CallSite {logging.getLevelName(self.level)} {self.pathname}:{self.lineno}>"


#: What :func:`capture` queues: the call site, record name, merged message, clock reading
#: (``time.time_ns()`` from Python 3.13 on, ``time.time()`` before, as ``LogRecord`` reads
#: it), request id, thread id, thread name, asyncio task name and the attributes' values.
DeferredRecord = tuple[
    CallSite, str, str, float, str, int | None, str | None, str | None, tuple[object, ...]
]


def capture(
    site: CallSite, name: str, message: str, values: tuple[object, ...] = ()
) -> DeferredRecord:
    """Return what the listener needs to build a record logged here and now.

    Call it in the logging thread, inside the request: it reads the clock, the request id, the
    thread and the asyncio task, honouring ``logging.logThreads`` and
    ``logging.logAsyncioTasks`` as ``LogRecord`` does.

    :param site: where the record comes from.
    :param name: the record's name.
    :param message: the message, already merged with its arguments.
    :param values: the values of ``site.attributes``, in their order.
    """
    if logging.logThreads:
        thread: int | None = threading.get_ident()
        thread_name: str | None = threading.current_thread().name
    else:
        thread = thread_name = None
    return (
        site,
        name,
        message,
        time.time_ns() if _NANOSECOND_CLOCK else time.time(),
        _REQUEST_ID.get() or NO_REQUEST_ID,
        thread,
        thread_name,
        _task_name() if _TASK_NAMES else None,
        values,
    )


class RecordBuilder:
    """Builds the records of :data:`DeferredRecord` tuples, in the listener thread.

    Make one per listener thread, in that thread: it keeps, without a lock, the local time zone
    of the latest second, and the process's id and name, which it reads again when
    :meth:`refresh` is called (once per batch of records).

    :param process: the process id the records carry: the logging threads' process, which is
        the listener's (a forked child gets a listener of its own).
    """

    __slots__ = ("_process", "_process_name", "_zone", "_zone_second")

    def __init__(self, process: int) -> None:
        self._process = process
        self._process_name: str | None = None
        self._zone: tzinfo | None = None
        self._zone_second = -1
        self.refresh()

    def refresh(self) -> None:
        """Read the process's name again (``LogRecord`` reads it per record; the listener calls
        this per batch), honouring ``logging.logMultiprocessing`` as ``LogRecord`` does."""
        if logging.logMultiprocessing:
            self._process_name = "MainProcess"
            multiprocessing = sys.modules.get("multiprocessing")
            if multiprocessing is not None:
                # as LogRecord: multiprocessing may be half imported
                with contextlib.suppress(Exception):
                    self._process_name = multiprocessing.current_process().name
        else:
            self._process_name = None

    def build(self, deferred: DeferredRecord) -> logging.LogRecord:
        """Return the prepared record that ``deferred`` stands for.

        It equals ``prepare_record(logger.makeRecord(...))`` made in the logging thread at the
        moment of :func:`capture`: ``msg`` and ``message`` hold the merged message, ``args``
        is ``None``, and ``request_id`` and ``timestamp`` are set.

        :param deferred: a tuple made by :func:`capture`.
        """
        site, name, message, clock, request_id, thread, thread_name, task_name, values = deferred
        if _NANOSECOND_CLOCK:  # as LogRecord computes them
            ns = int(clock)
            created = ns / 1e9
            msecs = (ns % 1_000_000_000) // 1_000_000 + 0.0
            if msecs == 999.0 and int(created) != ns // 1_000_000_000:
                msecs = 0.0  # the division rounded up to the next second
            relative = (ns - _START_TIME) / 1e6
        else:
            created = clock
            msecs = int((clock - int(clock)) * 1000) + 0.0
            relative = (clock - _START_TIME) * 1000
        fields = site._shared.copy()  # in a prepared record's order
        fields["name"] = name
        fields["msg"] = message
        fields["levelname"] = logging.getLevelName(site.level)
        fields["created"] = created
        fields["msecs"] = msecs
        fields["relativeCreated"] = relative
        fields["thread"] = thread
        fields["threadName"] = thread_name
        fields["processName"] = self._process_name
        fields["process"] = self._process if logging.logProcesses else None
        if _TASK_NAMES:
            fields["taskName"] = task_name
        if values:
            fields.update(zip(site.attributes, values))  # noqa: B905 (log_deferred checked)
        fields["message"] = message
        fields["request_id"] = request_id
        second = int(created)  # _timestamp(created), its usual case inline: once per record
        if second == self._zone_second and created - second < 0.999:
            fields["timestamp"] = datetime.fromtimestamp(created, self._zone)
        else:
            fields["timestamp"] = self._timestamp(created)
        record = logging.LogRecord.__new__(logging.LogRecord)
        record.__dict__ = fields
        return record

    def default_line(self, deferred: DeferredRecord) -> str:
        """Return the text :func:`~cylinder_logging.default_formatter` makes of the record that
        ``deferred`` stands for (the record :meth:`build` returns), without making the record.

        :param deferred: a tuple made by :func:`capture`.
        """
        site, _name, message, clock, request_id = deferred[:5]
        created = int(clock) / 1e9 if _NANOSECOND_CLOCK else clock
        # DEFAULT_FORMAT's fields, as "%(field)s" renders them: with str()
        return "%s %s %s:%s %s\n %s\n" % (  # noqa: UP031
            logging.getLevelName(site.level),
            self._timestamp(created),
            site._filename,
            site.lineno,
            request_id,
            message,
        )

    def _timestamp(self, created: float) -> datetime:
        """Return ``timestamp_of(created)``, with the zone found for the same whole second.

        Zone offsets change on whole seconds (a ``time.tzset()`` takes effect from the next
        one). Near a second's end the datetime may round up to the next second: the zone is
        looked up then.
        """
        second = int(created)
        if second == self._zone_second and created - second < 0.999:
            return datetime.fromtimestamp(created, self._zone)
        timestamp = timestamp_of(created)
        if created - second < 0.999:
            self._zone, self._zone_second = timestamp.tzinfo, second
        return timestamp


def _task_name() -> str | None:
    """Return the name of the asyncio task running in this thread, as ``LogRecord`` finds it
    (Python 3.12 on): ``None`` outside a task or when ``logging.logAsyncioTasks`` is off."""
    if not getattr(logging, "logAsyncioTasks", False):
        return None
    asyncio = sys.modules.get("asyncio")
    if asyncio is None or asyncio.events._get_running_loop() is None:
        return None  # current_task() would raise, and LogRecord keep None
    with contextlib.suppress(Exception):
        name: str = asyncio.current_task().get_name()
        return name
    return None
