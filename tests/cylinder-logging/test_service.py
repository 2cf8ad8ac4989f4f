from __future__ import annotations

import io
import logging
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cylinder_logging import LogService, default_formatter, request_scope

TIMEOUT = 10.0

ServiceFactory = Callable[..., LogService]
RecorderFactory = Callable[..., Any]


def block_listener(service: LogService, recorder: Any) -> None:
    """Log "r0" and wait until the listener is stuck handling it: the queue is then empty."""
    service.logger.info("r0")
    assert recorder.entered.wait(TIMEOUT)


def test_blocked_handler_does_not_block_logging(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder(blocking=True)
    service = make_service(handler=recorder)
    block_listener(service, recorder)
    done = threading.Event()

    def log_a_lot() -> None:
        for n in range(3000):
            service.logger.info("record %d", n)
        done.set()

    threading.Thread(target=log_a_lot, daemon=True).start()
    assert done.wait(TIMEOUT), "logging calls waited for the blocked handler"
    assert not recorder.gate.is_set()
    assert recorder.records == []  # the handler is still stuck on r0
    assert service.dropped == 2000  # 1000 queued, the rest dropped


def test_full_queue_drops_new_records_with_an_exact_count(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder(blocking=True)
    service = make_service(handler=recorder, queue_length=5)
    block_listener(service, recorder)
    for n in range(1, 13):
        service.logger.info("r%d", n)
    assert service.dropped == 7
    recorder.release()
    assert service.drain(TIMEOUT)
    assert recorder.messages() == ["r0", "r1", "r2", "r3", "r4", "r5"]


def test_dropped_count_is_reported_once_there_is_room(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder(blocking=True)
    service = make_service(handler=recorder, queue_length=5)
    block_listener(service, recorder)
    for n in range(1, 13):
        service.logger.info("r%d", n)
    recorder.release()
    assert service.drain(TIMEOUT)
    with request_scope("req-1"):
        service.logger.info("next")
        service.logger.info("again")
    assert service.drain(TIMEOUT)
    assert recorder.messages()[6:] == [
        "7 log records dropped: queue full (log_queue_length=5)",
        "next",
        "again",
    ]
    report = recorder.records[6]
    assert report.levelno == logging.WARNING
    assert report.dropped_records == 7
    assert report.request_id == "-"
    assert "7 log records dropped" in recorder.lines[6]
    assert service.dropped == 7


def test_zero_queue_length_is_unbounded(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder(blocking=True)
    service = make_service(handler=recorder, queue_length=0)
    block_listener(service, recorder)
    for n in range(1, 5001):
        service.logger.info("r%d", n)
    assert service.dropped == 0
    recorder.release()
    assert service.drain(TIMEOUT)
    assert recorder.messages() == [f"r{n}" for n in range(5001)]


def test_two_services_never_see_each_others_records(
    make_service: ServiceFactory, make_recorder: RecorderFactory, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = make_recorder(), make_recorder(blocking=True)
    one = make_service(name="app", handler=first)
    two = make_service(name="app", handler=second)
    assert one.logger is not two.logger
    assert "app" not in logging.root.manager.loggerDict
    block_listener(two, second)  # a stuck service does not hold up the other one
    one.logger.info("for one")
    two.logger.info("for two")
    assert one.drain(TIMEOUT)
    second.release()
    assert two.drain(TIMEOUT)
    assert first.messages() == ["for one"]
    assert second.messages() == ["r0", "for two"]
    assert caplog.records == []  # nothing reached the root logger


def test_drain_waits_until_queued_records_are_handled(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder(blocking=True)
    service = make_service(handler=recorder)
    block_listener(service, recorder)
    service.logger.info("r1")
    service.logger.info("r2")
    assert not service.drain(timeout=0.05)  # the handler is blocked: times out
    outcome: list[tuple[bool, list[str]]] = []

    def drain() -> None:
        drained = service.drain(TIMEOUT)
        outcome.append((drained, recorder.messages()))

    drainer = threading.Thread(target=drain)
    drainer.start()
    recorder.release()
    drainer.join(TIMEOUT)
    assert outcome == [(True, ["r0", "r1", "r2"])]


def test_stop_flushes_every_queued_record(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder(blocking=True)
    service = make_service(handler=recorder)
    block_listener(service, recorder)
    for n in range(1, 51):
        service.logger.info("r%d", n)
    assert not service.stop(timeout=0.05)  # the handler is blocked: times out
    assert not service.running
    recorder.release()
    assert service.stop(TIMEOUT)
    assert recorder.messages() == [f"r{n}" for n in range(51)]
    assert service.dropped == 0


def test_logging_after_stop_drops_and_counts(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder()
    service = make_service(handler=recorder)
    service.logger.info("before")
    assert service.stop(TIMEOUT)
    service.logger.info("after")
    assert service.dropped == 1
    assert service.drain(TIMEOUT)  # a dropped record is not waited for
    assert recorder.messages() == ["before"]


def test_logging_before_start_waits_for_the_listener(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder()
    service = make_service(handler=recorder, start=False)
    assert service.drain()  # nothing queued
    service.logger.info("early")
    assert not service.running
    assert not service.drain()  # returns at once: no listener yet
    service.start()
    assert service.drain(TIMEOUT)
    assert recorder.messages() == ["early"]


def test_stop_without_start_flushes(make_recorder: RecorderFactory) -> None:
    recorder = make_recorder()
    service = LogService("app", handler=recorder)
    service.logger.info("early")
    assert service.stop(TIMEOUT)
    assert recorder.messages() == ["early"]


def test_start_and_stop_are_idempotent(make_recorder: RecorderFactory) -> None:
    service = LogService("app", handler=make_recorder())
    service.start()
    service.start()
    assert service.running
    assert service.stop(TIMEOUT)
    assert service.stop(TIMEOUT)
    assert not service.running


def test_a_stopped_service_cannot_start_again(make_recorder: RecorderFactory) -> None:
    service = LogService("app", handler=make_recorder())
    service.start()
    assert service.stop(TIMEOUT)
    with pytest.raises(RuntimeError, match=r"log service `app` was stopped"):
        service.start()


def test_service_is_a_context_manager(make_recorder: RecorderFactory) -> None:
    recorder = make_recorder()
    with LogService("app", handler=recorder) as service:
        assert service.running
        service.logger.info("inside")
    assert not service.running
    assert recorder.messages() == ["inside"]


def test_a_raising_handler_does_not_stop_later_records(make_service: ServiceFactory) -> None:
    class Raising(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.handled: list[str] = []
            self.errors: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage() == "boom":
                raise OSError("disk full")
            self.handled.append(record.getMessage())

        def handleError(self, record: logging.LogRecord) -> None:
            self.errors.append(record.getMessage())
            if record.getMessage() == "boom":
                raise RuntimeError("handleError can fail too")

    handler = Raising()
    service = make_service(handler=handler)
    for message in ("a", "boom", "b", "boom", "c"):
        service.logger.info(message)
    assert service.drain(TIMEOUT)
    assert service.running
    assert handler.handled == ["a", "b", "c"]
    assert handler.errors == ["boom", "boom"]


def test_handler_level_is_respected(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder(level=logging.WARNING)
    service = make_service(handler=recorder)
    service.logger.info("quiet")
    service.logger.warning("loud")
    assert service.drain(TIMEOUT)
    assert recorder.messages() == ["loud"]


def test_logger_level_changes_take_effect(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder()
    service = make_service(handler=recorder, level=logging.INFO)
    service.logger.debug("hidden")
    service.logger.info("shown")
    service.logger.setLevel(logging.DEBUG)
    service.logger.debug("now shown")
    service.logger.setLevel(logging.ERROR)
    service.logger.info("hidden again")
    try:
        logging.disable(logging.CRITICAL)
        service.logger.critical("disabled")
    finally:
        logging.disable(logging.NOTSET)
    assert service.drain(TIMEOUT)
    assert recorder.messages() == ["shown", "now shown"]


def test_child_loggers_go_through_the_service(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder()
    service = make_service(name="shop", handler=recorder)
    child = service.logger.getChild("db")
    with request_scope("req-9"):
        child.info("query")
    assert service.drain(TIMEOUT)
    assert [(r.name, r.request_id) for r in recorder.records] == [("shop.db", "req-9")]
    assert "shop.db" not in logging.root.manager.loggerDict


def test_tracebacks_survive_the_queue(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder()
    service = make_service(handler=recorder)
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        service.logger.exception("failed")
    assert service.drain(TIMEOUT)
    line = recorder.lines[0]
    assert "\n failed\n" in line
    assert "Traceback (most recent call last):" in line
    assert line.endswith("ZeroDivisionError: division by zero")


def test_default_formatter_and_handler(capsys: pytest.CaptureFixture[str]) -> None:
    with LogService("app") as service, request_scope("req-5"):
        service.logger.warning("to stderr")
    err = capsys.readouterr().err
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?[+-]\d\d:\d\d"
    assert re.fullmatch(rf"WARNING {stamp} test_service\.py:\d+ req-5\n to stderr\n\n", err)


def test_given_formatter_is_set_on_the_handler(make_service: ServiceFactory) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    formatter = logging.Formatter("%(request_id)s|%(message)s")
    service = make_service(handler=handler, formatter=formatter)
    with request_scope("req-2"):
        service.logger.info("hello")
    assert service.drain(TIMEOUT)
    assert handler.formatter is formatter
    assert stream.getvalue() == "req-2|hello\n"


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"queue_length": -1}, ValueError, r"`log_queue_length` must be 0 \(no bound\) or a pos"),
        ({"queue_length": "10"}, TypeError, r"`log_queue_length` must be an int, got '10' \(str\)"),
        ({"queue_length": True}, TypeError, r"`log_queue_length` must be an int"),
        ({"handler": "stderr"}, TypeError, r"`log_handler` must be a logging.Handler"),
        ({"formatter": "%(message)s"}, TypeError, r"`log_formatter` must be a logging.Formatter"),
        ({"level": "LOUD"}, ValueError, r"`log_level` must be a logging level.*'LOUD'"),
    ],
)
def test_bad_options_are_explained(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        LogService("app", **options)


def test_running_service_is_flushed_at_exit() -> None:
    script = textwrap.dedent(
        """
        import logging, sys
        from cylinder_logging import LogService
        service = LogService("app", handler=logging.StreamHandler(sys.stdout))
        service.start()
        for n in range(100):
            service.logger.info("record %d", n)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=TIMEOUT, check=True
    )
    assert done.stdout.count(" record ") == 100
    assert " record 99\n" in done.stdout


def test_default_formatter_is_used_when_none_is_given(make_recorder: RecorderFactory) -> None:
    recorder = make_recorder()
    LogService("app", handler=recorder)
    assert recorder.formatter is not None
    assert recorder.formatter._fmt == default_formatter()._fmt


def test_a_forked_child_gets_a_listener_of_its_own(tmp_path: Path) -> None:
    """A service started before a fork (a gunicorn worker of a preloaded app) still writes
    the child's records, and not the parent's queued ones a second time."""
    import os
    import time

    out = tmp_path / "child.log"
    handler = logging.FileHandler(out, delay=True)
    with LogService("forked", handler=handler) as service:
        service.logger.info("from the parent")
        assert service.drain(10)
        pid = os.fork()
        if pid == 0:  # the child: log, drain, report through the exit status
            ok = False
            try:
                service.logger.info("from the child")
                ok = service.drain(10) and service.stop(10)
            finally:
                os._exit(0 if ok else 1)
        deadline = time.monotonic() + 20
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                raise AssertionError("the child's log service never drained")
            time.sleep(0.01)
        assert os.waitstatus_to_exitcode(status) == 0
    handler.close()
    lines = out.read_text().splitlines()
    assert sum("from the child" in line for line in lines) == 1
    assert sum("from the parent" in line for line in lines) == 1


def test_a_listener_busy_in_the_handler_is_never_handed_records(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    """The handoff waits only for a listener that waits to take records: with the handler
    stuck, logging many records costs no handoff timeouts."""
    import time

    from cylinder_logging.queueing import HANDOFF_AT, HANDOFF_TIMEOUT

    recorder = make_recorder(blocking=True)
    service = make_service(handler=recorder, queue_length=0)
    block_listener(service, recorder)
    started = time.monotonic()
    for n in range(4 * HANDOFF_AT):
        service.logger.info("r%d", n)
    assert time.monotonic() - started < HANDOFF_AT * HANDOFF_TIMEOUT  # one wait per record: 4x
    recorder.release()
    assert service.drain(TIMEOUT)
    assert len(recorder.records) == 4 * HANDOFF_AT + 1


def test_records_after_a_busy_batch_are_handled_without_a_drain(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder()
    service = make_service(handler=recorder)
    for n in range(10):
        service.logger.info("r%d", n)
    assert service.drain(TIMEOUT)
    service.logger.info("after the burst")  # the listener lingers without being woken
    assert recorder.wait_for(11)
    assert recorder.messages()[-1] == "after the burst"


def test_a_thread_waiting_for_the_gil_runs_between_two_slices_of_a_batch(
    make_service: ServiceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listener hands a batch on a slice at a time and lets go of the GIL between slices:
    a thread that wants it while the batch is handled (a request thread) gets it before the
    batch ends, not only after. Without the pauses, the listener would keep the GIL through
    the whole batch, well under CPython's 5 ms switch interval."""
    from cylinder_logging import listening
    from cylinder_logging.listening import SLICE

    # Every pause is kept, even one that a loaded machine stretches past BUSY_PAUSE.
    monkeypatch.setattr(listening, "BUSY_PAUSE", float("inf"))

    order: list[str] = []
    handling = threading.Event()
    handled = threading.Event()
    count = 15 * SLICE  # one batch, small enough not to press the listener

    class Noting(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            handling.set()
            order.append(record.getMessage())
            if record.getMessage() == f"r{count - 1}":
                handled.set()

    service = make_service(start=False, handler=Noting(), queue_length=0)
    for n in range(count):
        service.logger.info("r%d", n)

    def request() -> None:
        if handling.wait(TIMEOUT):
            order.append("request")

    thread = threading.Thread(target=request)
    thread.start()
    service.start()
    assert handled.wait(TIMEOUT)  # not drain(): the listener does not pause while one waits
    thread.join(TIMEOUT)

    assert [item for item in order if item != "request"] == [f"r{n}" for n in range(count)]
    assert "request" in order
    assert order.index("request") < count, "the request thread waited for the whole batch"


def test_a_batch_of_many_slices_is_written_in_order_and_whole_on_stop(
    make_service: ServiceFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """Records of one request, spread over many slices and chunks of the default handler, are
    all written, in the order logged, by the time ``stop`` returns."""
    from cylinder_logging.batching import CHUNK
    from cylinder_logging.listening import SLICE

    service = make_service(formatter=logging.Formatter("%(request_id)s %(message)s"))
    count = 3 * CHUNK + SLICE + 3
    with request_scope("req-7"):
        for n in range(count):
            service.logger.info("r%d", n)
    assert service.stop(TIMEOUT)
    assert capsys.readouterr().err.splitlines() == [f"req-7 r{n}" for n in range(count)]


def test_after_a_long_pause_the_rest_of_the_batch_is_handed_on_at_once(
    make_service: ServiceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pause that lasted BUSY_PAUSE or more (the listener waited that long to get the GIL
    back: the request threads are busy) ends the pausing: the rest of the batch is handed on
    at once, since more pauses would only cost thread switches. Here the first pause is made to
    last twice BUSY_PAUSE, as a busy server would make it."""
    import time

    from cylinder_logging import listening

    pauses: list[float] = []

    class Busy:
        """The ``time`` module as the listener sees it, on a server whose request threads keep
        the GIL: each pause lasts twice BUSY_PAUSE."""

        perf_counter = staticmethod(time.perf_counter)

        @staticmethod
        def sleep(seconds: float) -> None:
            pauses.append(seconds)
            time.sleep(2 * listening.BUSY_PAUSE)

    monkeypatch.setattr(listening, "time", Busy)
    handled = threading.Event()
    count = 15 * listening.SLICE  # one batch, small enough not to press the listener

    class Noting(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage() == f"r{count - 1}":
                handled.set()

    service = make_service(start=False, handler=Noting(), queue_length=0)
    for n in range(count):
        service.logger.info("r%d", n)
    service.start()
    assert handled.wait(TIMEOUT)  # not drain(): the listener does not pause while one waits
    assert pauses == [listening.PAUSE]  # one pause, then none: 14 without the rule
