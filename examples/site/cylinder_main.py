"""The example site: run it with ``python examples/site/cylinder_main.py``.

It serves ``my_webapps/webapp1`` with waitress on http://127.0.0.1:8000 (``PORT`` changes the
port). Every URL it answers is a file under ``my_webapps``: look there to see how it works.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import waitress
from werkzeug.wrappers import Response

import cylinder

SITES = Path(__file__).resolve().parent / "my_webapps"

#: The users API keeps its data in memory; the lock makes it safe under waitress's threads.
users: dict[int, dict[str, Any]] = {1: {"id": 1, "name": "Ada"}}
users_lock = threading.Lock()

#: The headers every response of the site carries: pages, static files, errors, redirects.
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def security_headers(response: Response) -> None:
    """Put :data:`SECURITY_HEADERS` on ``response``.

    Only the nearest early hook runs, so each of the site's early hooks calls this (it reaches
    them as the ``app_map`` extra ``security_headers``): a hook added deeper in the tree must
    call it too.
    """
    response.headers.update(SECURITY_HEADERS)


def app_map(request: Any) -> tuple[str, str, dict[str, Any]]:
    """Every request goes to one site; the users store and the shared header code are handed
    to the hooks and handlers."""
    extras = {"users": users, "users_lock": users_lock, "security_headers": security_headers}
    return str(SITES), "webapp1", extras


def main() -> None:
    app = cylinder.get_app(app_map)
    port = int(os.environ.get("PORT", "8000"))
    print(f"Serving the example site on http://127.0.0.1:{port}", flush=True)
    waitress.serve(app, host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
