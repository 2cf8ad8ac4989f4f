"""A REST-style users API kept in memory.

Run it with ``python examples/rest_api/cylinder_main.py`` (set ``PORT`` to use another port
than 8000), then::

    curl -i http://127.0.0.1:8000/api/v1/users --json '{"name": "Ada", "lname": "Lovelace"}'
    curl -i http://127.0.0.1:8000/api/v1/users/1

Cylinder routes ``/api/v1/users/1`` to ``users.ex.get.py``, the nearest file; the handler reads
the rest of the path, ``1``, itself. waitress answers requests on several threads at once, so
the users are only read or changed while holding ``users_lock``.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import waitress
from werkzeug.wrappers import Request

import cylinder

SITE_DIR = Path(__file__).resolve().parent / "my_webapps"


@dataclass
class Users:
    """Users by id, and the id the next one gets. Hold ``users_lock`` to read or change it."""

    by_id: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1


users = Users()
users_lock = threading.Lock()


def app_map(request: Request) -> tuple[Path, str, dict[str, Any]]:
    """One site; the store and its lock go to every handler that asks for them."""
    return SITE_DIR, "webapp1", {"users": users, "users_lock": users_lock}


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    app = cylinder.get_app(app_map)
    print(f"Serving rest_api on http://127.0.0.1:{port}/api/v1/users", flush=True)
    waitress.serve(app, host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
