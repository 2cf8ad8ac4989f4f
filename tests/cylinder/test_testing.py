"""Spec: "Testing" — the fixtures as the guide writes them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.test import Client

import cylinder


@pytest.fixture
def webapp1_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[cylinder.Application]:
    (tmp_path / "my_webapps").mkdir()
    (tmp_path / "my_webapps" / "webapp1.eh.get.py").write_text(
        "def main(response):\n    response.headers['Access-Control-Allow-Origin'] = '*'\n"
        "    return response\n"
    )
    (tmp_path / "my_webapps" / "webapp1.ex.get.py").write_text(
        "def main(response):\n    response.data = 'Hello World!'\n    return response\n"
    )
    monkeypatch.chdir(tmp_path)

    def app_map(request: object) -> tuple[str, str, dict[str, object]]:
        return "my_webapps", "webapp1", {}

    app = cylinder.get_app(app_map, log_handler=__import__("logging").NullHandler())
    app.wait_for_logs = True  # wait for the log queue to drain before returning
    yield app
    app.close()


@pytest.fixture
def webapp1_client(webapp1_app: cylinder.Application) -> Client:
    return webapp1_app.test_client()


def test_root(webapp1_client: Client) -> None:
    response = webapp1_client.get("/")
    assert response.status_code == 200
    assert b"Hello World!" in response.data


def test_cors_header(webapp1_client: Client) -> None:
    response = webapp1_client.get("/")
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_test_client_is_a_werkzeug_client(webapp1_app: cylinder.Application) -> None:
    assert isinstance(webapp1_app.test_client(), Client)
