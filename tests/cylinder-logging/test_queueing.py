from __future__ import annotations

import logging

import pytest

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


def test_get_batch_takes_a_whole_burst_at_once() -> None:
    queue = RecordQueue("test", 0)
    for n in range(50):
        queue.put_nowait(record(f"r{n}"))
    batch = queue.get_batch(linger=0)
    assert batch is not None
    assert [item.getMessage() for item in batch] == [f"r{n}" for n in range(50)]
    queue.close()
    assert queue.get_batch(linger=0) is None


def test_a_burst_wakes_the_listener_a_few_times_not_once_per_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cylinder_logging import LogService

    batches: list[int] = []
    original = RecordQueue.get_batch

    def counting(self: RecordQueue, linger: float) -> list[logging.LogRecord] | None:
        batch = original(self, linger)
        if batch is not None:
            batches.append(len(batch))
        return batch

    monkeypatch.setattr(RecordQueue, "get_batch", counting)
    handled: list[str] = []

    class Keep(logging.Handler):
        def emit(self, item: logging.LogRecord) -> None:
            handled.append(item.getMessage())

    with LogService("burst", handler=Keep(), queue_length=0) as service:
        for n in range(500):
            service.logger.info("m%d", n)
        assert service.drain(10)
    assert handled == [f"m{n}" for n in range(500)]
    assert sum(batches) == 500
    assert len(batches) < 50  # one wake-up per record would be 500


def test_wait_for_cuts_the_linger_short() -> None:
    import threading
    import time

    queue = RecordQueue("test", 0)
    queue.set_listening(True)
    taken: list[float] = []

    def listen() -> None:
        batch = queue.get_batch(linger=30.0)
        taken.append(time.monotonic())
        queue.task_done(len(batch or []))

    thread = threading.Thread(target=listen)
    thread.start()
    queue.put_nowait(record("one"))
    started = time.monotonic()
    assert queue.wait_for(queue.mark(), timeout=10)
    thread.join(10)
    assert taken
    assert taken[0] - started < 10  # not the 30 s linger


def test_a_waiting_listener_is_handed_a_full_batch_at_once() -> None:
    """A listener lingering in ``get_batch`` (or starved of the GIL there) gets the records as
    soon as ``HANDOFF_AT`` are queued, and the thread that queued the last one waits for that."""
    import threading
    import time

    from cylinder_logging.queueing import HANDOFF_AT

    queue = RecordQueue("test", 0)
    taken: list[tuple[float, int]] = []

    def listen() -> None:
        batch = queue.get_batch(linger=30.0) or []
        taken.append((time.monotonic(), len(batch)))

    thread = threading.Thread(target=listen)
    thread.start()
    for n in range(HANDOFF_AT):
        queue.put_nowait(record(f"r{n}"))
    returned = time.monotonic()
    thread.join(10)
    assert taken, "the listener lingered on"
    assert taken[0][1] == HANDOFF_AT
    assert taken[0][0] <= returned  # the last put returned once the batch was taken


def test_a_queue_at_the_handoff_size_is_taken_without_lingering() -> None:
    import time

    from cylinder_logging.queueing import HANDOFF_AT

    queue = RecordQueue("test", 0)
    for n in range(HANDOFF_AT):
        queue.put_nowait(record(f"r{n}"))
    started = time.monotonic()
    batch = queue.get_batch(linger=30.0)
    assert batch is not None
    assert len(batch) == HANDOFF_AT
    assert time.monotonic() - started < 10


def test_small_queues_hand_off_at_half_their_bound() -> None:
    import threading

    queue = RecordQueue("test", 4)
    taken: list[int] = []

    def listen() -> None:
        taken.append(len(queue.get_batch(linger=30.0) or []))

    thread = threading.Thread(target=listen)
    thread.start()
    queue.put_nowait(record("r0"))
    queue.put_nowait(record("r1"))
    thread.join(10)
    assert taken in ([1], [2])  # the first record may wake it from idle alone, never a linger
    assert queue.dropped == 0


def test_the_listener_is_pressed_when_records_pile_up_or_someone_waits() -> None:
    """``pressed`` tells the listener when pausing between slices could cost: records piling up
    (half the handoff size, with those it holds), a thread waiting for them, a closed queue."""
    import threading

    from cylinder_logging.queueing import HANDOFF_AT

    queue = RecordQueue("test", 0)
    queue.set_listening(True)
    assert not queue.pressed(0)
    assert not queue.pressed(HANDOFF_AT // 2 - 1)
    assert queue.pressed(HANDOFF_AT // 2)
    for n in range(10):
        queue.put_nowait(record(f"r{n}"))
    assert not queue.pressed(HANDOFF_AT // 2 - 11)
    assert queue.pressed(HANDOFF_AT // 2 - 10)

    batch = queue.get_batch(linger=0) or []
    waiting = threading.Event()
    outcome: list[bool] = []

    def drain() -> None:
        waiting.set()
        outcome.append(queue.wait_for(queue.mark(), timeout=10))

    thread = threading.Thread(target=drain)
    thread.start()
    assert waiting.wait(10)
    for _ in range(1000):  # until the drain waits, bounded
        if queue.pressed(0):
            break
        threading.Event().wait(0.001)
    assert queue.pressed(0), "a waiting drain does not press the listener"
    queue.task_done(len(batch))
    thread.join(10)
    assert outcome == [True]
    assert not queue.pressed(0)  # nobody waits any more
    queue.close()
    assert queue.pressed(0)


def test_small_queues_press_at_a_quarter_of_their_bound() -> None:
    queue = RecordQueue("test", 8)  # handoff at 4, pressed at 2
    assert not queue.pressed(1)
    assert queue.pressed(2)
