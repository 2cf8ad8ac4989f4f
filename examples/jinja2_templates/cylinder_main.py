"""Jinja2 templates, handed to the handlers as ``render_template``.

Run it with ``python examples/jinja2_templates/cylinder_main.py`` and open
http://127.0.0.1:8000/?name=Ada (set ``PORT`` to use another port).

The environment is built once, here. Its ``auto_reload`` makes it check each template's
modification time when it is used, so edits to ``templates/`` show up without a restart, as
edits to the handlers do.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jinja2
import waitress
from werkzeug.wrappers import Request

import cylinder

HERE = Path(__file__).resolve().parent
SITE_DIR = HERE / "my_webapps"

templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=jinja2.select_autoescape(default=True),
    auto_reload=True,
)


def render_template(template_name: str, /, **context: Any) -> str:
    """Render ``templates/<template_name>`` with ``context``."""
    return templates.get_template(template_name).render(context)


def app_map(request: Request) -> tuple[Path, str, dict[str, Any]]:
    """One site; every handler may ask for ``render_template``."""
    return SITE_DIR, "webapp1", {"render_template": render_template}


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    app = cylinder.get_app(app_map)
    print(f"Serving jinja2_templates on http://127.0.0.1:{port}", flush=True)
    waitress.serve(app, host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
