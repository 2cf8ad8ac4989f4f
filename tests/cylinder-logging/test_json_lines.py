"""``JSONFormatter``: one JSON object per line, every field of the record, parsed back."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from cylinder_logging import CallSite, JSONFormatter, LogService, request_scope
from cylinder_logging.formatting import timestamp_of

TIMEOUT = 10.0

ServiceFactory = Callable[..., LogService]
RecorderFactory = Callable[..., Any]

#: Every attribute ``LogRecord.__init__`` sets on this Python.
STANDARD = list(vars(logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None)))


def logged(
    make_service: ServiceFactory, make_recorder: RecorderFactory, log: Callable[[Any], None]
) -> list[dict[str, Any]]:
    """Log with ``log(logger)`` inside request ``req-7``; the lines written, parsed back."""
    recorder = make_recorder()
    recorder.setFormatter(JSONFormatter())
    service = make_service(name="shop", handler=recorder, formatter=JSONFormatter())
    with request_scope("req-7"):
        log(service.logger)
    assert service.drain(TIMEOUT)
    for line in recorder.lines:
        assert "\n" not in line
        assert line.isascii()
    return [json.loads(line) for line in recorder.lines]


def test_a_record_is_one_json_object_with_every_field(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    [entry] = logged(make_service, make_recorder, lambda log: log.info("order %s paid", 42))
    for name in STANDARD:
        assert name in entry, name
    assert entry["message"] == entry["msg"] == "order 42 paid"
    assert entry["args"] is None
    assert entry["levelname"] == "INFO"
    assert entry["levelno"] == logging.INFO
    assert entry["name"] == "shop"
    assert entry["filename"] == "test_json_lines.py"
    assert entry["funcName"] == "<lambda>"
    assert entry["request_id"] == "req-7"
    assert entry["exc_info"] is None
    assert entry["exc_text"] is None
    stamp = datetime.fromisoformat(entry["timestamp"])
    assert stamp == timestamp_of(entry["created"])
    assert stamp.utcoffset() is not None


def test_an_exception_is_text(make_service: ServiceFactory, make_recorder: RecorderFactory) -> None:
    def log(logger: logging.Logger) -> None:
        try:
            {}["missing"]
        except KeyError:
            logger.exception("lookup failed")

    [entry] = logged(make_service, make_recorder, log)
    assert entry["levelname"] == "ERROR"
    assert entry["exc_info"] == "KeyError: 'missing'"
    assert entry["exc_text"].startswith("Traceback (most recent call last):\n")
    assert entry["exc_text"].endswith("KeyError: 'missing'")


def test_extra_fields_and_odd_values(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    """Fields given with ``extra=`` are members too; what JSON cannot hold is its ``str``;
    control characters and non-ASCII text are escaped, and come back as they were."""
    text = "caf\u00e9\r\nCRITICAL fake\x1b[2J\u2028"
    [entry] = logged(
        make_service,
        make_recorder,
        lambda log: log.warning(
            "said %s", text, extra={"user_id": 7, "tags": ("a", "b"), "seen": {1, 2}}
        ),
    )
    assert entry["message"] == f"said {text}"
    assert entry["user_id"] == 7
    assert entry["tags"] == ["a", "b"]
    assert entry["seen"] == "{1, 2}"


def test_deferred_records_with_attributes(
    make_service: ServiceFactory, make_recorder: RecorderFactory
) -> None:
    site = CallSite(
        logging.INFO, "access", 0, "access", name="shop.access", attributes=("status", "size")
    )
    recorder = make_recorder()
    service = make_service(name="shop", handler=recorder, formatter=JSONFormatter())
    with request_scope("req-8"):
        service.log_deferred(site, "%s %s", ("GET", "/"), (200, 5))
    assert service.drain(TIMEOUT)
    [line] = recorder.lines
    entry = json.loads(line)
    assert entry["name"] == "shop.access"
    assert (entry["status"], entry["size"], entry["request_id"]) == (200, 5, "req-8")
    assert entry["message"] == "GET /"


def test_a_plain_record_outside_a_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """A record that never went through a ``LogService`` (no request id, no timestamp, its
    arguments not merged) formats as well."""
    record = logging.LogRecord("app", logging.DEBUG, "/x/y.py", 3, "a=%d %s", (1, "b"), None)
    line = JSONFormatter(datefmt="%Y").format(record)
    entry = json.loads(line)
    assert entry["message"] == entry["msg"] == "a=1 b"
    assert entry["args"] is None
    assert entry["request_id"] == "-"
    assert datetime.fromisoformat(entry["timestamp"]) == timestamp_of(record.created)
    assert entry["asctime"] == str(timestamp_of(record.created).year)
    assert record.args == (1, "b")  # the record itself is unchanged
    assert not hasattr(record, "message")


def test_stack_info_is_text(make_service: ServiceFactory, make_recorder: RecorderFactory) -> None:
    [entry] = logged(make_service, make_recorder, lambda log: log.info("here", stack_info=True))
    assert entry["stack_info"].startswith("Stack (most recent call last):")
