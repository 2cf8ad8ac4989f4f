"""Issue 12: request text cannot forge log lines.

The request path, method and ``Host`` header carry attempts to write a fake record (``\\r\\n``
then a whole line that looks like a CRITICAL one), clear the operator's terminal (``ESC [2J``)
or retitle it (``ESC ]0;...BEL``). Sent in-process and as raw bytes to waitress, they reach the
access record, the record of a failing handler and the text of Cylinder's own exceptions; the
log output, as the default formatter writes it, holds no raw control character and no forged
line, and still shows what was sent, escaped.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import AppFactory
from server_support import serve_site
from werkzeug.test import EnvironBuilder
from wsgi_support import call_app

import cylinder
from cylinder_logging.escaping import ESCAPED_CHARACTERS

FORGED_LINE = "2026-12-01 12:00:00.000000+00:00 CRITICAL [admin] POST /admin/delete-all 200 0.1ms"
#: Paths as a client writes them in the request line (percent-encoded).
FORGED_PATHS = [
    "/inj%0d%0a" + FORGED_LINE.replace(" ", "%20") + "%0a%1b[2J",
    "/%1b]0;TITLE%07",
    "/x%c2%9b2J%e2%80%a8CRITICAL%e2%80%a9%09%7f%00",
]
#: Every character that must never reach the output raw: all that are escaped but the line
#: feed, which the output's own line breaks are made of.
RAW_CONTROLS = re.compile(f"[{ESCAPED_CHARACTERS}]".replace("\x00-\x1f", "\x00-\x09\x0b-\x1f"))

SITE = {
    # the root handler answers every path; /fail... raises, so its path is logged as failed
    "webapp1.ex.get.py": """
        def main(request, response):
            if request.path.startswith("/fail"):
                raise RuntimeError("handler fault")
            response.data = "ok"
            return response
    """,
    "webapp1.ex.default.py": """
        def main(response):
            response.data = "any method"
            return response
    """,
}


@pytest.fixture
def output() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def app(make_app: AppFactory, output: io.StringIO) -> cylinder.Application:
    handler = logging.StreamHandler(output)
    return make_app(SITE, log_handler=handler)


def assert_unforged(text: str, records: int | None = None) -> None:
    """``text``, a log output in the default format, has no raw control character but its line
    breaks, and every line is a record's header, its message (indented), a traceback line or the
    blank line after a record: no line was forged."""
    raw = [line for line in text.splitlines() if RAW_CONTROLS.search(line)]
    assert not raw
    header = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) \d{4}-\d\d-\d\d ")
    for line in text.splitlines():
        assert not line.startswith(("2026-12-01", "CRITICAL")), f"forged line: {line!r}"
        assert (
            header.match(line)
            or line.startswith((" ", "Traceback", "RuntimeError", "cylinder_runtime."))
            or line == ""
        ), f"unexpected line: {line!r}"
    if records is not None:
        assert len([line for line in text.splitlines() if header.match(line)]) == records


def test_a_forged_path_stays_in_its_access_record(
    app: cylinder.Application, output: io.StringIO
) -> None:
    client = app.test_client()
    for path in FORGED_PATHS:
        assert client.get(path).status_code == 200
    text = output.getvalue()
    assert_unforged(text, records=len(FORGED_PATHS))
    assert f"GET /inj\\r\\n{FORGED_LINE}\\n\\x1b[2J 200 " in text
    assert "GET /\\x1b]0;TITLE\\x07 200 " in text
    assert "GET /x\\x9b2J\\u2028CRITICAL\\u2029\\t\\x7f\\x00 200 " in text


def test_a_forged_path_stays_in_the_record_of_a_failed_request(
    app: cylinder.Application, output: io.StringIO
) -> None:
    path = "/fail%0d%0a" + FORGED_LINE.replace(" ", "%20") + "%1b[2J"
    assert app.test_client().get(path).status_code == 500
    text = output.getvalue()
    assert_unforged(text, records=2)  # the failure, with its traceback, and the access record
    assert f"GET /fail\\r\\n{FORGED_LINE}\\x1b[2J failed" in text
    assert "RuntimeError: handler fault" in text  # the traceback keeps its lines


def test_a_forged_method_stays_in_its_records(
    app: cylinder.Application, output: io.StringIO
) -> None:
    method = "GET\r\nCRITICAL\x1b[2J"
    environ = EnvironBuilder(path="/", method="GET").get_environ()
    environ["REQUEST_METHOD"] = method
    status, _, _ = call_app(app, environ)
    assert status == 501  # not a token: never routed
    environ["REQUEST_METHOD"] = "POST\x1b]0;TITLE\x07"
    assert call_app(app, environ)[0] == 501
    text = output.getvalue()
    assert_unforged(text, records=2)
    assert "GET\\r\\nCRITICAL\\x1b[2J / 501 " in text
    assert "POST\\x1b]0;TITLE\\x07 / 501 " in text


def test_a_path_that_cannot_be_decoded_is_logged_escaped(
    app: cylinder.Application, output: io.StringIO
) -> None:
    """A PATH_INFO that is not latin-1 (a server breaking PEP 3333) is a 400, logged with the
    path it had."""
    environ = EnvironBuilder(path="/").get_environ()
    environ["PATH_INFO"] = "/\u2028\u65e5\r\nCRITICAL x"
    assert call_app(app, environ)[0] == 400
    text = output.getvalue()
    assert_unforged(text)
    assert "GET /\\u2028\u65e5\\r\\nCRITICAL x is not a usable request" in text


def test_a_forged_host_stays_in_cylinders_own_exception_text(
    make_app: AppFactory, sites: Path, output: io.StringIO
) -> None:
    """The site is chosen by the ``Host`` header as sent (``request.host`` would be empty:
    Werkzeug refuses such a host); its root handler asks for a parameter nobody provides, so
    the exception names the handler's file, site name (the host) included."""
    host = "evil\r\nCRITICAL [admin] forged\x1b[2J"
    (sites / host).mkdir()
    handler = "def main(response, missing):\n    return response\n"
    (sites / host / "page.ex.get.py").write_text(handler)

    def app_map(request: Any) -> tuple[str, str]:
        return str(sites), request.headers["Host"]

    app = make_app(app_map=app_map, log_handler=logging.StreamHandler(output))
    environ = EnvironBuilder(path="/page").get_environ()
    environ["HTTP_HOST"] = host
    assert call_app(app, environ)[0] == 500
    text = output.getvalue()
    assert_unforged(text, records=2)
    assert "handler `evil\\r\\nCRITICAL [admin] forged\\x1b[2J/page.ex.get.py` asks for" in text


# --- over waitress, as raw bytes ------------------------------------------------------------


SERVED_APP = """
import logging
import sys

import cylinder

SITE_DIR = {site_dir!r}


def app_map(request):
    return SITE_DIR, "webapp1"


app = cylinder.get_app(app_map, log_level=logging.INFO)
# waitress's own warning when all its threads are busy (a loaded machine) is not Cylinder's
logging.getLogger("waitress.queue").setLevel(logging.ERROR)
"""


@pytest.fixture
def waitress_site(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    with serve_site("waitress", tmp_path / "served", SITE, SERVED_APP) as served:
        yield served


def test_forged_request_lines_over_waitress(waitress_site: Any) -> None:
    """Raw bytes on a socket: the forged paths (percent-encoded, as a client must send them),
    a method with an escape and a ``Host`` header with one."""
    served = waitress_site
    failing = "/fail%0d%0a" + FORGED_LINE.replace(" ", "%20") + "%1b[2J"
    for path in [*FORGED_PATHS, failing]:
        answer = served.send_raw(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 500" if path == failing else b"HTTP/1.1 200"), answer
    # waitress itself refuses a method or a Host header with a control character (in-process
    # tests above send those to Cylinder): the answer is its own, and Cylinder logs nothing
    for method in [b"G\x1b[2JET", b"GET\x9b2J", b"GET\x7f"]:
        answer = served.send_raw(method + b" /method HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answer.startswith(b"HTTP/1.0 400")
        assert b"generated by waitress" in answer
    answer = served.send_raw(b"GET /host HTTP/1.1\r\nHost: x\x1b]0;TITLE\x07\x9b\r\n\r\n")
    assert answer.startswith(b"HTTP/1.0 400")
    assert b"generated by waitress" in answer
    served.get("/last")  # records are written in order: once this one is, all are
    text = served.wait_for_log("GET /last 200 ")
    assert_unforged(text)
    assert f"GET /inj\\r\\n{FORGED_LINE}\\n\\x1b[2J 200 " in text
    assert "GET /\\x1b]0;TITLE\\x07 200 " in text
    assert "GET /x\\x9b2J\\u2028CRITICAL\\u2029\\t\\x7f\\x00 200 " in text
    assert f"GET /fail\\r\\n{FORGED_LINE}\\x1b[2J failed" in text
    assert " /method " not in text
    assert " /host " not in text
