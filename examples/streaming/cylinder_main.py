"""Streaming both ways: a body sent while it is produced, and an upload read in chunks.

Run it with ``python examples/streaming/cylinder_main.py`` (set ``PORT`` to use another port
than 8000), then::

    curl -N http://127.0.0.1:8000/countdown?from=5
    curl -T some-big-file http://127.0.0.1:8000/upload -H 'Transfer-Encoding: chunked'
"""

from __future__ import annotations

import os
from pathlib import Path

import waitress
from werkzeug.wrappers import Request

import cylinder

SITE_DIR = Path(__file__).resolve().parent / "my_webapps"


def app_map(request: Request) -> tuple[Path, str]:
    """Send every request to the one site, ``my_webapps/webapp1``."""
    return SITE_DIR, "webapp1"


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    app = cylinder.get_app(app_map)
    print(f"Serving streaming on http://127.0.0.1:{port}", flush=True)
    waitress.serve(app, host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
