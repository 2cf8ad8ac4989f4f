"""Spec: "The request and response objects"."""

from __future__ import annotations

from collections.abc import Callable

from werkzeug.test import Client


def test_response_fields_set_by_handler_are_sent(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": """
        def main(response):
            response.data = '{"ok": true}'
            response.status_code = 201
            response.headers["X-Custom"] = "yes"
            response.content_type = "application/json"
            return response
    """
        }
    )
    response = client.get("/")
    assert response.status_code == 201
    assert response.headers["X-Custom"] == "yes"
    assert response.content_type == "application/json"
    assert response.json == {"ok": True}


def test_request_is_the_werkzeug_request(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": """
        def main(request, response):
            response.data = f"Hello {request.user_agent}! {request.args['q']}"
            return response
    """
        }
    )
    response = client.get("/?q=1", headers={"User-Agent": "Mozilla/5.0 (test)"})
    assert response.text == "Hello Mozilla/5.0 (test)! 1"


def test_parameter_order_does_not_matter(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": """
        def main(response, request):
            response.data = request.path
            return response
    """
        }
    )
    assert client.get("/a/b").text == "/a/b"


def test_response_starts_empty_and_200(client_for: Callable[..., Client]) -> None:
    client = client_for({"webapp1.ex.get.py": "def main(response):\n    return response\n"})
    response = client.get("/")
    assert response.status_code == 200
    assert response.data == b""
