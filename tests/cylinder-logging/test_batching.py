from __future__ import annotations

import io
import logging
import sys
from collections.abc import Callable

import pytest

from cylinder_logging import LogService
from cylinder_logging.batching import CHUNK, BatchStreamHandler

TIMEOUT = 10.0

ServiceFactory = Callable[..., LogService]


class CountingStream(io.StringIO):
    """A text stream that keeps each ``write`` apart, to count the system calls a file would get."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


class ReportingHandler(BatchStreamHandler):
    """Keeps the records :meth:`handleError` was called for, instead of printing them."""

    def __init__(self, stream: CountingStream) -> None:
        super().__init__(stream)
        self.failed: list[logging.LogRecord] = []

    def handleError(self, record: logging.LogRecord) -> None:
        self.failed.append(record)


def lines(stream: CountingStream) -> list[str]:
    return stream.getvalue().splitlines()


def test_default_handler_writes_a_batch_with_one_write_per_chunk(
    make_service: ServiceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = CountingStream()
    monkeypatch.setattr(sys, "stderr", stream)
    service = make_service(start=False, formatter=logging.Formatter("%(message)s"))
    count = 3 * CHUNK + 5
    for n in range(count):  # queued before the listener starts: one batch
        service.logger.info("record %d", n)
    service.start()
    assert service.drain(TIMEOUT)

    assert lines(stream) == [f"record {n}" for n in range(count)]
    assert len(stream.writes) == 4  # not one per record
    assert all(text.count("\n") <= CHUNK for text in stream.writes)


def test_each_record_still_passes_the_handlers_filters_and_formatter(
    make_service: ServiceFactory,
) -> None:
    stream = CountingStream()
    handler = BatchStreamHandler(stream)
    handler.addFilter(lambda record: "secret" not in record.getMessage())

    def shout(record: logging.LogRecord) -> bool:
        record.shouted = record.getMessage().upper()
        return True

    handler.addFilter(shout)
    handler.setLevel(logging.INFO)
    service = make_service(
        start=False, handler=handler, formatter=logging.Formatter("%(levelname)s %(shouted)s")
    )
    service.logger.info("one")
    service.logger.info("a secret")
    service.logger.debug("too low")
    service.logger.warning("two")
    service.start()
    assert service.drain(TIMEOUT)

    assert lines(stream) == ["INFO ONE", "WARNING TWO"]
    assert len(stream.writes) == 1


def test_a_record_that_fails_to_format_is_reported_and_the_others_written() -> None:
    stream = CountingStream()
    handler = ReportingHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s %(missing)s"))
    good = logging.LogRecord("t", logging.INFO, __file__, 1, "good", None, None)
    good.missing = "here"
    bad = logging.LogRecord("t", logging.INFO, __file__, 2, "bad", None, None)

    handler.handle_batch([good, bad, good])

    assert lines(stream) == ["good here", "good here"]
    assert handler.failed == [bad]


def test_a_failing_write_is_reported() -> None:
    stream = CountingStream()
    stream.close()  # writing to it raises ValueError
    handler = ReportingHandler(stream)
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "lost", None, None)

    handler.handle_batch([record])

    assert handler.failed == [record]


def test_one_record_at_a_time_works_as_a_stream_handler() -> None:
    stream = CountingStream()
    handler = BatchStreamHandler(stream)
    handler.handle(logging.LogRecord("t", logging.INFO, __file__, 1, "alone", None, None))

    assert stream.writes == ["alone\n"]
