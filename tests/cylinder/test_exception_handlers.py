"""Spec: "Exception handlers" and "Handling uncaught exceptions"."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from werkzeug.test import Client

JSON_400 = """
import json
import traceback

def main(request, response, e, log):
    tb_str = "".join(traceback.format_exception(e))
    log.error("Got a 400 error: %s", tb_str)
    response.content_type = "application/json; charset=UTF-8"
    response.data = json.dumps({"message": "bad_request", "status": 400, "error": True})
    return response
"""

ABORT_400 = "def main(abort):\n    abort(400)\n"


def test_400_handler_builds_a_json_error(client_for: Callable[..., Client], records: Any) -> None:
    client = client_for({"webapp1.ex.get.py": ABORT_400, "webapp1.400.py": JSON_400})
    response = client.get("/")
    assert response.status_code == 400
    assert response.content_type == "application/json; charset=UTF-8"
    assert json.loads(response.data) == {"message": "bad_request", "status": 400, "error": True}
    assert any(m.startswith("Got a 400 error: ") for m in records.messages())


def test_error_handlers_are_scoped_by_path(
    client_for: Callable[..., Client], answer: Callable[[str], str]
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": ABORT_400,
            "webapp1.400.py": answer("site"),
            "webapp1/foo.400.py": answer("foo"),
            "webapp1/foo/bar.ex.get.py": ABORT_400,
        }
    )
    assert client.get("/").text == "site"
    assert client.get("/other").text == "site"
    assert client.get("/foo/bar").text == "foo"
    assert client.get("/foo").text == "foo"


def test_error_handler_starts_from_werkzeugs_default_response(
    client_for: Callable[..., Client],
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": ABORT_400,
            "webapp1.400.py": """
            def main(response):
                response.headers["X-Status-Seen"] = str(response.status_code)
                return response
        """,
        }
    )
    response = client.get("/")
    assert response.status_code == 400
    assert response.headers["X-Status-Seen"] == "400"
    assert "Bad Request" in response.text


TRACEBACK_500 = """
import traceback

def main(response, e):
    tb_str = "".join(traceback.format_exception(e.original_exception))
    response.content_type = "text/plain; charset=UTF-8"
    response.data = tb_str
    return response
"""


def test_uncaught_exception_goes_to_500_handler_with_original_exception(
    client_for: Callable[..., Client],
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": "def main(response):\n    raise KeyError('missing thing')\n",
            "webapp1.500.py": TRACEBACK_500,
        }
    )
    response = client.get("/")
    assert response.status_code == 500
    assert response.content_type == "text/plain; charset=UTF-8"
    assert "KeyError: 'missing thing'" in response.text
    assert "webapp1.ex.get.py" in response.text


def test_uncaught_exception_without_handler_shows_no_details(
    client_for: Callable[..., Client], records: Any
) -> None:
    client = client_for(
        {"webapp1.ex.get.py": "def main(response):\n    raise KeyError('secret-42')\n"}
    )
    response = client.get("/")
    assert response.status_code == 500
    assert "Internal Server Error" in response.text
    assert "secret-42" not in response.text
    assert "KeyError" not in response.text
    errors = [r for r in records.records if r.levelno == logging.ERROR]
    assert errors
    assert "secret-42" in (errors[0].exc_text or "")


def test_500_handler_is_scoped_by_path_too(
    client_for: Callable[..., Client], answer: Callable[[str], str]
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": "def main(response):\n    raise RuntimeError\n",
            "webapp1.500.py": answer("site"),
            "webapp1/api.500.py": answer("api"),
        }
    )
    assert client.get("/page").text == "site"
    assert client.get("/api/x").text == "api"
