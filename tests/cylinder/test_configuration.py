"""Spec: "How configuration and environments are handled"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dotenv
from werkzeug.test import Client

import cylinder


def test_get_app_defaults_match_the_documented_signature() -> None:
    import inspect
    import logging

    parameters = inspect.signature(cylinder.get_app).parameters
    assert list(parameters) == [
        "app_map",
        "log_level",
        "log_handler",
        "request_id_header",
        "log_queue_length",
        "abort_extra",
        "debug",  # issue 13: the debug page; None reads CYLINDER_DEBUG
    ]
    assert parameters["log_level"].default == logging.DEBUG
    assert parameters["log_handler"].default is None
    assert parameters["request_id_header"].default == "X-Request-ID"
    assert parameters["log_queue_length"].default == 1000
    assert parameters["abort_extra"].default is None
    assert parameters["debug"].default is None


def test_virtual_hosts_in_app_map(
    make_app: Callable[..., cylinder.Application], sites: Path, answer: Callable[[str], str]
) -> None:
    def app_map(request: Any) -> Any:
        if request.host == "foo.com":
            return str(sites), "foo", {}
        return str(sites), "bar", {}

    app = make_app(
        {"foo.ex.get.py": answer("foo site"), "bar.ex.get.py": answer("bar site")}, app_map=app_map
    )
    client = app.test_client()
    assert client.get("/", base_url="http://foo.com").text == "foo site"
    assert client.get("/", base_url="http://other.org").text == "bar site"


def test_dotenv_config_passed_through_app_map(
    client_for: Callable[..., Client], tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("GREETING=hello from .env\n")
    config = dotenv.dotenv_values(env_file)
    client = client_for(
        {
            "webapp1.ex.get.py": """
            def main(response, config):
                response.data = config["GREETING"]
                return response
        """
        },
        extras={"config": config},
    )
    assert client.get("/").text == "hello from .env"


def test_cors_header_from_a_root_early_hook_applies_site_wide(
    client_for: Callable[..., Client], answer: Callable[[str], str]
) -> None:
    client = client_for(
        {
            "webapp1.eh.get.py": """
            def main(request, response):
                response.access_control_allow_origin = "*"
                return response
        """,
            "webapp1.ex.get.py": answer("root"),
            "webapp1/API/v2/reports/company/payments.ex.get.py": answer("payments"),
        }
    )
    for path in ("/", "/API/v2/reports/company/payments"):
        assert client.get(path).headers["Access-Control-Allow-Origin"] == "*"
