"""Issue 12: ``sys.exit()`` in site code is a failure like any other, not the server's end.

A handler, early hook, late hook, error handler, module top level, ``app_map`` or streamed body
that raises ``SystemExit`` gets a 500 through the usual error path (the nearest ``500.py``, the
late hook after it), logged with its traceback and the request id; nothing reaches the server.
Under waitress the server answers the next request; a gunicorn sync worker does not exit.
``KeyboardInterrupt`` is not caught: it is how a person stops a server.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import AppFactory, Records
from server_support import Served, serve_site
from werkzeug.test import EnvironBuilder
from wsgi_support import call_app

import cylinder
from cylinder_runtime.errors import HandlerLoadError

SITE = {
    "webapp1.500.py": """
        def main(response, e):
            failed = e.original_exception
            response.data = f"500 page: {type(failed).__name__}: {failed}"
            return response
    """,
    "webapp1.lh.default.py": """
        def main(response):
            response.headers["X-Late"] = "ran"
            return response
    """,
    "webapp1.ex.get.py": """
        import os


        def main(response):
            response.data = str(os.getpid())
            return response
    """,
    "webapp1/exit.ex.get.py": """
        import sys


        def main(request, response):
            sys.exit(request.args.get("code", "handler exit"))
    """,
    "webapp1/hook.eh.get.py": """
        def main(response):
            raise SystemExit("early hook exit")
    """,
    "webapp1/hook.ex.get.py": """
        def main(response):
            response.data = "the handler behind an exiting hook must not run"
            return response
    """,
    "webapp1/late.ex.get.py": """
        def main(response):
            response.data = "replaced by the 500 page"
            return response
    """,
    "webapp1/late.lh.get.py": """
        def main(response):
            raise SystemExit("late hook exit")
    """,
    "webapp1/teapot.ex.get.py": """
        def main(response, abort):
            abort(418)
    """,
    "webapp1/teapot.418.py": """
        def main(response):
            raise SystemExit("error handler exit")
    """,
    "webapp1/top.ex.get.py": """
        import sys

        sys.exit("module top level exit")


        def main(response):
            return response
    """,
    "webapp1/stream.ex.get.py": """
        import sys


        def body():
            yield b"first "
            sys.exit("streamed body exit")


        def main(response):
            response.response = body()
            return response
    """,
    "webapp1/worse.500.py": """
        def main(response):
            raise SystemExit("500 handler exit")
    """,
    "webapp1/worse/exit.ex.get.py": """
        def main(response):
            raise SystemExit(2)
    """,
}


def app_map_for(sites: Path) -> Any:
    def app_map(request: Any) -> tuple[str, str]:
        if "X-Exit" in request.headers:
            raise SystemExit("app_map exit")
        return str(sites), "webapp1"

    return app_map


@pytest.fixture
def app(make_app: AppFactory, sites: Path) -> cylinder.Application:
    return make_app(SITE, app_map=app_map_for(sites))


def exits_logged(records: Records, request_id: str) -> list[logging.LogRecord]:
    """The ERROR records of ``request_id`` that carry a ``SystemExit``."""
    return [
        record
        for record in records.records
        if record.levelno == logging.ERROR
        and getattr(record, "request_id", None) == request_id
        and record.exc_info is not None
        and isinstance(record.exc_info[1], SystemExit | HandlerLoadError)
    ]


def get(app: cylinder.Application, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """A GET straight through WSGI, as a server calls the app: an exception would escape here."""
    query = ""
    if "?" in path:
        path, query = path.split("?", 1)
    environ = EnvironBuilder(path=path, query_string=query, headers=headers).get_environ()
    return call_app(app, environ)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/exit", b"500 page: SystemExit: handler exit"),
        ("/exit?code=3", b"500 page: SystemExit: 3"),
        ("/hook", b"500 page: SystemExit: early hook exit"),
        ("/late", b"500 page: SystemExit: late hook exit"),
        ("/teapot", b"500 page: SystemExit: error handler exit"),
    ],
)
def test_site_code_that_exits_gets_the_500_page_and_the_late_hook(
    app: cylinder.Application, records: Records, path: str, body: bytes
) -> None:
    status, headers, data = get(app, path, **{"X-Request-ID": "exit-1"})
    assert (status, data) == (500, body)
    # the late hook runs after the 500 page, unless it is the one that exited
    assert headers.get("X-Late") == (None if path == "/late" else "ran")
    [logged] = exits_logged(records, "exit-1")
    assert logged.exc_text is not None
    assert "Traceback" in logged.exc_text
    assert "SystemExit" in logged.exc_text


def test_a_module_that_exits_at_its_top_level_fails_to_load(
    app: cylinder.Application, records: Records
) -> None:
    status, _, data = get(app, "/top", **{"X-Request-ID": "exit-top"})
    assert status == 500
    assert re.fullmatch(
        rb"500 page: HandlerLoadError: cannot load `\S+top\.ex\.get\.py`, line 3: "
        rb"SystemExit: module top level exit",
        data,
    )
    assert exits_logged(records, "exit-top")
    assert get(app, "/")[0] == 200  # the rest of the site serves on


def test_an_exiting_500_handler_leaves_the_plain_500(
    app: cylinder.Application, records: Records
) -> None:
    status, _, data = get(app, "/worse/exit", **{"X-Request-ID": "exit-worse"})
    assert status == 500
    assert b"Internal Server Error" in data
    assert b"SystemExit" not in data
    assert len(exits_logged(records, "exit-worse")) == 2  # the handler's, the 500 handler's


def test_an_exiting_app_map_gets_a_plain_500(app: cylinder.Application, records: Records) -> None:
    status, _, data = get(app, "/", **{"X-Exit": "1", "X-Request-ID": "exit-map"})
    assert status == 500
    assert b"Internal Server Error" in data
    assert exits_logged(records, "exit-map")


def test_a_streamed_body_that_exits_ends_there(app: cylinder.Application, records: Records) -> None:
    status, _, data = get(app, "/stream", **{"X-Request-ID": "exit-stream"})
    assert (status, data) == (200, b"first ")
    [logged] = exits_logged(records, "exit-stream")
    assert "failed while streaming its body" in logged.getMessage()


def test_keyboard_interrupt_is_not_caught(make_app: AppFactory, sites: Path) -> None:
    """Ctrl-C raises it in the main thread, where a single-threaded server calls the app: it
    must stop that server, not become a 500."""
    app = make_app({"webapp1.ex.get.py": "def main(response):\n    raise KeyboardInterrupt\n"})
    with pytest.raises(KeyboardInterrupt):
        get(app, "/")


# --- on real servers ------------------------------------------------------------------------

SERVED_APP = """
import cylinder
from cylinder_runtime.errors import HandlerLoadError

SITE_DIR = {site_dir!r}


def app_map(request):
    return SITE_DIR, "webapp1"


app = cylinder.get_app(app_map)
"""


@pytest.fixture(params=["waitress", "gunicorn"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    with serve_site(request.param, tmp_path / "served", SITE, SERVED_APP) as running:
        yield running


def test_sys_exit_neither_stops_the_server_nor_its_worker(served: Served) -> None:
    status, pid = served.get("/")
    assert status == 200
    for path in ["/exit", "/exit?code=0", "/hook", "/top", "/worse/exit"]:
        status, body = served.get(path, {"X-Request-ID": f"exit{path}"})
        assert status == 500, (path, body)
    status, body = served.get("/stream", {"X-Request-ID": "exit/stream"})
    assert (status, body) == (200, b"first ")
    # the same process answers: no worker exited
    assert served.get("/", {"X-Request-ID": "exit-last"}) == (200, pid)
    assert served.process.poll() is None
    text = served.wait_for_log(" exit-last\n")  # records are written in order: all are there
    # the records in the default format, each from its header line to the next one's
    records = re.split(r"\n(?=(?:INFO|ERROR|WARNING) \d{4}-)", text)
    for request_id in ["exit/exit", "exit/hook", "exit/worse/exit", "exit/stream"]:
        own = [record for record in records if f" {request_id}\n" in record]
        assert any("SystemExit" in record for record in own), (request_id, own)
    if served.kind == "gunicorn":
        booted = re.findall(r"Booting worker with pid: (\d+)", text)
        assert booted == [pid.decode()], text[-3000:]
    assert str(os.getpid()).encode() != pid
