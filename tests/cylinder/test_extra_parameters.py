"""Spec: "Extra parameters on main()" and "Choosing names for extra parameters"."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.test import Client

import cylinder


def test_json_module_passed_through_app_map(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": """
            def main(request, response, json):
                response.data = json.dumps(
                    {"message": "hello world", "status": 200, "error": False}
                )
                return response
        """
        },
        extras={"json": json},
    )
    assert json.loads(client.get("/").data) == {
        "message": "hello world",
        "status": 200,
        "error": False,
    }


def test_logger_alias_for_log(
    make_app: Callable[..., cylinder.Application], sites: Path, records: Any
) -> None:
    def app_map(request: Any, log: Any) -> Any:
        return str(sites), "webapp1", {"logger": log}

    app = make_app(
        {
            "webapp1.ex.get.py": """
            def main(response, logger):
                logger.info("via the alias")
                return response
        """
        },
        app_map=app_map,
    )
    app.test_client().get("/")
    assert "via the alias" in records.messages()


def test_extras_reach_hooks_and_error_handlers(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.eh.get.py": """
                def main(response, config):
                    response.headers["X-Early"] = config["name"]
                    return response
            """,
            "webapp1.ex.get.py": "def main(abort):\n    abort(404)\n",
            "webapp1.404.py": """
                def main(response, config, e):
                    response.data = config["name"] + " " + str(e.code)
                    return response
            """,
        },
        extras={"config": {"name": "site-a"}},
    )
    response = client.get("/")
    assert response.status_code == 404
    assert response.text == "site-a 404"
    assert response.headers["X-Early"] == "site-a"


def test_lock_shared_through_app_map(client_for: Callable[..., Client]) -> None:
    lock = threading.Lock()
    client = client_for(
        {
            "webapp1.ex.get.py": """
            def main(request, response, lock):
                with lock:
                    response.data = str(lock.locked())
                return response
        """
        },
        extras={"lock": lock},
    )
    assert client.get("/").text == "True"
    assert not lock.locked()
