"""Hooks: a CORS early hook on /api and a Content-Security-Policy late hook on every response.

Run it with ``python examples/hooks/cylinder_main.py`` and open http://127.0.0.1:8000 (set
``PORT`` to use another port). ``CORS_ORIGINS`` lists, comma-separated, the origins whose
pages may call the API from a browser.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import waitress
from werkzeug.wrappers import Request

import cylinder

SITE_DIR = Path(__file__).resolve().parent / "my_webapps"

#: Origins allowed to call /api from a browser, read once at start-up.
CORS_ORIGINS = frozenset(
    origin.strip()
    for origin in os.environ.get("CORS_ORIGINS", "http://localhost:3000").split(",")
    if origin.strip()
)


def app_map(request: Request) -> tuple[Path, str, dict[str, Any]]:
    """One site; the allowed origins go to every hook and handler as ``cors_origins``."""
    return SITE_DIR, "webapp1", {"cors_origins": CORS_ORIGINS}


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    app = cylinder.get_app(app_map)
    print(f"Serving hooks on http://127.0.0.1:{port}", flush=True)
    waitress.serve(app, host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
