"""DECISIONS.md "Pipeline and errors": one response, one error path, nothing escapes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client, create_environ, run_wsgi_app

import cylinder

TRACE = """
def main(response, g):
    g.trace = [*getattr(g, "trace", []), {name!r}]
    response.headers["X-Trace"] = ",".join(g.trace)
    return response
"""

FAIL = """
def main(response, g, abort):
    g.trace = [*getattr(g, "trace", []), {name!r}]
    response.headers["X-Trace"] = ",".join(g.trace)
    {action}
"""

ERROR_HANDLER = """
def main(response, g, e):
    g.trace = [*getattr(g, "trace", []), {name!r}]
    response.headers["X-Trace"] = ",".join(g.trace)
    response.data = {name!r}
    return response
"""


def test_early_hook_abort_skips_handler_but_runs_error_handler_and_late_hook(
    client_for: Callable[..., Client],
) -> None:
    client = client_for(
        {
            "webapp1.eh.get.py": FAIL.format(name="eh", action="abort(401)"),
            "webapp1.ex.get.py": TRACE.format(name="ex"),
            "webapp1.401.py": ERROR_HANDLER.format(name="401"),
            "webapp1.lh.get.py": TRACE.format(name="lh"),
        }
    )
    response = client.get("/")
    assert response.status_code == 401
    assert response.headers["X-Trace"] == "eh,401,lh"


def test_error_in_late_hook_goes_to_its_handler_and_late_hook_runs_once(
    client_for: Callable[..., Client],
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": TRACE.format(name="ex"),
            "webapp1.lh.get.py": FAIL.format(name="lh", action="abort(403)"),
            "webapp1.403.py": ERROR_HANDLER.format(name="403"),
        }
    )
    response = client.get("/")
    assert response.status_code == 403
    assert response.headers["X-Trace"] == "ex,lh,403"


def test_exception_in_late_hook_goes_to_500_handler(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": TRACE.format(name="ex"),
            "webapp1.lh.get.py": FAIL.format(name="lh", action="raise RuntimeError('late')"),
            "webapp1.500.py": ERROR_HANDLER.format(name="500"),
        }
    )
    response = client.get("/")
    assert response.status_code == 500
    assert response.headers["X-Trace"] == "ex,lh,500"


def test_exception_in_error_handler_goes_to_500_handler(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": FAIL.format(name="ex", action="abort(404)"),
            "webapp1.404.py": FAIL.format(name="404", action="raise KeyError('in 404')"),
            "webapp1.500.py": """
            def main(response, e, g):
                response.data = "500 saw " + repr(e.original_exception)
                return response
        """,
            "webapp1.lh.get.py": TRACE.format(name="lh"),
        }
    )
    response = client.get("/")
    assert response.status_code == 500
    assert response.text == "500 saw KeyError('in 404')"
    assert response.headers["X-Trace"] == "ex,404,lh"


def test_exception_in_500_handler_gives_plain_500(
    client_for: Callable[..., Client], records: Any
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": "def main(response):\n    raise ValueError('first')\n",
            "webapp1.500.py": "def main(response):\n    raise ValueError('second')\n",
        }
    )
    response = client.get("/", headers={"X-Request-ID": "r500"})
    assert response.status_code == 500
    assert "Internal Server Error" in response.text
    assert "first" not in response.text
    assert "second" not in response.text
    tracebacks = [r.exc_text or "" for r in records.records if r.levelno == logging.ERROR]
    assert any("ValueError: first" in text for text in tracebacks)
    assert any("ValueError: second" in text for text in tracebacks)
    assert all(r.request_id == "r500" for r in records.records)


def test_exception_in_app_map_gives_plain_500_without_site_files(
    make_app: Callable[..., cylinder.Application], sites: Path, records: Any
) -> None:
    def app_map(request: Any) -> Any:
        raise LookupError("no site for this host")

    app = make_app({"webapp1.500.py": ERROR_HANDLER.format(name="never")}, app_map=app_map)
    response = app.test_client().get("/")
    assert response.status_code == 500
    assert "never" not in response.text
    assert any("no site for this host" in (r.exc_text or "") for r in records.records)


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        ("None", "`app_map` must return (site_dir, site_name)"),
        ("('a',)", "`app_map` must return (site_dir, site_name)"),
        ("(SITES, 'webapp1', [1])", "`app_map` extras must be a mapping"),
        ("(SITES, '../etc')", "`site_name` '../etc' must be a single folder name"),
        ("(SITES + '/missing', 'webapp1')", "does not exist"),
        ("(42, 'webapp1')", "`site_dir` must be a string or path"),
    ],
)
def test_bad_app_map_results_are_a_500_naming_the_problem(
    make_app: Callable[..., cylinder.Application],
    sites: Path,
    records: Any,
    returned: str,
    message: str,
) -> None:
    result = eval(returned, {"SITES": str(sites)})

    app = make_app({"webapp1.ex.get.py": TRACE.format(name="ex")}, app_map=lambda request: result)
    response = app.test_client().get("/")
    assert response.status_code == 500
    assert any(message in (r.exc_text or "") for r in records.records), message


def test_abort_in_app_map_keeps_its_status(
    make_app: Callable[..., cylinder.Application], sites: Path
) -> None:
    def app_map(request: Any, abort: Any, response: Any) -> Any:
        response.headers["X-Policy"] = "kept"
        abort(403)

    app = make_app({}, app_map=app_map)
    response = app.test_client().get("/")
    assert response.status_code == 403
    assert response.headers["X-Policy"] == "kept"


def test_headers_set_before_an_abort_are_kept_body_headers_are_not(
    make_app: Callable[..., cylinder.Application], sites: Path
) -> None:
    def app_map(request: Any, response: Any) -> Any:
        response.set_cookie("session_id", "abc")
        return str(sites), "webapp1", {}

    app = make_app(
        {
            "webapp1.eh.get.py": """
                def main(response):
                    response.headers["Access-Control-Allow-Origin"] = "*"
                    response.headers["X-Frame-Options"] = "DENY"
                    return response
            """,
            "webapp1.ex.get.py": """
                def main(response, abort, request):
                    response.data = "a body that is thrown away"
                    response.content_type = "application/json"
                    response.headers["Content-Language"] = "fr"
                    response.headers["ETag"] = '"abc"'
                    if request.args.get("go"):
                        abort(302, "/elsewhere")
                    abort(409)
            """,
        },
        app_map=app_map,
    )
    client = app.test_client()
    for url, status in (("/", 409), ("/?go=1", 302)):
        response = client.get(url)
        assert response.status_code == status
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "session_id=abc" in response.headers["Set-Cookie"]
        assert response.content_type == "text/html; charset=utf-8"
        assert "Content-Language" not in response.headers
        assert "ETag" not in response.headers
        assert b"thrown away" not in response.data


def test_method_not_allowed_from_405_keeps_allow_through_error_handler(
    client_for: Callable[..., Client],
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": TRACE.format(name="ex"),
            "webapp1.405.py": ERROR_HANDLER.format(name="405"),
        }
    )
    response = client.post("/")
    assert response.status_code == 405
    assert response.text == "405"
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"


def test_unusable_response_becomes_a_plain_500(
    client_for: Callable[..., Client], records: Any
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": """
        def main(response):
            response.headers["X-Bad"] = "line\\r\\nInjected: yes"
            return response
    """
        }
    )
    response = client.get("/")
    assert response.status_code == 500
    assert "Injected" not in response.headers
    assert any(r.levelno == logging.ERROR for r in records.records)


def test_handler_file_removed_after_routing_still_answers(
    client_for: Callable[..., Client], sites: Path, answer: Callable[[str], str]
) -> None:
    client = client_for({"webapp1.ex.get.py": answer("cached")})
    assert client.get("/").text == "cached"
    (sites / "webapp1.ex.get.py").unlink()
    assert client.get("/").status_code == 404


def test_a_response_the_server_refuses_becomes_a_plain_500(
    make_app: Callable[..., cylinder.Application], records: Any
) -> None:
    app = make_app(
        {
            "webapp1.ex.get.py": """
        def main(response):
            response.headers["Connection"] = "close"  # hop-by-hop: PEP 3333 servers refuse it
            return response
    """
        }
    )
    calls: list[tuple[str, bool]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        calls.append((status, exc_info is not None))
        if any(name.lower() == "connection" for name, _ in headers):
            raise AssertionError("Connection is a hop-by-hop header")  # as waitress does
        return lambda data: None

    body = app(create_environ("/"), start_response)
    assert b"Internal Server Error" in b"".join(body)
    assert calls == [("200 OK", False), ("500 INTERNAL SERVER ERROR", True)]
    assert any("could not be answered" in r.getMessage() for r in records.records)


def test_an_exception_while_streaming_ends_the_body_and_is_logged(
    make_app: Callable[..., cylinder.Application], records: Any
) -> None:
    app = make_app(
        {
            "webapp1.ex.get.py": """
        def main(response):
            def body():
                yield b"first "
                raise RuntimeError("mid-stream")
            response.response = body()
            return response
    """
        }
    )
    environ = create_environ("/", headers={"X-Request-ID": "stream-fail"})
    chunks, status, _ = run_wsgi_app(app, environ, buffered=True)
    assert status == "200 OK"
    assert b"".join(chunks) == b"first "
    failures = [r for r in records.records if "failed while streaming" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].request_id == "stream-fail"
    assert "RuntimeError: mid-stream" in (failures[0].exc_text or "")


def test_a_redirect_to_a_target_that_cannot_be_a_header_is_an_ordinary_500(
    client_for: Callable[..., Client],
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": "def main(abort, request):\n    abort(302, request.args['to'])\n",
            "webapp1.500.py": ERROR_HANDLER.format(name="500"),
            "webapp1.lh.get.py": TRACE.format(name="lh"),
        }
    )
    response = client.get("/", query_string={"to": "/x\r\nSet-Cookie: a=b"})
    assert response.status_code == 500
    assert response.text == "500"
    assert "Set-Cookie" not in response.headers
    assert response.headers["X-Trace"] == "500,lh"


def test_a_redirect_from_the_500_handler_is_honoured_however_it_was_reached(
    client_for: Callable[..., Client],
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": "def main(abort, request):\n    abort(404)\n",
            "webapp1/boom.ex.get.py": "def main(response):\n    raise RuntimeError('boom')\n",
            "webapp1.404.py": "def main(response):\n    raise KeyError('404 handler broke')\n",
            "webapp1.500.py": "def main(abort):\n    abort(302, '/maintenance')\n",
        }
    )
    for path in ("/boom", "/missing"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/maintenance"


def test_an_abort_inside_an_error_handler_goes_to_the_500_handler(
    client_for: Callable[..., Client],
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": "def main(abort):\n    abort(404)\n",
            "webapp1.404.py": "def main(abort):\n    abort(410)\n",
            "webapp1.500.py": """
            def main(response, e):
                response.data = "500 saw " + repr(e.original_exception)
                return response
        """,
        }
    )
    response = client.get("/")
    assert response.status_code == 500
    assert response.text.startswith("500 saw <Gone '410: Gone'>")
