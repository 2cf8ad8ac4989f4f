from __future__ import annotations

import io
import logging
import sys
from datetime import datetime

from cylinder_logging import default_formatter
from cylinder_logging.formatting import timestamp_of


def test_default_formatter_has_the_documented_format() -> None:
    formatter = default_formatter()
    assert formatter._fmt == (
        "%(levelname)s %(timestamp)s %(filename)s:%(lineno)s %(request_id)s\n %(message)s\n"
    )
    assert formatter.datefmt == "%Y-%m-%d %H:%M:%S%z"


def test_default_formatter_is_new_each_call() -> None:
    first, second = default_formatter(), default_formatter()
    assert first is not second
    first.datefmt = "%H"
    assert second.datefmt == "%Y-%m-%d %H:%M:%S%z"


def test_timestamp_is_aware_local_time_of_created() -> None:
    created = 1_700_000_000.25
    stamp = timestamp_of(created)
    assert stamp.tzinfo is not None
    assert stamp.timestamp() == created
    assert stamp.utcoffset() == datetime.fromtimestamp(created).astimezone().utcoffset()


def test_default_format_renders_request_id_and_timestamp() -> None:
    record = logging.LogRecord("app", logging.INFO, "/srv/site/foo.py", 7, "hi %s", ("you",), None)
    record.request_id = "req-1"
    record.timestamp = timestamp_of(record.created)
    line = default_formatter().format(record)
    assert line == f"INFO {record.timestamp} foo.py:7 req-1\n hi you\n"


def test_the_default_format_takes_three_lines_through_a_stream_handler() -> None:
    """What docs/logging.md says: header, message, blank line; a traceback ends the record."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(default_formatter())
    record = logging.LogRecord("n", logging.INFO, "/x/app.py", 7, "hello", None, None)
    record.request_id, record.timestamp = "r-1", "T"
    handler.handle(record)
    assert output.getvalue() == "INFO T app.py:7 r-1\n hello\n\n"
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord("n", logging.ERROR, "/x/app.py", 8, "bad", None, sys.exc_info())
    failed.request_id, failed.timestamp = "r-2", "T"
    handler.handle(failed)
    lines = output.getvalue().split("\n")
    assert lines[3:5] == ["ERROR T app.py:8 r-2", " bad"]
    assert lines[5] == "Traceback (most recent call last):"
    assert lines[-2:] == ["ValueError: boom", ""]  # no blank line after a traceback
