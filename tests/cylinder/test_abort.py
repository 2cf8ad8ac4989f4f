"""Spec: "Raising abort() exceptions", "abort_extra", "abort() Redirects"."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.test import Client

import cylinder


class InsufficientStorage(HTTPException):
    code = 507
    name = "Insufficient Storage"
    description = "The server has insufficient storage to complete the request"


def test_abort_gives_werkzeugs_default_page(client_for: Callable[..., Client]) -> None:
    client = client_for({"webapp1.ex.get.py": "def main(request, abort):\n    abort(400)\n"})
    response = client.get("/")
    assert response.status_code == 400
    assert "Bad Request" in response.text
    assert "The browser (or proxy) sent a request that this server could not understand." in (
        response.text
    )


def test_abort_with_description(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": """
        def main(request, abort):
            abort(400, "Something went wrong")
    """
        }
    )
    response = client.get("/")
    assert response.status_code == 400
    assert "Bad Request" in response.text
    assert "Something went wrong" in response.text


def test_abort_extra_without_handler_uses_the_exceptions_own_page(
    client_for: Callable[..., Client],
) -> None:
    client = client_for(
        {"webapp1.ex.get.py": "def main(abort):\n    abort(507)\n"},
        abort_extra={507: InsufficientStorage},
    )
    response = client.get("/")
    assert response.status_code == 507
    assert "Insufficient Storage" in response.text
    assert "The server has insufficient storage to complete the request" in response.text


def test_abort_extra_routes_to_its_error_handler_file(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": "def main(abort):\n    abort(507)\n",
            "webapp1.507.py": """
                def main(response, e):
                    response.data = f"custom {e.code} {e.name}"
                    return response
            """,
        },
        abort_extra={507: InsufficientStorage},
    )
    response = client.get("/")
    assert response.status_code == 507
    assert response.text == "custom 507 Insufficient Storage"


def test_abort_extra_is_checked_at_get_app() -> None:
    with pytest.raises(TypeError, match=r"`abort_extra\[507\]` must be a subclass"):
        cylinder.get_app(lambda request: ("x", "y"), abort_extra={507: ValueError})  # type: ignore[dict-item]


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirect_codes(client_for: Callable[..., Client], code: int) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": f"""
        def main(request, abort):
            if not request.cookies.get("session_id"):
                abort({code}, "/login")
    """
        }
    )
    response = client.get("/")
    assert response.status_code == code
    assert response.headers["Location"] == "/login"


def test_redirect_skips_error_handler_files(
    client_for: Callable[..., Client], answer: Callable[[str], str]
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": "def main(abort):\n    abort(302, '/login')\n",
            "webapp1.302.py": answer("never"),
        }
    )
    response = client.get("/")
    assert response.status_code == 302
    assert b"never" not in response.data


def test_late_hook_runs_on_redirects(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": "def main(abort):\n    abort(302, '/login')\n",
            "webapp1.lh.get.py": """
            def main(response):
                response.headers["X-Late"] = "ran"
                return response
        """,
        }
    )
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["X-Late"] == "ran"


def test_redirect_from_late_hook_does_not_rerun_it(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": "def main(response):\n    return response\n",
            "webapp1.lh.get.py": """
            def main(response, abort, g):
                g.runs = getattr(g, "runs", 0) + 1
                response.headers["X-Late-Runs"] = str(g.runs)
                abort(303, "/elsewhere")
        """,
        }
    )
    response = client.get("/")
    assert response.status_code == 303
    assert response.headers["Location"] == "/elsewhere"
    assert response.headers["X-Late-Runs"] == "1"


def test_redirect_without_target_is_a_500_naming_the_mistake(
    client_for: Callable[..., Client],
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": "def main(abort):\n    abort(302)\n",
            "webapp1.500.py": """
            def main(response, e):
                response.data = str(e.original_exception)
                return response
        """,
        }
    )
    response = client.get("/")
    assert response.status_code == 500
    assert "abort(302) needs the redirect target" in response.text
