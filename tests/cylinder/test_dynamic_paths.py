"""Spec: "Dynamic paths / dynamic route handling" and "Accessing the remaining path"."""

from __future__ import annotations

from collections.abc import Callable

from werkzeug.test import Client

USERS_GET = """
def main(request, response):
    path = request.path.rstrip("/")
    parts = path.split("/")
    if len(parts) == 4:  # /API/v1/users
        response.data = "list users"
    elif len(parts) == 5:  # /API/v1/users/123
        user_id = parts[4]
        response.data = f"get user {user_id}"
    else:
        response.status_code = 404
        response.data = "not found"
    return response
"""


def test_rest_api_methods_go_to_their_files(
    client_for: Callable[..., Client], answer: Callable[[str], str]
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": answer("root"),
            "webapp1/API/v1.ex.default.py": answer("v1 default"),
            "webapp1/API/v1/users.ex.post.py": answer("create"),
            "webapp1/API/v1/users.ex.get.py": USERS_GET,
            "webapp1/API/v1/users.ex.put.py": answer("update"),
            "webapp1/API/v1/users.ex.delete.py": answer("delete"),
        }
    )
    assert client.post("/API/v1/users").text == "create"
    assert client.get("/API/v1/users").text == "list users"
    assert client.get("/API/v1/users/123").text == "get user 123"
    assert client.get("/API/v1/users/1/2").status_code == 404
    assert client.put("/API/v1/users/123").text == "update"
    assert client.delete("/API/v1/users/123").text == "delete"


def test_head_goes_to_the_nearest_default_not_to_get(
    client_for: Callable[..., Client], answer: Callable[[str], str]
) -> None:
    client = client_for(
        {
            "webapp1/API/v1.ex.default.py": answer("v1 default"),
            "webapp1/API/v1/users.ex.get.py": USERS_GET,
            "webapp1/API/v1.lh.default.py": """
            def main(request, response):
                response.headers["X-Handled-By"] = "v1 default"
                return response
        """,
        }
    )
    head = client.head("/API/v1/users")
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(len("v1 default"))
    assert head.data == b""
    assert client.get("/API/v1/users").text == "list users"


def test_query_string_is_read_normally(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1/API/v1/users.ex.get.py": """
        def main(request, response):
            last_name = request.args.get("lname")
            response.data = f"searching for lname={last_name}"
            return response
    """
        }
    )
    assert client.get("/API/v1/users?lname=Smith").text == "searching for lname=Smith"
