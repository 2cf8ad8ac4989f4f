"""Issue 13, logs people can use: the access record is credited to ``access`` and carries, as
record attributes, what operators look for: client address, method, path, status, duration,
response size, user agent and request id. The message stays ``METHOD PATH STATUS N.NNms``.
The JSON formatter writes them all, checked here over a real waitress socket.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import AppFactory, Records
from server_support import Served, serve_site

import cylinder

#: The access attributes, beside ``request_id``, which every record has.
ACCESS_ATTRIBUTES = (
    "remote_addr",
    "method",
    "path",
    "status",
    "duration_ms",
    "response_size",
    "user_agent",
)

SITE = {
    "webapp1.ex.get.py": """
        def main(response):
            response.data = "hello, world"
            return response
    """,
    "webapp1/stream.ex.get.py": """
        def main(response):
            response.response = (part for part in [b"one ", b"two"])
            return response
    """,
    "webapp1/fail.ex.get.py": """
        def main(response):
            raise RuntimeError("handler fault")
    """,
    "webapp1/style.css": "body { color: black }\n",
}


def access_records(records: Records) -> list[logging.LogRecord]:
    return [record for record in records.records if record.funcName == "access"]


@pytest.fixture
def app(make_app: AppFactory) -> cylinder.Application:
    return make_app(SITE)


def test_the_access_record_is_credited_to_access(
    app: cylinder.Application, records: Records
) -> None:
    app.test_client().get("/", headers={"X-Request-ID": "acc-1"})
    [record] = access_records(records)
    assert record.name == f"{app.logger.name}.access"
    assert (record.pathname, record.filename, record.module) == ("access", "access", "access")
    assert record.lineno == 0
    assert re.fullmatch(r"GET / 200 \d+\.\d\dms", record.getMessage())
    formatted = cylinder.log_formatter.format(record)
    assert formatted.startswith("INFO ")
    assert " access:0 acc-1\n GET / 200 " in formatted
    assert "app.py" not in formatted


def test_the_access_record_carries_what_operators_look_for(
    app: cylinder.Application, records: Records
) -> None:
    response = app.test_client().get(
        "/",
        headers={"X-Request-ID": "acc-2", "User-Agent": "probe/1.0 (tests)"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    [record] = access_records(records)
    fields = vars(record)
    assert {name: fields[name] for name in ACCESS_ATTRIBUTES if name != "duration_ms"} == {
        "remote_addr": "203.0.113.9",
        "method": "GET",
        "path": "/",
        "status": 200,
        "response_size": len(response.data),
        "user_agent": "probe/1.0 (tests)",
    }
    assert record.request_id == "acc-2"
    assert isinstance(record.duration_ms, float)
    assert record.duration_ms > 0
    assert record.getMessage() == f"GET / 200 {record.duration_ms:.2f}ms"


@pytest.mark.parametrize(
    ("method", "path", "status", "size"),
    [
        ("HEAD", "/", 200, 0),  # no body is sent
        ("GET", "/stream", 200, None),  # not known in advance
        ("GET", "/style.css", 200, len("body { color: black }\n")),  # a file, streamed
        ("GET", "/fail", 500, None),  # error pages: their own length, checked below
        ("POST", "/", 405, None),
    ],
)
def test_response_size_is_the_body_sent(
    app: cylinder.Application,
    records: Records,
    method: str,
    path: str,
    status: int,
    size: int | None,
) -> None:
    response = app.test_client().open(path, method=method)
    response.close()  # the static file's
    assert response.status_code == status
    [record] = access_records(records)
    assert record.status == status
    assert record.method == method
    assert record.user_agent is None  # Werkzeug's test client sends none
    if size is None and status >= 400:
        size = len(response.data)
    assert record.response_size == size


def test_request_text_in_the_attributes_is_escaped(
    app: cylinder.Application, records: Records
) -> None:
    app.test_client().get(
        "/a%0d%0aCRITICAL%1b[2J",
        headers={"User-Agent": "evil\x1b]0;TITLE\x07"},
        environ_base={"REMOTE_ADDR": "10.0.0.1\r\nCRITICAL"},
    )
    [record] = access_records(records)
    assert record.path == "/a\\r\\nCRITICAL\\x1b[2J"
    assert record.user_agent == "evil\\x1b]0;TITLE\\x07"
    assert record.remote_addr == "10.0.0.1\\r\\nCRITICAL"


def test_no_user_agent_and_no_address_are_none(app: cylinder.Application, records: Records) -> None:
    client = app.test_client()
    client.get("/", environ_overrides={"REMOTE_ADDR": None, "HTTP_USER_AGENT": None})
    [record] = access_records(records)
    assert (record.remote_addr, record.user_agent) == (None, None)


def test_the_normal_path_gives_the_same_record(app: cylinder.Application, records: Records) -> None:
    """A filter on the logger makes the access record take the normal path (a record made in
    the request's thread): it has the same attributes, in the same order, with the same kinds
    of values."""
    client = app.test_client()
    headers = {"X-Request-ID": "acc-3", "User-Agent": "probe"}
    client.get("/", headers=headers)
    app.logger.addFilter(lambda record: True)
    client.get("/", headers=headers)
    deferred, normal = access_records(records)
    assert list(vars(deferred)) == list(vars(normal))
    changing = {"created", "msecs", "relativeCreated", "timestamp", "msg", "message", "duration_ms"}
    same = {key: value for key, value in vars(deferred).items() if key not in changing}
    assert same == {key: value for key, value in vars(normal).items() if key not in changing}


# --- over waitress, with the JSON formatter ---------------------------------------------------

SERVED_APP = """
import cylinder
from cylinder_logging import JSONFormatter

SITE_DIR = {site_dir!r}


def app_map(request):
    return SITE_DIR, "webapp1"


cylinder.log_formatter = JSONFormatter()
app = cylinder.get_app(app_map)
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serve_site("waitress", tmp_path / "served", SITE, SERVED_APP) as running:
        yield running


def json_records(served: Served, request_id: str) -> list[dict[str, Any]]:
    served.wait_for_log(f'"request_id": "{request_id}"')
    entries = [json.loads(line) for line in served.log_text().splitlines() if line.startswith("{")]
    return [entry for entry in entries if entry["request_id"] == request_id]


def test_access_attributes_over_waitress_as_json(served: Served) -> None:
    status, body = served.get("/", {"X-Request-ID": "wire-1", "User-Agent": "probe/2.0"})
    assert status == 200
    [entry] = json_records(served, "wire-1")
    assert entry["name"].endswith(".access")
    assert entry["funcName"] == "access"
    assert entry["remote_addr"] == "127.0.0.1"
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/", 200)
    assert entry["response_size"] == len(body)
    assert entry["user_agent"] == "probe/2.0"
    assert entry["duration_ms"] > 0
    assert entry["message"] == f"GET / 200 {entry['duration_ms']:.2f}ms"
    assert entry["levelname"] == "INFO"
    assert entry["timestamp"]


def test_a_failure_over_waitress_as_json(served: Served) -> None:
    status, _ = served.get("/fail", {"X-Request-ID": "wire-2"})
    assert status == 500
    served.wait_for_log('"funcName": "access"', timeout=10)
    failure, access = json_records(served, "wire-2")
    assert failure["levelname"] == "ERROR"
    assert failure["message"] == "GET /fail failed"
    assert failure["exc_info"] == "RuntimeError: handler fault"
    assert "Traceback (most recent call last)" in failure["exc_text"]
    assert access["status"] == 500
