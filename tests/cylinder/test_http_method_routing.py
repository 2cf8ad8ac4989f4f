"""Spec: "HTTP method routing" — the method is in the file name; `default` takes the rest."""

from __future__ import annotations

from collections.abc import Callable

from werkzeug.test import Client


def answer(text: str) -> str:
    return f"def main(response):\n    response.data = {text!r}\n    return response\n"


SITE = {
    "webapp1.ex.get.py": answer("root get"),
    "webapp1/foo/bar.ex.get.py": answer("bar get"),
    "webapp1/foo/bar.ex.post.py": answer("bar post"),
    "webapp1/foo/bar.ex.default.py": answer("bar default"),
}


def test_get_and_post_files_answer_their_methods(client_for: Callable[..., Client]) -> None:
    client = client_for(SITE)
    assert client.get("/foo/bar").text == "bar get"
    assert client.post("/foo/bar").text == "bar post"


def test_default_file_answers_every_other_method(client_for: Callable[..., Client]) -> None:
    client = client_for(SITE)
    for method in ("PUT", "DELETE", "PATCH", "HEAD"):
        response = client.open("/foo/bar", method=method)
        assert response.status_code == 200, method
    assert client.put("/foo/bar").text == "bar default"
    assert client.delete("/foo/bar").text == "bar default"


def test_custom_method_has_its_own_file(client_for: Callable[..., Client]) -> None:
    client = client_for({**SITE, "webapp1/foo/bar.ex.move.py": answer("bar move")})
    assert client.open("/foo/bar", method="MOVE").text == "bar move"


def test_root_keeps_answering_get_elsewhere(client_for: Callable[..., Client]) -> None:
    client = client_for(SITE)
    assert client.get("/other").text == "root get"


def test_head_goes_to_default_file_with_no_body(client_for: Callable[..., Client]) -> None:
    client = client_for(SITE)
    response = client.head("/foo/bar")
    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["Content-Length"] == str(len("bar default"))
