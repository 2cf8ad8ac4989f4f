from __future__ import annotations

import logging
import sys
from datetime import datetime

from cylinder_logging import request_scope
from cylinder_logging.records import prepare_record


def make_record(msg: object, *args: object, exc: bool = False) -> logging.LogRecord:
    return logging.LogRecord(
        "app", logging.INFO, __file__, 10, msg, args, sys.exc_info() if exc else None
    )


def test_message_is_merged_when_prepared() -> None:
    items = ["before"]
    record = make_record("items %s", items)
    prepared = prepare_record(record, None)
    items.append("after")  # the caller changes its object once the call returned
    assert prepared.msg == prepared.message == "items ['before']"
    assert prepared.args is None
    assert prepared.getMessage() == "items ['before']"


def test_the_callers_record_is_not_changed() -> None:
    record = make_record("value %d", 3)
    prepared = prepare_record(record, None)
    assert prepared is not record
    assert record.msg == "value %d"
    assert record.args == (3,)
    assert "request_id" not in record.__dict__


def test_traceback_is_rendered_to_text_and_the_exception_kept() -> None:
    try:
        raise ZeroDivisionError("no")
    except ZeroDivisionError:
        record = make_record("failed", exc=True)
    prepared = prepare_record(record, None)
    assert prepared.exc_text is not None
    assert prepared.exc_text.startswith("Traceback (most recent call last):")
    assert prepared.exc_text.endswith("ZeroDivisionError: no")
    assert record.exc_text is None
    assert prepared.exc_info is record.exc_info  # the exception itself, for error trackers
    formatted = logging.Formatter("%(message)s").format(prepared)
    assert formatted == "failed\n" + prepared.exc_text


def test_traceback_is_rendered_by_the_target_formatter() -> None:
    class OneLine(logging.Formatter):
        def formatException(self, ei: object) -> str:
            return "one line"

    try:
        raise ValueError("bad")
    except ValueError:
        record = make_record("failed", exc=True)
    assert prepare_record(record, OneLine()).exc_text == "one line"


def test_request_id_and_timestamp_are_stamped() -> None:
    record = make_record("hello")
    with request_scope("req-7"):
        prepared = prepare_record(record, None)
    assert prepared.request_id == "req-7"
    assert isinstance(prepared.timestamp, datetime)
    assert prepared.timestamp.tzinfo is not None
    assert abs(prepared.timestamp.timestamp() - record.created) < 1e-5
    assert prepare_record(record, None).request_id == "-"


def test_fields_given_with_extra_are_kept() -> None:
    record = make_record("hello")
    record.request_id = "from-extra"
    with request_scope("req-7"):
        assert prepare_record(record, None).request_id == "from-extra"
