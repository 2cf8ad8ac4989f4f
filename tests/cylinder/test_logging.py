"""Spec: "Logging configuration", "request_id_header"; DECISIONS.md "Logging"."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

import cylinder
from cylinder_logging import default_formatter
from cylinder_logging.formatting import timestamp_of

LOGGING_HANDLER = """
def main(request, response, log):
    log.info("in handler")
    helper(log)
    return response

def helper(log):
    log.warning("in helper")
"""


def test_every_record_of_a_request_carries_its_request_id(
    client_for: Callable[..., Client], records: Any
) -> None:
    client = client_for({"webapp1.ex.get.py": LOGGING_HANDLER})
    client.get("/", headers={"X-Request-ID": "req-123"})
    ids = {r.getMessage(): r.request_id for r in records.records}
    assert ids["in handler"] == "req-123"
    assert ids["in helper"] == "req-123"
    assert all(r.request_id == "req-123" for r in records.records)
    assert all(r.timestamp for r in records.records)


def test_generated_ids_are_unique_per_request(
    client_for: Callable[..., Client], records: Any
) -> None:
    client = client_for({"webapp1.ex.get.py": LOGGING_HANDLER})
    client.get("/")
    client.get("/")
    handler_ids = [r.request_id for r in records.records if r.getMessage() == "in handler"]
    assert len(handler_ids) == 2
    assert handler_ids[0] != handler_ids[1]
    assert all(len(i) >= 16 for i in handler_ids)


def test_custom_request_id_header(client_for: Callable[..., Client], records: Any) -> None:
    client = client_for({"webapp1.ex.get.py": LOGGING_HANDLER}, request_id_header="Cf-Ray")
    client.get("/", headers={"Cf-Ray": "ray-9", "X-Request-ID": "ignored"})
    assert {r.request_id for r in records.records} == {"ray-9"}


def test_hostile_request_id_cannot_forge_log_lines(
    client_for: Callable[..., Client], records: Any
) -> None:
    client = client_for({"webapp1.ex.get.py": LOGGING_HANDLER})
    client.get("/", headers={"X-Request-ID": "a\x1b[31mb\x00c" + "x" * 500})
    request_id = records.records[0].request_id
    assert "\x1b" not in request_id
    assert "\x00" not in request_id
    assert len(request_id) == 200
    assert request_id.startswith("a[31mbc")


def test_one_access_record_per_request(client_for: Callable[..., Client], records: Any) -> None:
    client = client_for({"webapp1.ex.get.py": "def main(abort):\n    abort(418)\n"})
    client.get("/teapot?x=1")
    access = [r for r in records.records if r.levelno == logging.INFO]
    assert len(access) == 1
    message = access[0].getMessage()
    assert message.startswith("GET /teapot 418 ")
    assert message.endswith("ms")


def test_access_line_with_the_default_formatter(
    client_for: Callable[..., Client], records: Any
) -> None:
    """The access record is credited to ``access`` (line 0), not to a line of the runtime,
    carries the request id and the serving thread, and prints as the header plus the message."""
    client = client_for({"webapp1.ex.get.py": "def main(response):\n    return response\n"})
    client.get("/", headers={"X-Request-ID": "req-77"})
    (access,) = [r for r in records.records if r.levelno == logging.INFO]
    assert (access.pathname, access.funcName, access.module, access.lineno) == (
        "access",
        "access",
        "access",
        0,
    )
    assert access.threadName == threading.current_thread().name
    assert access.timestamp == timestamp_of(access.created)
    formatted = default_formatter().format(access)
    stamp = re.escape(str(access.timestamp))
    assert re.fullmatch(rf"INFO {stamp} access:0 req-77\n GET / 200 \d+\.\d\dms\n", formatted)


def test_500_traceback_logged_at_error_with_request_id(
    client_for: Callable[..., Client], records: Any
) -> None:
    client = client_for({"webapp1.ex.get.py": "def main(response):\n    1 / 0\n"})
    client.get("/", headers={"X-Request-ID": "boom-1"})
    errors = [r for r in records.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].request_id == "boom-1"
    assert "ZeroDivisionError" in (errors[0].exc_text or "")


def test_log_level_filters_records(client_for: Callable[..., Client], records: Any) -> None:
    client = client_for({"webapp1.ex.get.py": LOGGING_HANDLER}, log_level=logging.WARNING)
    client.get("/")
    assert records.messages() == ["in helper"]


def test_log_formatter_is_replaceable_before_get_app(
    make_app: Callable[..., cylinder.Application], monkeypatch: pytest.MonkeyPatch
) -> None:
    captured: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            captured.append(self.format(record))

    monkeypatch.setattr(
        cylinder, "log_formatter", logging.Formatter("[%(request_id)s] %(message)s")
    )
    app = make_app({"webapp1.ex.get.py": LOGGING_HANDLER}, log_handler=Capture())
    app.test_client().get("/", headers={"X-Request-ID": "fmt"})
    assert "[fmt] in handler" in captured


def test_default_formatter_has_the_request_id_field() -> None:
    formatter = cylinder.log_formatter
    assert "%(request_id)s" in (formatter._fmt or "")
    assert "%(timestamp)s" in (formatter._fmt or "")


class Blocking(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.handled: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.release.wait(10)
        self.handled.append(record.getMessage())


@pytest.fixture
def blocking() -> Iterator[Blocking]:
    handler = Blocking()
    yield handler
    handler.release.set()


def test_slow_log_handler_does_not_block_requests(
    make_app: Callable[..., cylinder.Application], blocking: Blocking
) -> None:
    app = make_app({"webapp1.ex.get.py": LOGGING_HANDLER}, log_handler=blocking)
    app.wait_for_logs = False
    client = app.test_client()
    for _ in range(5):
        assert client.get("/").status_code == 200  # returns although nothing was handled yet
    assert blocking.handled == []
    blocking.release.set()
    assert app.drain_logs(10)
    assert blocking.handled.count("in handler") == 5


def test_full_queue_drops_new_records_and_counts_them(
    make_app: Callable[..., cylinder.Application], blocking: Blocking
) -> None:
    app = make_app({"webapp1.ex.get.py": LOGGING_HANDLER}, log_handler=blocking, log_queue_length=4)
    app.wait_for_logs = False
    client = app.test_client()
    for _ in range(10):  # 3 records a request
        assert client.get("/").status_code == 200
    assert app.dropped_log_records > 0
    blocking.release.set()
    assert app.drain_logs(10)
    client.get("/")
    assert app.drain_logs(10)
    assert any("log records dropped" in message for message in blocking.handled)


def test_zero_queue_length_never_drops(
    make_app: Callable[..., cylinder.Application], blocking: Blocking
) -> None:
    app = make_app({"webapp1.ex.get.py": LOGGING_HANDLER}, log_handler=blocking, log_queue_length=0)
    app.wait_for_logs = False
    client = app.test_client()
    for _ in range(50):
        client.get("/")
    assert app.dropped_log_records == 0
    blocking.release.set()
    assert app.drain_logs(10)
    assert len(blocking.handled) == 150


def test_two_apps_never_see_each_others_records(
    make_app: Callable[..., cylinder.Application], sites: Path
) -> None:
    from logging import Handler, LogRecord

    class Keep(Handler):
        def __init__(self) -> None:
            super().__init__()
            self.messages: list[str] = []

        def emit(self, record: LogRecord) -> None:
            self.messages.append(record.getMessage())

    first, second = Keep(), Keep()
    app_a = make_app(
        {"webapp1.ex.get.py": "def main(response, log):\n    log.info('A')\n    return response\n"},
        log_handler=first,
    )
    app_b = make_app(
        {"webapp2.ex.get.py": "def main(response, log):\n    log.info('B')\n    return response\n"},
        log_handler=second,
        app_map=lambda request: (str(sites), "webapp2", {}),
    )
    app_a.test_client().get("/")
    app_b.test_client().get("/")
    assert "A" in first.messages
    assert "B" not in first.messages
    assert "B" in second.messages
    assert "A" not in second.messages
    assert app_a.logger is not app_b.logger


def test_each_app_gets_its_own_copy_of_the_formatter(
    make_app: Callable[..., cylinder.Application], records: Any
) -> None:
    make_app({"webapp1.ex.get.py": LOGGING_HANDLER})
    assert records.formatter is not cylinder.log_formatter
    assert records.formatter is not None
    assert records.formatter._fmt == cylinder.log_formatter._fmt
