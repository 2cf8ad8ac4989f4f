"""Deferred records (``LogService.log_deferred``): built by the listener, equal to normal ones."""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from cylinder_logging import CallSite, LogService, default_formatter, request_scope
from cylinder_logging.deferred import DEFERRABLE, RecordBuilder, capture
from cylinder_logging.formatting import timestamp_of

TIMEOUT = 10.0

ServiceFactory = Callable[..., LogService]
RecorderFactory = Callable[..., Any]

#: A call site in this file; the line is made up, as the runtime's access line names its own.
SITE = CallSite(logging.INFO, __file__, 4242, "access")
#: The instants of the frozen clock, in nanoseconds: an ordinary one, one whose float seconds
#: give a wrong millisecond by subtraction (gh-102402), and one a nanosecond before a second,
#: whose float seconds round up to the next one (gh-120683).
INSTANTS = [1_700_000_000_123_456_789, 1_677_793_338_100_000_000, 1_718_710_000_000_000_000 - 1]


def freeze_clock(monkeypatch: pytest.MonkeyPatch, ns: int) -> None:
    """Make ``time.time_ns()`` return ``ns`` and ``time.time()`` its float seconds, as both
    ``LogRecord`` and :func:`capture` read them."""
    monkeypatch.setattr(time, "time_ns", lambda: ns)
    monkeypatch.setattr(time, "time", lambda: ns / 1e9)


def log_both(
    service: LogService, site: CallSite, msg: str, args: tuple[object, ...], thread_name: str
) -> None:
    """Log once through ``log_deferred`` and once the normal way, from a thread called
    ``thread_name`` inside a request ``req-42``."""

    def log() -> None:
        with request_scope("req-42"):
            service.log_deferred(site, msg, args)
            logger = service.logger
            logger.handle(
                logger.makeRecord(
                    logger.name, site.level, site.pathname, site.lineno, msg, args, None, site.func
                )
            )

    thread = threading.Thread(target=log, name=thread_name)
    thread.start()
    thread.join(TIMEOUT)


@pytest.fixture
def made_records(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the records made by ``Logger.makeRecord`` (the normal path), by logger name."""
    made: list[str] = []
    make_record = logging.Logger.makeRecord

    def counting(self: logging.Logger, *args: Any, **kwargs: Any) -> logging.LogRecord:
        made.append(self.name)
        return make_record(self, *args, **kwargs)

    monkeypatch.setattr(logging.Logger, "makeRecord", counting)
    return made


def test_this_python_defers_records() -> None:
    assert DEFERRABLE, "LogRecord has attributes cylinder_logging.deferred does not know"


@pytest.mark.parametrize("ns", INSTANTS)
def test_deferred_record_equals_the_normal_one(
    make_service: ServiceFactory,
    make_recorder: RecorderFactory,
    monkeypatch: pytest.MonkeyPatch,
    ns: int,
) -> None:
    recorder = make_recorder()
    service = make_service(name="shop", handler=recorder)
    freeze_clock(monkeypatch, ns)
    log_both(service, SITE, "%s %s %s %.2fms", ("GET", "/", 200, 1.2345), "worker-7")
    assert service.drain(TIMEOUT)
    deferred, normal = recorder.records
    assert type(deferred) is logging.LogRecord
    assert list(vars(deferred)) == list(vars(normal))  # the same attributes in the same order
    assert vars(deferred) == vars(normal)
    assert deferred.timestamp.tzinfo == normal.timestamp.tzinfo
    assert deferred.threadName == "worker-7"
    assert deferred.thread != threading.get_ident()
    assert deferred.request_id == "req-42"
    assert deferred.process == os.getpid()
    assert (deferred.msg, deferred.args, deferred.message) == (
        "GET / 200 1.23ms",
        None,
        deferred.msg,
    )
    assert (deferred.filename, deferred.module, deferred.lineno) == (
        "test_deferred.py",
        "test_deferred",
        4242,
    )
    assert recorder.lines[0] == recorder.lines[1]


def test_deferred_record_is_built_by_the_listener(
    make_service: ServiceFactory, make_recorder: RecorderFactory, made_records: list[str]
) -> None:
    recorder = make_recorder()
    service = make_service(name="shop", handler=recorder)
    before = time.time()
    service.log_deferred(SITE, "plain", ())
    assert service.drain(TIMEOUT)
    assert made_records == []
    record = recorder.records[0]
    assert before <= record.created <= time.time()
    assert record.timestamp == timestamp_of(record.created)
    assert record.getMessage() == "plain"
    assert record.request_id == "-"  # logged outside a request
    assert record.threadName == threading.current_thread().name


def test_access_line_with_the_default_formatter(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder()
    service = make_service(handler=recorder)
    with request_scope("abc-123"):
        service.log_deferred(SITE, "%s %s %s %.2fms", ("GET", "/", 200, 1.234))
    assert service.drain(TIMEOUT)
    record = recorder.records[0]
    assert recorder.lines == [
        f"INFO {record.timestamp} test_deferred.py:4242 abc-123\n GET / 200 1.23ms\n"
    ]
    assert default_formatter().format(record) == recorder.lines[0]


def test_deferred_and_normal_records_keep_their_order(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder()
    service = make_service(handler=recorder)
    for n in range(3):
        service.logger.info("normal %d", n)
        service.log_deferred(SITE, "deferred %d", (n,))
    assert service.drain(TIMEOUT)
    assert recorder.messages() == [
        "normal 0",
        "deferred 0",
        "normal 1",
        "deferred 1",
        "normal 2",
        "deferred 2",
    ]


def test_full_queue_drops_deferred_records_with_an_exact_count(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder(blocking=True)
    service = make_service(handler=recorder, queue_length=5)
    service.log_deferred(SITE, "r0", ())
    assert recorder.entered.wait(TIMEOUT)  # the listener is stuck on r0: the queue is empty
    for n in range(1, 13):
        service.log_deferred(SITE, "r%d", (n,))
    assert service.dropped == 7
    recorder.release()
    assert service.drain(TIMEOUT)
    service.log_deferred(SITE, "next", ())
    assert service.drain(TIMEOUT)
    assert recorder.messages() == [
        *(f"r{n}" for n in range(6)),
        "7 log records dropped: queue full (log_queue_length=5)",
        "next",
    ]


def test_deferred_records_after_stop_are_dropped_and_counted(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder()
    service = make_service(handler=recorder)
    service.log_deferred(SITE, "before", ())
    assert service.stop(TIMEOUT)
    service.log_deferred(SITE, "after", ())
    assert service.dropped == 1
    assert recorder.messages() == ["before"]


def test_drain_waits_for_deferred_records(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder(blocking=True)
    service = make_service(handler=recorder)
    service.log_deferred(SITE, "r0", ())
    assert recorder.entered.wait(TIMEOUT)
    service.log_deferred(SITE, "r1", ())
    assert not service.drain(timeout=0.05)  # the handler is blocked
    recorder.release()
    assert service.drain(TIMEOUT)
    assert recorder.messages() == ["r0", "r1"]


def test_deferred_records_wait_for_start(make_recorder: RecorderFactory) -> None:
    recorder = make_recorder()
    service = LogService("app", handler=recorder)
    service.log_deferred(SITE, "early", ())
    service.start()
    assert service.stop(TIMEOUT)
    assert recorder.messages() == ["early"]


def test_logger_filters_see_the_record_in_the_calling_thread(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder()
    service = make_service(handler=recorder)
    seen: list[tuple[str, str]] = []

    def only_kept(record: logging.LogRecord) -> bool:
        seen.append((record.getMessage(), threading.current_thread().name))
        return "kept" in record.getMessage()

    service.logger.addFilter(only_kept)
    log_both(service, SITE, "kept %d", (1,), "filtered")
    service.log_deferred(SITE, "dropped by the filter", ())
    assert service.drain(TIMEOUT)
    assert seen == [
        ("kept 1", "filtered"),
        ("kept 1", "filtered"),
        ("dropped by the filter", threading.current_thread().name),
    ]
    deferred, normal = recorder.records
    times = ("created", "msecs", "relativeCreated", "timestamp")
    assert list(vars(deferred)) == list(vars(normal))
    for name in vars(normal):
        if name not in times:
            assert getattr(deferred, name) == getattr(normal, name), name
    assert service.dropped == 0


def test_another_handler_on_the_logger_gets_the_record_too(
    make_service: ServiceFactory, make_recorder: RecorderFactory, made_records: list[str]
) -> None:
    recorder, other = make_recorder(), make_recorder()
    service = make_service(name="shop", handler=recorder)
    service.logger.addHandler(other)
    with request_scope("req-3"):
        service.log_deferred(SITE, "to both", ())
    assert service.drain(TIMEOUT)
    assert made_records == ["shop"]  # the normal path, in this thread
    assert other.messages() == recorder.messages() == ["to both"]
    assert recorder.records[0].request_id == "req-3"


def test_a_record_factory_is_honoured(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder()
    service = make_service(handler=recorder)
    plain = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = plain(*args, **kwargs)
        record.tenant = "acme"
        return record

    logging.setLogRecordFactory(factory)
    try:
        service.log_deferred(SITE, "with a tenant", ())
    finally:
        logging.setLogRecordFactory(plain)
    assert service.drain(TIMEOUT)
    assert recorder.records[0].tenant == "acme"


def test_handler_level_applies_to_deferred_records(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder(level=logging.WARNING)
    service = make_service(handler=recorder)
    service.log_deferred(SITE, "quiet", ())
    service.log_deferred(CallSite(logging.WARNING, __file__, 1), "loud", ())
    assert service.drain(TIMEOUT)
    assert recorder.messages() == ["loud"]


def test_logger_level_and_disabling_apply(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder()
    service = make_service(handler=recorder, level=logging.WARNING)
    service.log_deferred(SITE, "below the level", ())
    service.logger.setLevel(logging.INFO)
    service.logger.disabled = True
    service.log_deferred(SITE, "disabled", ())
    service.logger.disabled = False
    try:
        logging.disable(logging.CRITICAL)
        service.log_deferred(SITE, "disabled everywhere", ())
    finally:
        logging.disable(logging.NOTSET)
    service.log_deferred(SITE, "shown", ())
    assert service.drain(TIMEOUT)
    assert recorder.messages() == ["shown"]
    assert service.dropped == 0


@pytest.mark.parametrize(
    ("msg", "args", "message"),
    [
        ("%(user)s paid", ({"user": "ann"},), "ann paid"),  # one mapping: as makeRecord takes it
        ("items %s", (["a", "b"],), "items ['a', 'b']"),  # merged at once, in this thread
        ("100% sure", (), "100% sure"),  # no arguments: not merged
    ],
)
def test_messages_merge_as_they_do_for_normal_records(
    make_service: ServiceFactory,
    make_recorder: RecorderFactory,
    msg: str,
    args: tuple[object, ...],
    message: str,
) -> None:
    recorder = make_recorder()
    service = make_service(handler=recorder)
    service.log_deferred(SITE, msg, args)
    assert service.drain(TIMEOUT)
    record = recorder.records[0]
    assert (record.msg, record.args, record.message) == (message, None, message)


def test_a_message_that_cannot_be_merged_is_reported_not_queued(
    make_service: ServiceFactory,
    make_recorder: RecorderFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    recorder = make_recorder()
    service = make_service(handler=recorder)
    service.log_deferred(SITE, "%d requests", ("many",))
    service.logger.info("%d requests", "many")  # the same mistake the normal way
    assert service.drain(TIMEOUT)
    assert recorder.records == []
    assert service.dropped == 0
    err = capsys.readouterr().err
    assert err.count("--- Logging error ---") == 2
    assert err.count("TypeError: %d format: a real number is required, not str") == 2


def test_builder_timestamps_equal_timestamp_of_across_a_zone_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The builder reuses the zone within a second; at a daylight-saving change, and near a
    second's end (where the datetime rounds up), it must still equal ``timestamp_of``."""
    monkeypatch.setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3")
    time.tzset()
    try:
        change = 1_711_846_800  # 2024-03-31 01:00:00 UTC: CET (+01:00) becomes CEST (+02:00)
        builder = RecordBuilder(os.getpid())
        for seconds in (0.25, 0.5, 0.9995, 0.9999996, 1.0, 1.5, 1.9999999):
            ns = (change - 1) * 1_000_000_000 + round(seconds * 1e9)
            freeze_clock(monkeypatch, ns)
            record = builder.build(capture(SITE, "app", "tick"))
            expected = timestamp_of(record.created)
            assert record.timestamp == expected
            assert record.timestamp.utcoffset() == expected.utcoffset(), seconds
            assert isinstance(record.timestamp, datetime)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_call_site_names_its_file_and_module() -> None:
    site = CallSite(logging.ERROR, "/srv/app/handlers/orders.py", 12, "pay")
    assert (site.level, site.pathname, site.lineno, site.func) == (
        logging.ERROR,
        "/srv/app/handlers/orders.py",
        12,
        "pay",
    )
    assert repr(site) == "<CallSite ERROR /srv/app/handlers/orders.py:12>"


#: A call site that names its records and gives them attributes, as the runtime's access line.
NAMED_SITE = CallSite(
    logging.INFO, "access", 0, "access", name="shop.access", attributes=("status", "user_agent")
)


def test_deferred_record_with_a_name_and_attributes_equals_the_normal_one(
    make_service: ServiceFactory, make_recorder: RecorderFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = make_recorder()
    service = make_service(name="shop", handler=recorder)
    freeze_clock(monkeypatch, INSTANTS[0])
    values = (200, "probe/1.0")

    def log() -> None:
        with request_scope("req-43"):
            service.log_deferred(NAMED_SITE, "%s %s", ("GET", "/"), values)
            logger = service.logger
            logger.handle(
                logger.makeRecord(
                    "shop.access",
                    logging.INFO,
                    "access",
                    0,
                    "%s %s",
                    ("GET", "/"),
                    None,
                    "access",
                    {"status": 200, "user_agent": "probe/1.0"},
                )
            )

    thread = threading.Thread(target=log, name="worker-8")
    thread.start()
    thread.join(TIMEOUT)
    assert service.drain(TIMEOUT)
    deferred, normal = recorder.records
    assert list(vars(deferred)) == list(vars(normal))  # extra= attributes before `message`
    assert vars(deferred) == vars(normal)
    assert (deferred.name, deferred.status, deferred.user_agent) == ("shop.access", *values)
    assert recorder.lines[0] == recorder.lines[1]


def test_the_normal_path_gives_attributes_too(
    make_service: ServiceFactory, make_recorder: RecorderFactory, made_records: list[str]
) -> None:
    recorder = make_recorder()
    service = make_service(name="shop", handler=recorder)
    service.logger.addFilter(lambda record: True)  # anything seeing records first: normal path
    service.log_deferred(NAMED_SITE, "plain", (), (404, None))
    assert service.drain(TIMEOUT)
    assert made_records == ["shop"]
    [record] = recorder.records
    assert (record.name, record.status, record.user_agent) == ("shop.access", 404, None)


@pytest.mark.parametrize("attribute", ["message", "msg", "asctime", "request_id", "lineno"])
def test_call_site_attributes_never_replace_a_records_own(attribute: str) -> None:
    with pytest.raises(ValueError, match=f"attribute `{attribute}` would replace the record's own"):
        CallSite(logging.INFO, "x.py", 1, attributes=(attribute,))


def test_call_site_attributes_are_named_once() -> None:
    with pytest.raises(ValueError, match=r"name one twice"):
        CallSite(logging.INFO, "x.py", 1, attributes=("a", "a"))


def test_values_must_match_the_attributes(make_service: ServiceFactory) -> None:
    service = make_service()
    with pytest.raises(ValueError, match=r"one value per attribute .*\('status', 'user_agent'\)"):
        service.log_deferred(NAMED_SITE, "x", (), (200,))


@pytest.mark.parametrize("ns", [*INSTANTS, 1_700_000_000_000_000_000, 1_700_000_000_000_000_400])
def test_default_line_is_the_default_formatters_text_of_the_record(
    monkeypatch: pytest.MonkeyPatch, ns: int
) -> None:
    """The text the listener writes for a deferred record without making it is the text the
    default formatter makes of the record: at any instant (a whole second, where the time has
    no fraction, included), at any level, with any message and request id."""
    formatter = default_formatter()
    builder = RecordBuilder(os.getpid())
    freeze_clock(monkeypatch, ns)
    logging.addLevelName(logging.INFO + 1, "NOTICE")
    for site in (SITE, NAMED_SITE, CallSite(logging.INFO + 1, "/srv/app/x.py", 7, "f")):
        with request_scope("req-\u00e9"):
            item = capture(site, "shop", "GET /caf\u00e9 200 1.23ms", (0,) * len(site.attributes))
        assert builder.default_line(item) == formatter.format(builder.build(item))


def test_the_default_handler_writes_deferred_records_without_making_them(
    make_service: ServiceFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the default handler and format, the listener writes an access line's text straight
    from what was captured: no ``LogRecord`` is built for it, and the text is the same."""
    built: list[object] = []
    build = RecordBuilder.build

    def counting(self: RecordBuilder, deferred: Any) -> logging.LogRecord:
        built.append(deferred)
        return build(self, deferred)

    monkeypatch.setattr(RecordBuilder, "build", counting)
    service = make_service(name="shop")
    with request_scope("abc-123"):
        for n in range(3):
            service.log_deferred(NAMED_SITE, "GET /%d 200 1.23ms", (n,), (200, None))
    assert service.stop(TIMEOUT)
    assert built == []
    lines = capsys.readouterr().err.split("\n\n")
    messages = [line.split("\n")[1] for line in lines[:3]]
    assert messages == [f" GET /{n} 200 1.23ms" for n in range(3)]
    assert all(line.startswith("INFO ") and " access:0 abc-123\n" in line for line in lines[:3])


def test_a_filter_on_the_default_handler_sees_deferred_records(
    make_service: ServiceFactory,
) -> None:
    """A filter on the batching handler (or another format) takes the path with records."""
    from cylinder_logging.batching import BatchStreamHandler

    stream = io.StringIO()
    handler = BatchStreamHandler(stream)
    seen: list[object] = []

    def keep_status(record: logging.LogRecord) -> bool:
        seen.append(record.status)
        return True

    handler.addFilter(keep_status)
    service = make_service(handler=handler)
    service.log_deferred(NAMED_SITE, "GET / 404 1.00ms", (), (404, "agent"))
    assert service.drain(TIMEOUT)
    assert seen == [404]
    assert "\n GET / 404 1.00ms\n" in stream.getvalue()


def test_a_failing_write_of_deferred_lines_is_reported_with_the_record(
    make_service: ServiceFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lines written without their records still name the record when the write fails."""
    from cylinder_logging.batching import BatchStreamHandler

    stream = io.StringIO()
    stream.close()  # writing to it raises ValueError
    service = make_service(handler=BatchStreamHandler(stream))
    service.log_deferred(NAMED_SITE, "GET /lost 200 1.00ms", (), (200, None))
    assert service.drain(TIMEOUT)
    err = capsys.readouterr().err
    assert "--- Logging error ---" in err
    assert "GET /lost 200 1.00ms" in err
