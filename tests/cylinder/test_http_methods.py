"""DECISIONS.md "HTTP methods": 501, 405 + Allow, 404, HEAD as GET, automatic OPTIONS."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from werkzeug.test import Client, create_environ, run_wsgi_app

import cylinder

MARK = """
def main(response, g):
    g.trace = [*getattr(g, "trace", []), {name!r}]
    response.headers["X-Trace"] = ",".join(g.trace)
    return response
"""

PAGE = """
def main(response, g):
    g.trace = [*getattr(g, "trace", []), {name!r}]
    response.headers["X-Trace"] = ",".join(g.trace)
    response.data = {name!r}
    return response
"""


@pytest.mark.parametrize("method", ["M-SEARCH", "GET1", "DEFAULT", "default", "X" * 65])
def test_methods_that_cannot_be_routed_get_501(
    client_for: Callable[..., Client], method: str
) -> None:
    client = client_for({"webapp1.ex.default.py": PAGE.format(name="default")})
    response = client.open("/", method=method)
    assert response.status_code == 501
    assert response.data != b"default"  # the handler never ran


def test_501_goes_through_error_handler_and_default_hooks(
    client_for: Callable[..., Client],
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": PAGE.format(name="get"),
            "webapp1.eh.default.py": MARK.format(name="eh.default"),
            "webapp1.lh.default.py": MARK.format(name="lh.default"),
            "webapp1.501.py": PAGE.format(name="501"),
        }
    )
    response = client.open("/", method="M-SEARCH")
    assert response.status_code == 501
    assert response.text == "501"
    assert response.headers["X-Trace"] == "eh.default,501,lh.default"


def test_405_lists_the_methods_handled_on_the_path(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": PAGE.format(name="root"),
            "webapp1/foo/bar.ex.post.py": PAGE.format(name="post"),
            "webapp1/foo/bar.ex.put.py": PAGE.format(name="put"),
        }
    )
    response = client.delete("/foo/bar")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS, POST, PUT"
    assert client.delete("/other").headers["Allow"] == "GET, HEAD, OPTIONS"


def test_404_when_nothing_handles_any_method(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1/foo/bar.ex.get.py": PAGE.format(name="bar"),
            "webapp1.eh.get.py": MARK.format(name="eh"),
            "webapp1.lh.get.py": MARK.format(name="lh"),
            "webapp1.404.py": PAGE.format(name="404"),
        }
    )
    response = client.get("/nothing/here")
    assert response.status_code == 404
    assert response.text == "404"
    assert response.headers["X-Trace"] == "eh,404,lh"
    assert client.get("/foo/bar/deeper").text == "bar"


def test_head_is_routed_exactly_as_get_without_a_body(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": PAGE.format(name="get"),
            "webapp1.eh.get.py": MARK.format(name="eh.get"),
            "webapp1.lh.get.py": MARK.format(name="lh.get"),
        }
    )
    get = client.get("/")
    head = client.head("/")
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["X-Trace"] == get.headers["X-Trace"] == "eh.get,get,lh.get"
    assert head.headers["Content-Length"] == get.headers["Content-Length"]


def test_head_error_handlers_are_the_gets(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": "def main(abort):\n    abort(410)\n",
            "webapp1.410.py": PAGE.format(name="gone"),
        }
    )
    head = client.head("/")
    assert head.status_code == 410
    assert head.data == b""
    assert head.headers["Content-Length"] == "4"


def test_head_file_wins_over_get_fallback(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": PAGE.format(name="get"),
            "webapp1.ex.head.py": MARK.format(name="head"),
        }
    )
    assert client.head("/").headers["X-Trace"] == "head"


def test_automatic_options_answers_204_with_allow(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": PAGE.format(name="get"),
            "webapp1/api.ex.post.py": PAGE.format(name="post"),
        }
    )
    response = client.options("/api/items")
    assert response.status_code == 204
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert response.data == b""


def test_cors_preflight_runs_options_hooks(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1/api.ex.post.py": PAGE.format(name="post"),
            "webapp1/api.eh.options.py": """
            def main(request, response):
                response.headers["Access-Control-Allow-Origin"] = request.headers["Origin"]
                response.headers["Access-Control-Allow-Methods"] = "POST"
                return response
        """,
            "webapp1/api.lh.default.py": """
            def main(response):
                response.headers["Access-Control-Max-Age"] = "600"
                return response
        """,
        }
    )
    response = client.options("/api", headers={"Origin": "https://app.example"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert response.headers["Access-Control-Allow-Methods"] == "POST"
    assert response.headers["Access-Control-Max-Age"] == "600"


def test_options_file_or_default_takes_over(client_for: Callable[..., Client]) -> None:
    client = client_for({"webapp1.ex.options.py": PAGE.format(name="mine")})
    assert client.options("/").text == "mine"


def test_lower_case_methods_are_not_routed(make_app: Callable[..., cylinder.Application]) -> None:
    app = make_app({"webapp1.ex.get.py": PAGE.format(name="get")})
    environ = create_environ("/")
    environ["REQUEST_METHOD"] = "get"  # the test client would upper-case it; a server does not
    body, status, _ = run_wsgi_app(app, environ, buffered=True)
    assert status == "501 NOT IMPLEMENTED"
    assert b"is not upper-case" in b"".join(body)
    assert app.test_client().open("/", method="GET").text == "get"


def test_options_where_nothing_answers_is_404(client_for: Callable[..., Client]) -> None:
    client = client_for({"webapp1/api.ex.post.py": PAGE.format(name="post")})
    assert client.options("/other").status_code == 404
    assert client.options("/api").status_code == 204


def test_automatic_options_has_no_content_type(client_for: Callable[..., Client]) -> None:
    client = client_for({"webapp1.ex.get.py": PAGE.format(name="get")})
    response = client.options("/")
    assert response.status_code == 204
    assert "Content-Type" not in response.headers
