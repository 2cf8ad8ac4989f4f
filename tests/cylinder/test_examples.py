"""The runnable projects in examples/, each driven through its own cylinder_main.py.

Every example is imported from its file under a module name of its own, with its folder put on
``sys.path`` for the test (as ``python cylinder_main.py`` would), so that its sibling modules
(``db.py``, ``models.py``) import; those are forgotten again afterwards so no
two tests share them. Databases live in ``tmp_path``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from server_support import free_port
from werkzeug.test import Client, create_environ, run_wsgi_app

import cylinder

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

Loader = Callable[[str], ModuleType]
Starter = Callable[..., Client]


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch) -> Iterator[Loader]:
    """Import ``examples/<name>/cylinder_main.py`` fresh, as its own module."""
    before = set(sys.modules)

    def load_example(name: str) -> ModuleType:
        folder = EXAMPLES / name
        monkeypatch.syspath_prepend(str(folder))
        spec = importlib.util.spec_from_file_location(
            f"examples_{name}_cylinder_main_{len(sys.modules)}", folder / "cylinder_main.py"
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while it runs
        spec.loader.exec_module(module)
        return module

    yield load_example
    for name in set(sys.modules) - before:
        if str(getattr(sys.modules[name], "__file__", "")).startswith(str(EXAMPLES)):
            del sys.modules[name]  # db, models: the next test imports its own


@pytest.fixture
def start(records: Any) -> Iterator[Starter]:
    """Build an app from an ``app_map`` (or take one already built) and return its client.

    Records go to the ``records`` fixture; every app is closed after the test.
    """
    apps: list[cylinder.Application] = []

    def start_app(app_map_or_app: Any, **options: Any) -> Client:
        if isinstance(app_map_or_app, cylinder.Application):
            app = app_map_or_app
        else:
            app = cylinder.get_app(app_map_or_app, log_handler=records, **options)
        app.wait_for_logs = True
        apps.append(app)
        return app.test_client()

    yield start_app
    for app in apps:
        app.close()


def json_of(response: Any) -> Any:
    assert response.content_type == "application/json"
    return json.loads(response.data)


# hello_world


def test_hello_world(load: Loader, start: Starter) -> None:
    client = start(load("hello_world").app_map)
    assert client.get("/").text == "Hello, world!"
    assert client.get("/any/deeper/path").text == "Hello, world!"
    refused = client.post("/")
    assert refused.status_code == 405
    assert refused.headers["Allow"] == "GET, HEAD, OPTIONS"


def test_hello_world_own_tests_pass() -> None:
    """The project ships its own tests, which testing.md quotes: run them as a user would."""
    folder = EXAMPLES / "hello_world"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_hello_world.py"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_hello_world_runs_as_a_program(tmp_path: Path) -> None:
    """``python examples/hello_world/cylinder_main.py``, started from another folder, serves
    on 127.0.0.1 at ``$PORT``."""
    port = free_port()
    script = EXAMPLES / "hello_world" / "cylinder_main.py"
    env = {**os.environ, "PORT": str(port), "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as server:
        try:
            body = _get_when_up(f"http://127.0.0.1:{port}/", server, deadline=time.monotonic() + 20)
            assert body == b"Hello, world!"
        finally:
            server.terminate()
            try:
                output, _ = server.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                output, _ = server.communicate(timeout=10)
    assert f"Serving hello_world on http://127.0.0.1:{port}" in output


def _get_when_up(url: str, server: subprocess.Popen[str], deadline: float) -> bytes:
    while True:
        if server.poll() is not None:
            pytest.fail(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                assert reply.status == 200
                body: bytes = reply.read()
                return body
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# router_only


def _router_only() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "examples_router_only_list_routes", EXAMPLES / "router_only" / "list_routes.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_router_only_lists_the_example_site(capsys: pytest.CaptureFixture[str]) -> None:
    tool = _router_only()
    assert tool.main([str(EXAMPLES / "site" / "my_webapps"), "webapp1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"/ +handler +get +webapp1\.ex\.get\.py", lines[0])
    assert any(re.fullmatch(r"/api +error handler +404 +webapp1/api\.404\.py", x) for x in lines)
    assert any(re.fullmatch(r"/style\.css +static file +get +webapp1/style\.css", x) for x in lines)
    assert not any("not a route" in line for line in lines)


def test_router_only_resolves_a_request(capsys: pytest.CaptureFixture[str]) -> None:
    tool = _router_only()
    site = str(EXAMPLES / "site" / "my_webapps")
    assert tool.main([site, "webapp1", "GET", "/api/v1/users/7"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "GET /api/v1/users/7: handler",
        "  early hook   webapp1/api.eh.default.py",
        "  answered by  webapp1/api/v1/users.ex.get.py",
        "  late hook    -",
        "  allowed      GET, HEAD, OPTIONS, POST",
        "  rest of path 7",
        "  404 handler  webapp1/api.404.py",
        "  500 handler  -",
    ]
    assert tool.main([site, "webapp1", "DELETE", "/hello"]) == 0
    assert capsys.readouterr().out.startswith("DELETE /hello: method not allowed\n")


def test_router_only_names_a_missing_site(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _router_only()
    assert tool.main([str(tmp_path / "nowhere"), "webapp1"]) == 2
    assert capsys.readouterr().err == (
        f"error: site folder `{tmp_path / 'nowhere'}` does not exist\n"
    )
    with pytest.raises(SystemExit):
        tool.main([str(tmp_path), "webapp1", "GET"])  # a method without a path
    assert "give both METHOD and PATH, or neither" in capsys.readouterr().err


# pages_and_methods


def test_pages_and_methods_pages(load: Loader, start: Starter) -> None:
    client = start(load("pages_and_methods").app_map)
    assert "Pages and methods" in client.get("/").text
    assert client.get("/nowhere").status_code == 404  # the root handler refuses deeper paths
    assert "First post" in client.get("/blog").text
    assert "<h1>First post</h1>" in client.get("/blog/first-post").text


def test_pages_and_methods_get_and_post_files(load: Loader, start: Starter) -> None:
    client = start(load("pages_and_methods").app_map)
    assert '<form method="post">' in client.get("/contact").text
    assert client.post("/contact", data={"name": "<Ada>"}).text == (
        "<h1>Thank you, &lt;Ada&gt;!</h1>"
    )
    empty = client.post("/contact", data={"name": " "})
    assert empty.status_code == 400
    assert "The form needs a name." in empty.text
    refused = client.delete("/contact")
    assert refused.status_code == 405
    assert refused.headers["Allow"] == "GET, HEAD, OPTIONS, POST"


def test_pages_and_methods_default_file(load: Loader, start: Starter) -> None:
    client = start(load("pages_and_methods").app_map)
    assert client.get("/echo").text.startswith("Send /echo any method")  # exact beats default
    put = client.put("/echo", data=b"hello")
    assert put.text == "PUT /echo with 5 bytes\n"
    assert put.headers["X-Echo-Method"] == "PUT"
    assert client.patch("/echo").text == "PATCH /echo with 0 bytes\n"
    head = client.head("/echo")
    assert head.headers["X-Echo-Method"] == "HEAD"
    assert head.data == b""


def test_pages_and_methods_custom_method(load: Loader, start: Starter, records: Any) -> None:
    client = start(load("pages_and_methods").app_map)
    purge = client.open("/cache", method="PURGE", environ_base={"REMOTE_ADDR": "192.0.2.5"})
    assert purge.text == "purged\n"
    assert "cache purge asked by 192.0.2.5" in records.messages()
    refused = client.delete("/cache")
    assert refused.status_code == 405
    assert refused.headers["Allow"] == "GET, HEAD, OPTIONS, PURGE"


# hooks

CSP = "default-src 'self'; frame-ancestors 'none'"


def test_hooks_late_hook_has_the_last_word(load: Loader, start: Starter) -> None:
    client = start(load("hooks").app_map)
    for path, status in [("/", 200), ("/style.css", 200), ("/nowhere", 404), ("/api/x", 404)]:
        with client.get(path) as response:  # closing it closes the static file
            assert response.status_code == status, path
            assert response.headers["Content-Security-Policy"] == CSP, path  # "/" set its own
            assert response.headers["X-Content-Type-Options"] == "nosniff", path
    assert re.fullmatch(r"app;dur=[0-9]+\.[0-9]", client.get("/").headers["Server-Timing"])
    api = client.get("/api/time")  # the nearer api.eh.default.py ran instead of the root's
    assert "Server-Timing" not in api.headers
    assert api.headers["Content-Security-Policy"] == CSP  # the one late hook still ran
    with client.get("/style.css") as css:
        assert css.content_type == "text/css; charset=utf-8"
        assert b"font-family" in css.data


def test_hooks_static_file_is_served_with_validators(load: Loader, start: Starter) -> None:
    client = start(load("hooks").app_map)
    with client.get("/style.css") as full:
        body = full.data
        etag = full.headers["ETag"]
        assert full.headers["Last-Modified"]
        assert full.headers["Accept-Ranges"] == "bytes"
    with client.get("/style.css", headers={"If-None-Match": etag}) as unchanged:
        assert unchanged.status_code == 304
        assert unchanged.data == b""
        assert unchanged.headers["Content-Security-Policy"] == CSP  # hooks run for 304s too
    with client.get("/style.css", headers={"Range": "bytes=0-3"}) as part:
        assert part.status_code == 206
        assert part.data == body[:4]
        assert part.headers["Content-Range"] == f"bytes 0-3/{len(body)}"
    with client.post("/style.css") as posted:  # static files answer GET and HEAD only
        assert posted.status_code == 405


def test_hooks_cors_for_allowed_origins_only(load: Loader, start: Starter) -> None:
    client = start(load("hooks").app_map)
    allowed = client.get("/api/time", headers={"Origin": "http://localhost:3000"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert allowed.headers["Vary"] == "Origin"
    assert "utc" in json_of(allowed)
    foreign = client.get("/api/time", headers={"Origin": "https://elsewhere.example"})
    assert foreign.status_code == 200
    assert "Access-Control-Allow-Origin" not in foreign.headers
    assert foreign.headers["Vary"] == "Origin"
    missing = client.get("/api/nowhere", headers={"Origin": "http://localhost:3000"})
    assert missing.status_code == 404
    assert missing.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"  # kept
    page = client.get("/", headers={"Origin": "http://localhost:3000"})
    assert "Access-Control-Allow-Origin" not in page.headers  # the hook covers /api only


def test_hooks_cors_preflight(load: Loader, start: Starter) -> None:
    client = start(load("hooks").app_map)
    preflight = client.options(
        "/api/time",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET"
    assert preflight.headers["Access-Control-Allow-Headers"] == "Content-Type"
    assert preflight.headers["Access-Control-Max-Age"] == "600"
    assert preflight.headers["Content-Security-Policy"] == CSP


def test_hooks_origins_come_from_the_environment(
    load: Loader, start: Starter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    client = start(load("hooks").app_map)
    response = client.get("/api/time", headers={"Origin": "https://b.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://b.example"
    response = client.get("/api/time", headers={"Origin": "http://localhost:3000"})
    assert "Access-Control-Allow-Origin" not in response.headers


# error_handlers


def test_error_handlers_html_site(load: Loader, start: Starter) -> None:
    client = start(load("error_handlers").app_map)
    assert "Error handlers" in client.get("/").text
    missing = client.get("/no<where")
    assert missing.status_code == 404
    assert missing.content_type == "text/html; charset=utf-8"
    assert "There is nothing at <code>/no&lt;where</code>" in missing.text
    broken = client.get("/boom")
    assert broken.status_code == 500
    assert "Sorry, something went wrong" in broken.text
    assert "RuntimeError" not in broken.text


def test_error_handlers_show_tracebacks_when_asked(
    load: Loader, start: Starter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOW_TRACEBACKS", "1")
    client = start(load("error_handlers").app_map)
    broken = client.get("/boom")
    assert broken.status_code == 500
    assert "RuntimeError: the HTML page broke" in broken.text
    assert "boom.ex.get.py" in broken.text


def test_error_handlers_json_api(load: Loader, start: Starter, records: Any) -> None:
    client = start(load("error_handlers").app_map)
    assert json_of(client.get("/api/orders/1")) == {"number": 1, "item": "teapot", "quantity": 2}
    bad = client.get("/api/orders/x")
    assert bad.status_code == 400
    assert json_of(bad) == {
        "error": "bad_request",
        "detail": "The order number must be a whole number, as in /api/orders/1.",
    }
    for path in ["/api/orders/9", "/api/nowhere"]:
        missing = client.get(path)
        assert missing.status_code == 404
        assert json_of(missing) == {"error": "not_found", "path": path}
    broken = client.get("/api/boom")
    assert broken.status_code == 500
    assert json_of(broken) == {"error": "internal"}
    assert "API failure: RuntimeError" in records.messages()
    logged = [r for r in records.records if "RuntimeError: the API broke" in (r.exc_text or "")]
    assert logged, "the exception itself is logged with its traceback"


def test_error_handlers_json_405_keeps_allow(load: Loader, start: Starter) -> None:
    client = start(load("error_handlers").app_map)
    refused = client.delete("/api/orders/1")
    assert refused.status_code == 405
    assert refused.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert json_of(refused) == {
        "error": "method_not_allowed",
        "allowed": ["GET", "HEAD", "OPTIONS"],
    }


# rest_api


def test_rest_api_users(load: Loader, start: Starter) -> None:
    client = start(load("rest_api").app_map)
    assert json_of(client.get("/api/v1/users")) == []
    created = client.post("/api/v1/users", json={"name": "Ada", "lname": "Lovelace"})
    assert created.status_code == 201
    assert created.headers["Location"] == "/api/v1/users/1"
    assert json_of(created) == {"id": 1, "name": "Ada", "lname": "Lovelace"}
    client.post("/api/v1/users", json={"name": "Grace", "lname": "Hopper"})
    client.post("/api/v1/users", json={"name": "Augusta", "lname": "Lovelace"})

    assert json_of(client.get("/api/v1/users/2")) == {"id": 2, "name": "Grace", "lname": "Hopper"}
    assert json_of(client.get("/api/v1/users/2/")) == json_of(client.get("/api/v1/users/2"))
    lovelaces = json_of(client.get("/api/v1/users?lname=Lovelace"))
    assert [user["id"] for user in lovelaces] == [1, 3]
    assert len(json_of(client.get("/api/v1/users"))) == 3

    changed = client.put("/api/v1/users/2", json={"lname": "Murray Hopper"})
    assert json_of(changed) == {"id": 2, "name": "Grace", "lname": "Murray Hopper"}
    assert client.delete("/api/v1/users/2").status_code == 204
    assert client.get("/api/v1/users/2").status_code == 404
    assert client.delete("/api/v1/users/2").status_code == 404
    again = client.post("/api/v1/users", json={"name": "Hedy", "lname": "Lamarr"})
    assert json_of(again)["id"] == 4  # ids are never reused


def test_rest_api_errors_are_json(load: Loader, start: Starter) -> None:
    client = start(load("rest_api").app_map)
    for path in ["/api/v1/users/1", "/api/v1/users/abc", "/api/v1/users/1/2", "/api/v1/users/²"]:
        missing = client.get(path)
        assert missing.status_code == 404, path
        assert json_of(missing)["error"] == "not_found"
    bad = client.post("/api/v1/users", json={"name": "Ada"})
    assert bad.status_code == 400
    assert json_of(bad)["detail"] == 'Send a JSON object with "name" and "lname" strings.'
    client.post("/api/v1/users", json={"name": "Ada", "lname": "Lovelace"})
    assert client.put("/api/v1/users/1", json={"id": 7}).status_code == 400
    assert client.put("/api/v1/users/1", data=b"not json").status_code == 400
    assert client.put("/api/v1/users/5", json={"name": "X"}).status_code == 404


def test_rest_api_head_follows_get(load: Loader, start: Starter) -> None:
    client = start(load("rest_api").app_map)
    head = client.head("/api/v1/users")
    assert head.status_code == 200
    assert head.content_type == "application/json"
    assert head.data == b""


def test_rest_api_concurrent_creations_get_distinct_ids(load: Loader, start: Starter) -> None:
    app_map = load("rest_api").app_map
    clients = [start(app_map) for _ in range(8)]  # one app per thread, sharing the store
    ids: list[int] = []

    def create(client: Client) -> None:
        for n in range(25):
            created = client.post("/api/v1/users", json={"name": f"u{n}", "lname": "T"})
            ids.append(json_of(created)["id"])

    threads = [threading.Thread(target=create, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(ids) == list(range(1, 201))


# jinja2_templates


def test_jinja2_templates(load: Loader, start: Starter) -> None:
    client = start(load("jinja2_templates").app_map)
    home = client.get("/")
    assert home.content_type == "text/html; charset=utf-8"
    assert "<title>Hello · Jinja2 example</title>" in home.text  # from base.html
    assert "<h1>Hello, Developer!</h1>" in home.text
    assert "<h1>Hello, &lt;script&gt;!</h1>" in client.get("/?name=<script>").text
    books = client.get("/books").text
    assert "<cite>The Mythical Man-Month</cite> by Fred Brooks (1975)" in books
    assert books.count("<li>") == 3
    missing = client.get("/nowhere")
    assert missing.status_code == 404
    assert "Nothing lives at <code>/nowhere</code>" in missing.text


# sqlalchemy_sqlite


@pytest.fixture
def notes_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "notes.sqlite"
    monkeypatch.setenv("NOTES_DB", str(path))
    return path


def test_sqlalchemy_sqlite_notes(load: Loader, start: Starter, notes_db: Path) -> None:
    main = load("sqlalchemy_sqlite")
    try:
        assert notes_db == main.db.DB_PATH
        client = start(main.app_map)
        assert json_of(client.get("/notes")) == []
        created = client.post("/notes", json={"text": "  buy milk "})
        assert created.status_code == 201
        assert created.headers["Location"] == "/notes/1"
        assert json_of(created) == {"id": 1, "text": "buy milk"}
        client.post("/notes", json={"text": "call Ada"})
        assert json_of(client.get("/notes")) == [
            {"id": 1, "text": "buy milk"},
            {"id": 2, "text": "call Ada"},
        ]
        assert json_of(client.get("/notes/2")) == {"id": 2, "text": "call Ada"}
        assert client.get("/notes/3").status_code == 404
        assert client.get("/notes/x").status_code == 404
        assert client.post("/notes", json={"text": ""}).status_code == 400
        assert client.post("/notes", data=b"[]").status_code == 400
    finally:
        main.db.engine.dispose()
    assert notes_db.is_file()


def test_sqlalchemy_sqlite_notes_outlive_a_restart(
    load: Loader, start: Starter, notes_db: Path
) -> None:
    first = load("sqlalchemy_sqlite")
    try:
        start(first.app_map).post("/notes", json={"text": "remember me"})
    finally:
        first.db.engine.dispose()
    for name in ["db", "models"]:
        sys.modules.pop(name, None)  # a new process would import them afresh
    second = load("sqlalchemy_sqlite")
    try:
        assert second.db is not first.db
        assert json_of(start(second.app_map).get("/notes")) == [{"id": 1, "text": "remember me"}]
    finally:
        second.db.engine.dispose()


# sqlite_sessions


@pytest.fixture
def sessions_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "sessions.sqlite"
    monkeypatch.setenv("SESSIONS_DB", str(path))
    return path


def _session_cookie(response: Any, name: str = "session") -> str:
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{name}=")]
    return str(cookie)


def test_sqlite_sessions_count_visits(load: Loader, start: Starter, sessions_db: Path) -> None:
    example = load("sqlite_sessions")
    browser = start(example.create_app())
    first = browser.get("/")
    assert "Visit number 1" in first.text
    cookie = _session_cookie(first)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http, for development, unless asked
    second = browser.get("/")
    assert "Visit number 2" in second.text
    assert "Set-Cookie" not in second.headers  # the session exists: its cookie is not re-sent
    assert "Visit number 3" in browser.get("/").text
    other = start(example.create_app())  # another browser, another session
    assert "Visit number 1" in other.get("/").text
    assert sessions_db.is_file()


def test_sqlite_sessions_likes_are_exact_under_parallel_posts(
    load: Loader, start: Starter, sessions_db: Path
) -> None:
    app = load("sqlite_sessions").create_app()
    browser = start(app)
    browser.get("/")
    cookie = browser.get_cookie("session")
    assert cookie is not None
    errors: list[BaseException] = []

    def like() -> None:
        tab = start(app)
        tab.set_cookie("session", cookie.value)
        try:
            for _ in range(25):
                assert tab.post("/like").status_code == 303
        except BaseException as exc:
            errors.append(exc)

    tabs = [threading.Thread(target=like) for _ in range(4)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join(60)
    assert not any(tab.is_alive() for tab in tabs)
    assert not errors, errors
    assert "<p>100 likes</p>" in browser.get("/").text


def test_sqlite_sessions_forget(load: Loader, start: Starter, sessions_db: Path) -> None:
    browser = start(load("sqlite_sessions").create_app())
    browser.get("/")
    browser.get("/")
    old = browser.get_cookie("session")
    assert old is not None
    forgotten = browser.post("/forget")
    assert forgotten.status_code == 303
    assert forgotten.headers["Location"] == "/"
    assert "Max-Age=0" in _session_cookie(forgotten)  # the redirect carries the cookie's end
    assert browser.get_cookie("session") is None
    assert "Visit number 1" in browser.get("/").text
    browser.set_cookie("session", old.value)  # replaying the old cookie opens nothing
    assert "Visit number 1" in browser.get("/").text


def test_sqlite_sessions_refuse_unknown_ids(
    load: Loader, start: Starter, sessions_db: Path
) -> None:
    browser = start(load("sqlite_sessions").create_app())
    for chosen in ["chosen-by-the-client", "A" * 43]:
        browser.set_cookie("session", chosen)
        response = browser.get("/")
        assert "Visit number 1" in response.text
        issued = re.match(r"session=([^;]+);", _session_cookie(response))
        assert issued is not None
        assert issued.group(1) != chosen
        assert len(issued.group(1)) >= 43


def test_sqlite_sessions_outlive_a_restart(load: Loader, start: Starter, sessions_db: Path) -> None:
    browser = start(load("sqlite_sessions").create_app())
    browser.get("/")
    cookie = browser.get_cookie("session")
    assert cookie is not None
    restarted = start(load("sqlite_sessions").create_app())
    restarted.set_cookie("session", cookie.value)
    assert "Visit number 2" in restarted.get("/").text


def test_sqlite_sessions_secure_cookie(
    load: Loader, start: Starter, sessions_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    browser = start(load("sqlite_sessions").create_app())
    cookie = _session_cookie(browser.get("https://localhost/"), "__Host-session")
    assert "Secure" in cookie
    assert "Visit number 2" in browser.get("https://localhost/").text


# login


@pytest.fixture
def login_app(load: Loader, start: Starter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("SESSIONS_DB", str(tmp_path / "login.sqlite"))
    return load("login").create_app()


def _csrf(page: Any) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None, page.text
    return match.group(1)


def _sign_in(browser: Client, password: str = "analytical engine") -> Any:
    token = _csrf(browser.get("/login"))
    return browser.post("/login", data={"csrf_token": token, "user": "ada", "password": password})


def test_login_anonymous_home_creates_no_session(login_app: Any, start: Starter) -> None:
    home = start(login_app).get("/")
    assert '<a href="/login">Sign in</a>' in home.text
    assert "Set-Cookie" not in home.headers


def test_login_rotates_the_id_and_greets_once(login_app: Any, start: Starter) -> None:
    browser = start(login_app)
    token = _csrf(browser.get("/login"))
    before = browser.get_cookie("session")
    assert before is not None  # the form's CSRF token needs a session
    signed_in = browser.post(
        "/login", data={"csrf_token": token, "user": "ada", "password": "analytical engine"}
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["Location"] == "/"
    after = browser.get_cookie("session")
    assert after is not None
    assert after.value != before.value  # a new id at login
    home = browser.get("/")
    assert "Welcome, ada." in home.text
    assert "Signed in as ada." in home.text
    assert "Welcome, ada." not in browser.get("/").text  # a flash is shown once
    attacker = start(login_app)  # knew the id from before the login: it opens nothing
    attacker.set_cookie("session", before.value)
    assert "Signed in" not in attacker.get("/").text


def test_login_refuses_a_wrong_password(login_app: Any, start: Starter) -> None:
    browser = start(login_app)
    refused = _sign_in(browser, "difference engine")
    assert refused.status_code == 303
    assert refused.headers["Location"] == "/login"
    assert "Wrong user name or password." in browser.get("/login").text
    assert "Signed in" not in browser.get("/").text


def test_login_forms_need_the_csrf_token(login_app: Any, start: Starter) -> None:
    browser = start(login_app)
    browser.get("/login")
    forged = browser.post("/login", data={"user": "ada", "password": "analytical engine"})
    assert forged.status_code == 403
    assert "Signed in" not in browser.get("/").text
    _sign_in(browser)
    assert browser.post("/logout").status_code == 403  # no token: still signed in
    assert "Signed in as ada." in browser.get("/").text


def test_logout_destroys_the_session(login_app: Any, start: Starter) -> None:
    browser = start(login_app)
    _sign_in(browser)
    home = browser.get("/")
    signed_in = browser.get_cookie("session")
    assert signed_in is not None
    out = browser.post("/logout", data={"csrf_token": _csrf(home)})
    assert out.status_code == 303
    page = browser.get("/")
    assert "You are signed out." in page.text
    assert "Sign in" in page.text
    replay = start(login_app)  # the signed-in cookie, replayed, opens nothing
    replay.set_cookie("session", signed_in.value)
    assert "Signed in" not in replay.get("/").text


# virtual_hosts


def test_virtual_hosts(load: Loader, start: Starter) -> None:
    client = start(load("virtual_hosts").app_map)

    def get(host: str, path: str) -> Any:
        return client.get(path, headers={"Host": host})

    assert "The blog" in get("blog.localhost", "/").text
    assert "The shop" in get("shop.localhost:8000", "/").text
    assert "The shop" in get("SHOP.localhost", "/").text
    assert "The blog" in get("127.0.0.1:8000", "/").text  # any other name: the blog
    assert get("blog.localhost", "/about").status_code == 200
    assert get("shop.localhost", "/about").status_code == 404
    assert "Your cart" in get("shop.localhost", "/cart").text
    assert get("blog.localhost", "/cart").status_code == 404


# streaming


def test_streaming_countdown(load: Loader, start: Starter, records: Any) -> None:
    client = start(load("streaming").app_map)
    response = client.get("/countdown?from=2", headers={"X-Request-ID": "count-1"}, buffered=False)
    try:
        assert response.is_streamed
        assert "Content-Length" not in response.headers
        assert response.mimetype == "text/plain"
        chunks = response.iter_encoded()
        assert next(chunks) == b"2\n"  # sent before the rest exists
        assert b"".join(chunks) == b"1\n0\nliftoff\n"
    finally:
        response.close()
    (done,) = [r for r in records.records if r.getMessage() == "countdown from 2 done"]
    assert done.request_id == "count-1"  # logged while the body was being sent


def test_streaming_tick_can_come_from_app_map(load: Loader, start: Starter) -> None:
    app_map = load("streaming").app_map
    client = start(lambda request: (*app_map(request), {"tick_seconds": 0}))
    started = time.perf_counter()
    response = client.get("/countdown?from=100", buffered=False)
    try:
        assert len(b"".join(response.iter_encoded()).splitlines()) == 102
    finally:
        response.close()
    assert time.perf_counter() - started < 5  # 101 ticks of 0.1 s would take 10


def test_streaming_countdown_is_bounded(load: Loader, start: Starter) -> None:
    client = start(load("streaming").app_map)
    response = client.get("/countdown?from=-5", buffered=False)
    try:
        assert b"".join(response.iter_encoded()) == b"0\nliftoff\n"
    finally:
        response.close()


class Trickle(io.RawIOBase):
    """An upload of ``total`` bytes that hands out at most 1000 bytes per read."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = min(len(buffer), self.left, 1000)
        buffer[:size] = b"z" * size
        self.left -= size
        self.largest_read = max(self.largest_read, len(buffer))
        return size


def test_streaming_chunked_upload(load: Loader) -> None:
    """A chunked upload has no Content-Length; the server ends the stream, as waitress does."""
    app = cylinder.get_app(load("streaming").app_map, log_handler=logging.NullHandler())
    try:
        body = Trickle(3_000_000)
        environ = create_environ("/upload", method="PUT")
        environ.update(
            {
                "wsgi.input": body,
                "wsgi.input_terminated": True,
                "HTTP_TRANSFER_ENCODING": "chunked",
            }
        )
        environ.pop("CONTENT_LENGTH", None)
        chunks, status, _ = run_wsgi_app(app, environ, buffered=True)
    finally:
        app.close()
    assert status == "200 OK"
    digest = hashlib.sha256(b"z" * 3_000_000).hexdigest()
    assert b"".join(chunks).decode() == f"3000000 bytes, sha256 {digest}\n"
    assert body.largest_read <= 64 * 1024  # read a chunk at a time, never all at once


def test_streaming_upload_with_a_length(load: Loader, start: Starter) -> None:
    client = start(load("streaming").app_map)
    digest = hashlib.sha256(b"hello").hexdigest()
    assert client.put("/upload", data=b"hello").text == f"5 bytes, sha256 {digest}\n"


# abort_extra


def test_abort_extra_507_with_and_without_its_handler(
    load: Loader, start: Starter, monkeypatch: pytest.MonkeyPatch, records: Any
) -> None:
    monkeypatch.setenv("BUCKET_BYTES", "10")
    client = start(load("abort_extra").create_app(log_handler=records))
    assert client.put("/files/a.txt", data=b"12345678").status_code == 201
    assert client.put("/files/a.txt", data=b"1234567890").status_code == 201  # replaces a.txt

    page = client.put("/files/b.txt", data=b"x")
    assert page.status_code == 507
    assert page.content_type == "text/html; charset=utf-8"
    assert "507 Insufficient Storage" in page.text
    assert "There is no room left to store this file." in page.text

    api = client.put("/api/files/b.txt", data=b"x")
    assert api.status_code == 507
    assert json_of(api) == {
        "error": "insufficient_storage",
        "detail": "There is no room left to store this file.",
    }


def test_abort_extra_is_what_makes_abort_507_work(load: Loader, start: Starter) -> None:
    main = load("abort_extra")
    client = start(main.app_map)  # get_app without abort_extra
    main.bucket.capacity = 0
    assert client.put("/files/a.txt", data=b"x").status_code == 500


# deployment


@pytest.fixture
def deployment(
    load: Loader, start: Starter, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], tuple[Client, io.StringIO]]:
    # create_app() sets cylinder.log_formatter, as a project does once; undo that afterwards.
    monkeypatch.setattr(cylinder, "log_formatter", cylinder.log_formatter)
    monkeypatch.setenv("PROXY_HOPS", "1")  # one load balancer in front

    def build() -> tuple[Client, io.StringIO]:
        output = io.StringIO()
        proxied = load("deployment").create_app(log_handler=logging.StreamHandler(output))
        start(proxied.app)  # closed after the test
        return Client(proxied), output

    return build


#: What the application sees of a request that came through the load balancer at 10.0.0.2.
VIA_BALANCER = {"REMOTE_ADDR": "10.0.0.2"}


def test_deployment_behind_a_proxy(deployment: Callable[[], tuple[Client, io.StringIO]]) -> None:
    client, _ = deployment()
    direct = client.get("/", base_url="http://app.internal:8000", environ_base=VIA_BALANCER)
    assert direct.text == "client address: 10.0.0.2\nscheme: http\nhost: app.internal:8000\n"
    forwarded = client.get(
        "/",
        base_url="http://app.internal:8000",
        environ_base=VIA_BALANCER,
        headers={
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "www.example.com",
        },
    )
    assert forwarded.text == "client address: 203.0.113.7\nscheme: https\nhost: www.example.com\n"
    spoofed = client.get(
        "/", environ_base=VIA_BALANCER, headers={"X-Forwarded-For": "10.9.9.9, 203.0.113.7"}
    )
    assert "client address: 203.0.113.7\n" in spoofed.text  # only the balancer's hop is trusted


def test_deployment_trusts_no_proxy_unless_told(
    deployment: Callable[[], tuple[Client, io.StringIO]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROXY_HOPS")
    client, _ = deployment()
    forged = client.get(
        "/",
        base_url="http://app.internal:8000",
        environ_base={"REMOTE_ADDR": "198.51.100.4"},
        headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
    )
    assert forged.text == "client address: 198.51.100.4\nscheme: http\nhost: app.internal:8000\n"


def test_deployment_request_ids_and_log_lines(
    deployment: Callable[[], tuple[Client, io.StringIO]],
) -> None:
    client, output = deployment()
    response = client.get(
        "/",
        environ_base=VIA_BALANCER,
        headers={"X-Request-ID": "lb-1234", "X-Forwarded-For": "203.0.113.7"},
    )
    assert response.headers["X-Request-ID"] == "lb-1234"
    lines = output.getvalue().splitlines()
    assert len(lines) == 2  # the handler's record and the access record, one JSON line each
    handler, access = map(json.loads, lines)
    for entry in (handler, access):
        assert (entry["process"], entry["levelname"], entry["request_id"]) == (
            os.getpid(),
            "INFO",
            "lb-1234",
        )
    assert handler["filename"] == "webapp1.ex.get.py"
    assert handler["message"] == "home page for 203.0.113.7"
    assert re.fullmatch(r"GET / 200 [0-9.]+ms", access["message"])
    assert access["funcName"] == "access"
    # the client's address as ProxyFix found it in X-Forwarded-For, the body's size in bytes
    assert (access["remote_addr"], access["status"]) == ("203.0.113.7", 200)
    assert access["response_size"] == len(response.data)
    generated = client.get("/").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)


def test_deployment_request_id_header_is_configurable(
    deployment: Callable[[], tuple[Client, io.StringIO]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUEST_ID_HEADER", "Cf-Ray")
    client, output = deployment()
    response = client.get("/healthz", headers={"Cf-Ray": "8f1b2c3d4e5f-AMS"})
    assert response.headers["X-Request-ID"] == "8f1b2c3d4e5f-AMS"
    assert '"request_id": "8f1b2c3d4e5f-AMS"' in output.getvalue()


def test_deployment_health_check(deployment: Callable[[], tuple[Client, io.StringIO]]) -> None:
    client, _ = deployment()
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.text == "ok\n"
    assert health.headers["Cache-Control"] == "no-store"
    assert client.get("/nowhere").status_code == 404
