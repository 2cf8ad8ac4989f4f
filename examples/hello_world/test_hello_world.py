"""This project's own tests: run ``python -m pytest`` in this folder."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from cylinder_main import app_map
from werkzeug.test import Client

import cylinder


@pytest.fixture
def client() -> Iterator[Client]:
    app = cylinder.get_app(app_map, log_handler=logging.NullHandler())
    app.wait_for_logs = True  # each request returns once its log records are handled
    yield app.test_client()
    app.close()  # flushes the log queue and stops its thread


def test_home_page_says_hello(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.text == "Hello, world!"


def test_deeper_paths_fall_back_to_the_root_handler(client: Client) -> None:
    assert client.get("/any/path/at/all").text == "Hello, world!"


def test_methods_without_a_file_are_not_allowed(client: Client) -> None:
    response = client.post("/")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
