from __future__ import annotations

import logging
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
