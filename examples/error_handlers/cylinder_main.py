"""Error handlers: an HTML site whose /api subtree answers errors in JSON, and 500 handlers.

Run it with ``python examples/error_handlers/cylinder_main.py`` and open
http://127.0.0.1:8000 (set ``PORT`` to use another port). With ``SHOW_TRACEBACKS=1`` the HTML
500 page shows the traceback: handy on your machine, never in production.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import waitress
from werkzeug.wrappers import Request

import cylinder

SITE_DIR = Path(__file__).resolve().parent / "my_webapps"

#: Whether the HTML 500 page shows the traceback; read once at start-up.
SHOW_TRACEBACKS = os.environ.get("SHOW_TRACEBACKS") == "1"


def app_map(request: Request) -> tuple[Path, str, dict[str, Any]]:
    """One site; the 500 handler learns from ``show_tracebacks`` how much to say."""
    return SITE_DIR, "webapp1", {"show_tracebacks": SHOW_TRACEBACKS}


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    app = cylinder.get_app(app_map)
    print(f"Serving error_handlers on http://127.0.0.1:{port}", flush=True)
    waitress.serve(app, host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
