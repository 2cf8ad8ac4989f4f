"""The example site in examples/site, driven through its own app_map."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from werkzeug.test import Client

import cylinder
from cylinder_router import Kind, Site, route_table

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "site"


def _load_main() -> ModuleType:
    spec = importlib.util.spec_from_file_location("example_site_main", EXAMPLE / "cylinder_main.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def client() -> Iterator[Client]:
    main = _load_main()
    app = cylinder.get_app(main.app_map, log_handler=__import__("logging").NullHandler())
    app.wait_for_logs = True
    yield app.test_client()
    app.close()


def test_home_page(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "Hello from Cylinder" in response.text
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_page_is_an_html_404(client: Client) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert "Nothing lives at /nope" in response.text
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_hello_page_escapes_its_input(client: Client) -> None:
    assert "Hello, &lt;b&gt;!" in client.get("/hello?name=<b>").text


def test_static_css(client: Client) -> None:
    response = client.get("/style.css")
    assert response.content_type == "text/css; charset=utf-8"
    assert b"font-family" in response.data


def test_users_api(client: Client) -> None:
    listed = client.get("/api/v1/users")
    assert listed.headers["Access-Control-Allow-Origin"] == "*"
    assert json.loads(listed.data) == [{"id": 1, "name": "Ada"}]
    created = client.post("/api/v1/users", json={"name": "Grace"})
    assert created.status_code == 201
    assert created.headers["Location"] == "/api/v1/users/2"
    assert json.loads(client.get("/api/v1/users/2").data) == {"id": 2, "name": "Grace"}


def test_api_errors_are_json(client: Client) -> None:
    missing = client.get("/api/v1/users/99")
    assert missing.status_code == 404
    assert json.loads(missing.data)["error"] == "not_found"
    bad = client.post("/api/v1/users", json=["no"])
    assert bad.status_code == 400
    assert json.loads(bad.data)["detail"] == 'send a JSON object with a "name" string'
    wrong_method = client.delete("/api/v1/users/1")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "GET, HEAD, OPTIONS, POST"


SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def _every_request() -> list[tuple[str, str]]:
    """(method, path) for every handler and static file of the site, read from its files (so a
    route added later is covered too), plus what Cylinder answers itself: 404, 405, OPTIONS."""
    table = route_table(Site.from_app_map(EXAMPLE / "my_webapps", "webapp1"))
    requests = [
        (row.method.upper() if row.method != "default" else "PATCH", row.prefix)
        for row in table.routes
        if row.kind is Kind.HANDLER and row.method is not None
    ]
    requests += [("GET", row.url) for row in table.static_files]
    assert ("GET", "/api/v1/users") in requests
    assert ("GET", "/style.css") in requests
    prefixes = sorted({path for _, path in requests})
    requests += [("OPTIONS", path) for path in prefixes]
    requests += [("HEAD", path) for path in prefixes]
    requests += [("DELETE", path) for path in prefixes]  # no handler takes DELETE: 405
    requests += [("GET", "/nope"), ("GET", "/api/nope"), ("GET", "/api/v1/users/99")]
    return requests  # POST /api/v1/users is among them, sent with no body: the API's 400


@pytest.mark.parametrize(("method", "path"), _every_request())
def test_security_headers_on_every_response(client: Client, method: str, path: str) -> None:
    """The site's early hook promises these headers to everyone, and the API's nearer early
    hook, which runs instead of it under /api, keeps that promise too."""
    with client.open(path, method=method) as response:
        shown = {name: response.headers.get(name) for name in SECURITY_HEADERS}
    assert shown == SECURITY_HEADERS, f"{method} {path} ({response.status_code})"
