"""The bounded record queue between logging threads and the listener, and its handler.

Logging threads append to the queue; they never wait for room, nor for the handler. When the
queue is full, new records are dropped and counted, and the next record that finds room is
preceded by a WARNING saying how many were lost. Every accepted record gets a sequence number,
so a caller can wait for exactly the records queued so far (:meth:`RecordQueue.mark` and
:meth:`RecordQueue.wait_for`).

One wait is allowed, for the listener's sake: when the listener is waiting to take records and
:data:`HANDOFF_AT` of them are queued, the thread that queued the last one waits until the
listener has taken them (:data:`HANDOFF_TIMEOUT` at most). The listener needs the GIL to take
them, and a thread that keeps the GIL but lets go of it briefly and often (a short system call
per request) starves it: CPython only forces a switch after 5 ms without any. Meanwhile each of
those releases wakes the listener in vain, which the logging thread pays for, and the queue
fills until records are dropped. The waiting thread hands the GIL over. A listener busy in the
handler is not waiting to take records, so a slow handler still never makes anyone wait.

The queue holds prepared records and :data:`~cylinder_logging.deferred.DeferredRecord` tuples
alike (a :data:`QueuedRecord`): the bound, the drop counting and the sequence numbers apply to
both.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from logging.handlers import QueueHandler

from .deferred import DeferredRecord
from .formatting import timestamp_of
from .records import NO_REQUEST_ID, prepare_record

__all__ = [
    "HANDOFF_AT",
    "HANDOFF_TIMEOUT",
    "QueuedRecord",
    "QueueingHandler",
    "RecordQueue",
    "drop_report",
]

#: How many queued records make the logging thread hand them to a waiting listener (half the
#: queue's bound when that is smaller). About 10 ms of records at 25,000 a second: fewer
#: handoffs cost more waits, more let the listener starve longer.
HANDOFF_AT = 256
#: The most seconds a logging thread waits for the listener to take the records it handed over.
HANDOFF_TIMEOUT = 0.01

#: What the queue holds: a record prepared in the logging thread, or one the listener builds.
QueuedRecord = logging.LogRecord | DeferredRecord


def drop_report(name: str, count: int, queue_length: int) -> logging.LogRecord:
    """Return the WARNING record that reports ``count`` records dropped on a full queue.

    The record carries the count as ``dropped_records``, and ``-`` as its ``request_id``: the
    dropped records may have come from any request.

    :param name: the logger's name.
    :param count: how many records were dropped since the previous report.
    :param queue_length: the queue's bound, named in the message.
    """
    noun = "record" if count == 1 else "records"
    record = logging.LogRecord(
        name,
        logging.WARNING,
        __file__,
        0,
        f"{count} log {noun} dropped: queue full (log_queue_length={queue_length})",
        None,
        None,
        func="drop_report",
    )
    record.message = record.msg
    record.request_id = NO_REQUEST_ID
    record.timestamp = timestamp_of(record.created)
    record.dropped_records = count
    return record


class RecordQueue:
    """A FIFO of prepared records that never makes the producer wait.

    It holds at most ``queue_length`` records (``0``: no bound), plus at most one drop report,
    which is queued just before the record that found room so that no record is ever dropped to
    make space for a report. After :meth:`close`, records are dropped and counted.

    It offers ``put_nowait`` and ``get`` like :class:`queue.Queue`, for :class:`QueueHandler`;
    ``get`` returns ``None`` once the queue is closed and empty.

    :param name: the logger name drop reports are logged under.
    :param queue_length: the most records held at once; ``0`` for no bound.
    """

    def __init__(self, name: str, queue_length: int) -> None:
        self._name = name
        self._queue_length = queue_length
        self._records: deque[QueuedRecord] = deque()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._progressed = threading.Condition(self._lock)
        self._accepted = 0
        self._handled = 0
        self._dropped = 0
        self._unreported = 0
        self._closed = False
        self._listening = False
        self._idle = False  # the listener waits for a first record: wake it on the next one
        self._urgent = False  # someone waits for the records queued so far: do not linger
        self._waiting = 0  # how many threads wait in wait_for: the listener does not pause
        self._taking = False  # the listener is in get_batch: records can be handed to it
        self._busy = False  # the last batch had several records: more are on their way
        self._handoff_at = (
            min(HANDOFF_AT, max(1, queue_length // 2)) if queue_length else HANDOFF_AT
        )
        self._pressed_at = max(1, self._handoff_at // 2)
        self._taken = threading.Condition(self._lock)

    @property
    def dropped(self) -> int:
        """How many records were dropped, in total."""
        with self._lock:
            return self._dropped

    def put_nowait(self, record: QueuedRecord, /) -> None:
        """Queue ``record``, or drop and count it if the queue is full or closed.

        :param record: a record made ready by :func:`~cylinder_logging.records.prepare_record`,
            or a tuple made by :func:`~cylinder_logging.deferred.capture`.
        """
        with self._lock:
            if self._closed:
                self._dropped += 1
                return
            if self._queue_length and len(self._records) >= self._queue_length:
                self._dropped += 1
                self._unreported += 1
                return
            if self._unreported:
                report = drop_report(self._name, self._unreported, self._queue_length)
                self._records.append(report)
                self._accepted += 1
                self._unreported = 0
            self._records.append(record)
            self._accepted += 1
            if self._idle:  # wake the listener once per burst, not once per record
                self._idle = False
                self._arrived.notify()
            elif self._taking and len(self._records) >= self._handoff_at:
                self._arrived.notify()  # hand them over: see the module's documentation
                self._taken.wait(HANDOFF_TIMEOUT)

    def get(self) -> QueuedRecord | None:
        """Wait for the next record; ``None`` once the queue is closed and empty.

        Call :meth:`task_done` when the record has been handled.
        """
        with self._lock:
            if not self._wait_for_records():
                return None
            return self._records.popleft()

    def get_batch(self, linger: float) -> list[QueuedRecord] | None:
        """Wait for records and take every one queued; ``None`` once closed and empty.

        After the first record arrives, waits up to ``linger`` seconds for more, so that a busy
        server wakes the listener once per burst instead of once per record (each wake-up is a
        thread switch that the request threads pay for). After a batch of several records, it
        lingers first without asking to be woken by the next record, and only then waits for
        one. :meth:`wait_for`, :meth:`close` and a handoff (see the module's documentation)
        cut the wait short. Call :meth:`task_done` with the batch's length when handled.

        :param linger: the most seconds to let a burst gather.
        """
        with self._lock:
            self._taking = True
            try:
                gathered = False
                if self._busy and linger > 0 and not self._records and not self._hurried():
                    self._arrived.wait(linger)
                    gathered = bool(self._records)
                if not self._wait_for_records():
                    return None
                if not gathered and linger > 0 and not self._hurried():
                    self._arrived.wait(linger)
                # After a drain, quiet is likely: wait for the next record without lingering.
                self._busy = len(self._records) > 1 and not self._urgent
                self._urgent = False
                self._idle = False
                batch = list(self._records)
                self._records.clear()
                self._taken.notify_all()
                return batch
            finally:
                self._taking = False

    def pressed(self, holding: int) -> bool:
        """Whether a listener holding ``holding`` records it took must hand them on without
        pausing between slices: the queue is closed, someone waits for the records queued so
        far (:meth:`wait_for`), or records pile up (``holding`` and those queued reach half the
        handoff size, :data:`HANDOFF_AT` or half the bound), so that pauses never make the
        queue overflow.

        Read without the lock: an estimate, which the listener asks once per slice.

        :param holding: how many records the listener took and has not handed on yet.
        """
        return self._closed or self._waiting > 0 or holding + len(self._records) >= self._pressed_at

    def _hurried(self) -> bool:
        """Whether the listener must take what is queued without lingering (lock held)."""
        return self._closed or self._urgent or len(self._records) >= self._handoff_at

    def _wait_for_records(self) -> bool:
        """Wait (holding the lock) until a record is queued; False if closed and empty."""
        while not self._records:
            if self._closed:
                return False
            self._idle = True
            self._arrived.wait()
        return True

    def task_done(self, count: int = 1) -> None:
        """Record that ``count`` records taken from the queue have been handled.

        :param count: how many: 1 after :meth:`get`, the batch's length after :meth:`get_batch`.
        """
        with self._lock:
            self._handled += count
            self._progressed.notify_all()

    def close(self) -> None:
        """Accept no more records; :meth:`get` returns ``None`` once the rest are taken."""
        with self._lock:
            self._closed = True
            self._arrived.notify_all()

    def reset_after_fork(self) -> None:
        """Start afresh in a child process: new locks (another thread may have held the old
        ones at the fork), and none of the parent's queued records, which the parent's own
        listener handles. Drop counts are kept."""
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._progressed = threading.Condition(self._lock)
        self._taken = threading.Condition(self._lock)
        self._records.clear()
        self._handled = self._accepted
        self._idle = False
        self._urgent = False
        self._waiting = 0
        self._taking = False
        self._busy = False
        self._listening = False

    def set_listening(self, listening: bool) -> None:
        """Tell the queue whether a listener is taking records, so waits do not outlive it.

        :param listening: ``True`` when a listener starts, ``False`` when it ends.
        """
        with self._lock:
            self._listening = listening
            self._progressed.notify_all()

    def mark(self) -> int:
        """Return the sequence number of the last record queued so far."""
        with self._lock:
            return self._accepted

    def wait_for(self, mark: int, timeout: float | None = None) -> bool:
        """Wait until every record up to ``mark`` has been handled.

        Returns at once when no listener is running, since nothing would handle them.

        :param mark: a value returned by :meth:`mark`.
        :param timeout: the most seconds to wait; ``None`` waits as long as it takes.
        :return: whether those records have all been handled.
        """
        with self._lock:
            if self._handled >= mark:
                return True
            self._urgent = True  # a lingering listener takes its batch now
            self._arrived.notify()
            self._waiting += 1  # and hands it on without pausing (see `pressed`)
            try:
                self._progressed.wait_for(
                    lambda: self._handled >= mark or not self._listening, timeout
                )
            finally:
                self._waiting -= 1
            return self._handled >= mark


class QueueingHandler(QueueHandler):
    """Prepares each record in the logging thread and puts it on a :class:`RecordQueue`.

    It has no lock of its own (the queue has one), so a slow ``__str__`` among one thread's
    arguments does not hold up logging in other threads.

    :param queue: the queue the listener reads.
    :param target: the handler the listener feeds; its formatter renders tracebacks.
    """

    queue: RecordQueue

    def __init__(self, queue: RecordQueue, target: logging.Handler) -> None:
        super().__init__(queue)
        self._target = target

    def createLock(self) -> None:
        """Use no handler lock: preparing a record touches nothing shared."""
        self.lock = None

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """Return the queued copy of ``record``, made in the logging thread.

        :param record: the record as the logger made it.
        """
        return prepare_record(record, self._target.formatter)
