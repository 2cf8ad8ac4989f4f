"""Spec: "Safeguards" — shallow requests before the handler; the same response object."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

import cylinder

SHOW_500 = """
def main(response, e):
    response.data = type(e.original_exception).__name__ + ": " + str(e.original_exception)
    return response
"""


@pytest.mark.parametrize(
    "read", ["request.data", "request.form", "request.get_json()", "request.stream.read(1)"]
)
def test_early_hook_cannot_read_the_body(client_for: Callable[..., Client], read: str) -> None:
    client = client_for(
        {
            "webapp1.eh.post.py": f"def main(request, response):\n    {read}\n    return response",
            "webapp1.ex.post.py": "def main(response):\n    return response\n",
            "webapp1.500.py": SHOW_500,
        }
    )
    response = client.post("/", json={"a": 1})
    assert response.status_code == 500
    assert "RuntimeError" in response.text
    assert "shallow" in response.text


def test_early_hook_may_read_metadata(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.eh.post.py": """
            def main(request, g, response):
                g.meta = (request.headers["X-A"], request.cookies["c"], request.args["q"],
                          request.method, request.host, request.path)
                return response
        """,
            "webapp1.ex.post.py": """
            def main(request, g, response):
                response.data = repr(g.meta) + " " + request.get_data(as_text=True)
                return response
        """,
        }
    )
    client.set_cookie("c", "cookie")
    response = client.post("/p?q=1", data="body!", headers={"X-A": "h"})
    assert response.text == "('h', 'cookie', '1', 'POST', 'localhost', '/p') body!"


def test_app_map_cannot_read_the_body(
    make_app: Callable[..., cylinder.Application], sites: Path, records: Any
) -> None:
    def app_map(request: Any) -> Any:
        request.get_data()
        return str(sites), "webapp1", {}

    app = make_app(
        {"webapp1.ex.post.py": "def main(response):\n    return response\n"}, app_map=app_map
    )
    response = app.test_client().post("/", data="secret body")
    assert response.status_code == 500
    assert any("shallow" in (r.exc_text or "") for r in records.records)


def test_handler_reads_the_body_after_shallow_stages(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.eh.post.py": "def main(response):\n    return response\n",
            "webapp1.ex.post.py": """
            def main(request, response):
                response.data = str(request.get_json()["n"] * 2)
                return response
        """,
        }
    )
    assert client.post("/", json={"n": 21}).text == "42"


def test_returning_another_response_is_a_value_error(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": """
            from werkzeug.wrappers import Response

            def main(response):
                return Response("Hello World!")
        """,
            "webapp1.500.py": SHOW_500,
        }
    )
    response = client.get("/")
    assert response.status_code == 500
    assert response.text.startswith("ValueError: must return the same response passed in")
    assert "handler `webapp1.ex.get.py`" in response.text


def test_returning_nothing_is_a_value_error_too(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": "def main(response):\n    response.data = 'x'\n",
            "webapp1.500.py": SHOW_500,
        }
    )
    response = client.get("/")
    assert response.status_code == 500
    assert "must return the same response passed in" in response.text


@pytest.mark.parametrize("kind", ["eh", "lh"])
def test_hooks_must_return_the_same_response(client_for: Callable[..., Client], kind: str) -> None:
    client = client_for(
        {
            f"webapp1.{kind}.get.py": "def main(response):\n    return None\n",
            "webapp1.ex.get.py": "def main(response):\n    return response\n",
            "webapp1.500.py": SHOW_500,
        }
    )
    response = client.get("/")
    assert response.status_code == 500
    assert "must return the same response passed in" in response.text
