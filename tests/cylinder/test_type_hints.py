"""Spec: "Type hints and editor support" — annotated handlers work unchanged."""

from __future__ import annotations

from collections.abc import Callable

from werkzeug.test import Client


def test_annotated_request_and_response(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": """
        from werkzeug.wrappers import Request, Response

        def main(request: Request, response: Response):
            response.data = request.path
            return response
    """
        }
    )
    assert client.get("/typed").text == "/typed"


def test_annotated_builtins_with_future_annotations(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": """
        from __future__ import annotations

        import logging
        from dataclasses import dataclass
        from types import SimpleNamespace

        from werkzeug.wrappers import Request, Response

        @dataclass
        class Point:
            x: int

        def main(
            request: Request,
            response: Response,
            log: logging.Logger,
            g: SimpleNamespace,
        ):
            log.info("path: %s", request.path)
            g.value = Point(123)
            response.data = str(g.value.x)
            return response
    """
        }
    )
    assert client.get("/").text == "123"


def test_annotated_error_handlers(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": "def main(abort):\n    abort(403)\n",
            "webapp1.403.py": """
            from werkzeug.exceptions import HTTPException
            from werkzeug.wrappers import Response

            def main(response: Response, e: HTTPException):
                response.data = e.name
                return response
        """,
            "webapp1/boom.ex.get.py": "def main(response):\n    raise ValueError('x')\n",
            "webapp1.500.py": """
            from werkzeug.exceptions import InternalServerError
            from werkzeug.wrappers import Response

            def main(response: Response, e: InternalServerError):
                response.data = type(e).__name__
                return response
        """,
        }
    )
    assert client.get("/").text == "Forbidden"
    assert client.get("/boom").text == "InternalServerError"
