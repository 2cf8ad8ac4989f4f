"""The listener thread's work: taking records from the queue and handing them to the handler.

A :class:`Listener` takes every record queued so far at once (a batch), at most every
:data:`LINGER` seconds while records keep coming, and hands it on in slices of :data:`SLICE`
records. Between two slices it sleeps for :data:`PAUSE`, so that a request thread waiting for the
GIL takes it: a request never waits behind more than one slice of the listener's work (issue 15:
a batch handled in one stretch used to double the slowest latencies at one connection). It does
not pause when the queue is :meth:`~cylinder_logging.queueing.RecordQueue.pressed` (records
piling up, someone waiting for them, the queue closed), so pauses never make it drop records,
nor for the rest of a batch after a pause that lasted :data:`BUSY_PAUSE` (the request threads
kept the GIL that long: they are busy, and more pauses would only cost thread switches).

Deferred records are built here, and only when the handler's level lets them through. The
default handler (:class:`~cylinder_logging.batching.BatchStreamHandler`) is given the text of up
to :data:`~cylinder_logging.batching.CHUNK` records to write at once. With the default format
and no filters, the text of a deferred record is made without making the record
(:meth:`~cylinder_logging.deferred.RecordBuilder.default_line`): the same text, for a third of
the work.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator

from .batching import CHUNK, BatchStreamHandler
from .deferred import RecordBuilder
from .formatting import formats_as_default
from .queueing import QueuedRecord, RecordQueue

__all__ = ["BUSY_PAUSE", "LINGER", "PAUSE", "SLICE", "Listener"]

#: Seconds the listener lets a burst of records gather before handling it: one thread switch
#: per burst instead of one per record. Drains and stops do not wait for it.
LINGER = 0.02
#: How many records the listener hands to the handler between two pauses: with the default
#: handler and format, a few tens of microseconds of work holding the GIL.
SLICE = 8
#: Seconds the listener sleeps between two slices of a batch, letting go of the GIL so that a
#: request thread waiting for it takes it. A sleep, not a mere release: a thread that lets go of
#: the GIL and takes it back at once keeps it (the waiting thread is still waking up), and
#: CPython then makes the waiting thread wait out its whole switch interval, 5 ms, again. The
#: kernel's timer slack makes this about 60 µs on Linux.
PAUSE = 0.00002
#: A pause that lasts this many seconds (the listener waited that long to get the GIL back) says
#: that the request threads have plenty to do: the server is busy, every request waits its turn
#: anyway, and more pauses would only cost thread switches (about one more per request at 8
#: connections). The rest of the batch is handed on without pausing. At one connection a pause
#: lasts about 0.2 ms, and rarely more than 1 ms.
BUSY_PAUSE = 0.001


class Listener:
    """Feeds the records of ``queue`` to ``handler``; :meth:`run` is the listener thread.

    :param queue: the queue the logging threads fill.
    :param handler: the handler records go to.
    """

    __slots__ = ("_handler", "_queue")

    def __init__(self, queue: RecordQueue, handler: logging.Handler) -> None:
        self._queue = queue
        self._handler = handler

    def run(self) -> None:
        """Hand on queued records until the queue is closed and empty; then tell the queue
        that no listener runs any more."""
        queue = self._queue
        builder = RecordBuilder(os.getpid())  # made in the listener thread, for its use only
        try:
            while (batch := queue.get_batch(LINGER)) is not None:
                try:
                    builder.refresh()
                    self._hand_on(batch, builder)
                finally:
                    queue.task_done(len(batch))  # one lock round per batch, not per record
        finally:
            queue.set_listening(False)

    def _hand_on(self, batch: list[QueuedRecord], builder: RecordBuilder) -> None:
        """Hand ``batch`` to the handler, in order."""
        handler = self._handler
        if isinstance(handler, BatchStreamHandler):
            self._write_batch(batch, builder, handler)
            return
        build, handle, level = builder.build, handler.handle, handler.level
        for part in self._slices(batch):
            for item in part:
                record: logging.LogRecord | None = None
                try:
                    if isinstance(item, tuple):
                        if item[0].level < level:
                            continue
                        record = build(item)
                    elif item.levelno < level:
                        continue
                    else:
                        record = item
                    handle(record)
                except Exception:
                    self._report(record if record is not None else _bare_record(item))

    def _write_batch(
        self, batch: list[QueuedRecord], builder: RecordBuilder, handler: BatchStreamHandler
    ) -> None:
        """Give the batching handler the text of ``batch``, :data:`CHUNK` records at a time."""
        direct = (
            type(handler) is BatchStreamHandler
            and not handler.filters
            and formats_as_default(handler.formatter)
        )
        level, terminator = handler.level, handler.terminator
        lines: list[str] = []
        last: QueuedRecord | None = None  # the last record in `lines`, to report a failed write
        try:
            for part in self._slices(batch):
                for item in part:
                    if direct and isinstance(item, tuple):
                        if item[0].level < level:
                            continue
                        try:
                            lines.append(builder.default_line(item) + terminator)
                        except Exception:
                            self._report(_bare_record(item))
                            continue
                        last = item
                    else:
                        record = self._record(item, builder, level)
                        if record is None:
                            continue
                        text, passed = self._format(handler, record)
                        if passed is None:
                            continue
                        lines.append(text)
                        last = passed
                    if len(lines) >= CHUNK:
                        self._write(handler, "".join(lines), last, builder)
                        lines.clear()
                        last = None
        finally:
            if last is not None:
                self._write(handler, "".join(lines), last, builder)

    def _slices(self, batch: list[QueuedRecord]) -> Iterator[list[QueuedRecord]]:
        """``batch`` in slices of :data:`SLICE` records, with a pause of :data:`PAUSE` before
        each slice after the first, unless the queue is pressed then, or a pause of this batch
        lasted :data:`BUSY_PAUSE` or more."""
        queue = self._queue
        pausing = True
        for start in range(0, len(batch), SLICE):
            if start and pausing and not queue.pressed(len(batch) - start):
                paused = time.perf_counter()
                time.sleep(PAUSE)
                pausing = time.perf_counter() - paused < BUSY_PAUSE
            yield batch[start : start + SLICE]

    def _record(
        self, item: QueuedRecord, builder: RecordBuilder, level: int
    ) -> logging.LogRecord | None:
        """The record ``item`` stands for, built if deferred; ``None`` below ``level`` or when
        it cannot be built (reported to the handler)."""
        if isinstance(item, logging.LogRecord):
            return item if item.levelno >= level else None
        if item[0].level < level:
            return None
        try:
            return builder.build(item)
        except Exception:
            self._report(_bare_record(item))
            return None

    def _format(
        self, handler: BatchStreamHandler, record: logging.LogRecord
    ) -> tuple[str, logging.LogRecord | None]:
        """The line of ``record`` from the batching handler, and the record if it passed."""
        try:
            return handler.format_batch((record,))
        except Exception:
            self._report(record)
            return "", None

    def _write(
        self, handler: BatchStreamHandler, text: str, last: QueuedRecord, builder: RecordBuilder
    ) -> None:
        """Write ``text`` with the batching handler; ``last`` is reported if that fails."""
        try:
            handler.write_text(text)
        except RecursionError:
            raise
        except Exception:
            record = last if isinstance(last, logging.LogRecord) else None
            with contextlib.suppress(Exception):
                record = record or self._record(last, builder, 0)
            self._report(record or _bare_record(last))

    def _report(self, record: logging.LogRecord) -> None:
        """Tell the handler that handling ``record`` failed (``handleError``), never raising."""
        with contextlib.suppress(Exception):
            self._handler.handleError(record)


def _bare_record(item: QueuedRecord) -> logging.LogRecord:
    """Return a record for a handler's ``handleError`` when a deferred record could not be
    built (it always can be: this is a last resort, so that the failure is not silent)."""
    if isinstance(item, logging.LogRecord):
        return item
    site, name, message = item[:3]
    return logging.LogRecord(
        name, site.level, site.pathname, site.lineno, message, None, None, site.func
    )
