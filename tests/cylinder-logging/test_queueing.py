from __future__ import annotations

import logging

from cylinder_logging.queueing import RecordQueue


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("app", logging.INFO, __file__, 1, message, None, None)


def take_all(queue: RecordQueue) -> list[str]:
    """Take (and mark handled) everything queued, as a listener would after close()."""
    queue.close()
    messages = []
    while (item := queue.get()) is not None:
        messages.append(item.getMessage())
        queue.task_done()
    return messages


def test_full_queue_drops_new_records_and_counts_them() -> None:
    queue = RecordQueue("app", 3)
    for n in range(10):
        queue.put_nowait(record(f"r{n}"))
    assert queue.dropped == 7
    assert take_all(queue) == ["r0", "r1", "r2"]


def test_drop_report_precedes_the_next_record_that_fits() -> None:
    queue = RecordQueue("app", 2)
    for n in range(5):
        queue.put_nowait(record(f"r{n}"))
    first = queue.get()
    assert first is not None
    assert first.getMessage() == "r0"
    queue.task_done()
    queue.put_nowait(record("r5"))  # one slot free: the report rides along, r5 is kept
    queue.put_nowait(record("r6"))  # full again
    report_and_rest = take_all(queue)
    assert report_and_rest == [
        "r1",
        "3 log records dropped: queue full (log_queue_length=2)",
        "r5",
    ]
    assert queue.dropped == 4


def test_drop_report_names_a_single_record() -> None:
    queue = RecordQueue("app", 1)
    queue.put_nowait(record("r0"))
    queue.put_nowait(record("r1"))
    assert queue.get() is not None
    queue.task_done()
    queue.put_nowait(record("r2"))
    assert take_all(queue) == ["1 log record dropped: queue full (log_queue_length=1)", "r2"]


def test_zero_means_no_bound() -> None:
    queue = RecordQueue("app", 0)
    for n in range(10_000):
        queue.put_nowait(record(f"r{n}"))
    assert queue.dropped == 0
    assert len(take_all(queue)) == 10_000


def test_closed_queue_drops_and_counts() -> None:
    queue = RecordQueue("app", 5)
    queue.put_nowait(record("kept"))
    queue.close()
    queue.put_nowait(record("late"))
    assert queue.dropped == 1
    assert take_all(queue) == ["kept"]


def test_wait_for_covers_exactly_the_records_marked() -> None:
    queue = RecordQueue("app", 0)
    queue.set_listening(True)
    queue.put_nowait(record("r0"))
    queue.put_nowait(record("r1"))
    mark = queue.mark()
    queue.put_nowait(record("later"))
    assert not queue.wait_for(mark, timeout=0)
    for _ in range(2):
        assert queue.get() is not None
        queue.task_done()
    assert queue.wait_for(mark, timeout=0)  # "later" is still queued, and not waited for
    assert not queue.wait_for(queue.mark(), timeout=0)


def test_wait_for_returns_when_no_listener_runs() -> None:
    queue = RecordQueue("app", 0)
    assert queue.wait_for(queue.mark())
    queue.put_nowait(record("r0"))
    assert not queue.wait_for(queue.mark())  # would otherwise wait forever
