"""Spec: "HTML templates and Jinja2" — a render function passed through app_map."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from werkzeug.test import Client


def test_render_template_extra(client_for: Callable[..., Client], tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "hello.html").write_text("Hello, {{ name }}")
    jinja_env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        auto_reload=True,
        autoescape=jinja2.select_autoescape(),
    )

    def render_template(template_name: str, **context: Any) -> str:
        return jinja_env.get_template(template_name).render(context)

    client = client_for(
        {
            "webapp1.ex.get.py": """
            def main(response, render_template):
                response.data = render_template("hello.html", name="Developer")
                response.content_type = "text/html; charset=utf-8"
                return response
        """
        },
        extras={"render_template": render_template},
    )
    response = client.get("/")
    assert response.text == "Hello, Developer"
    assert response.content_type == "text/html; charset=utf-8"
