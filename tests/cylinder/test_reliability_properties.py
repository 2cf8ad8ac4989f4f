"""Issue 8, property-based: the example site, with its own ``app_map`` and hooks, under
generated requests whose headers are hostile: ``Host``, ``Content-Length``,
``Transfer-Encoding``, ``Content-Type``, ``X-Request-ID``, cookies and bodies that disagree.

``test_app_properties.py`` fuzzes paths, methods and conditional headers against a site full
of secrets, and ``tests/cylinder-router/test_properties.py`` the router itself; this adds what
they leave out. Whatever arrives, the app returns (no exception reaches the server), answers
below 500 (501 for a method that can never be routed), never sends Python source or a file from
outside the site, runs the site's security-header hooks on every answer, and logs only
printable request ids of at most 200 characters, and no failure.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import shutil
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from wsgi_support import call_app

import cylinder
from cylinder_router import method_refusal

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "site"
SECRET = f"SECRET-{uuid.uuid4().hex}"
MAIN_MODULE = "reliability_example_main"


class Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass(frozen=True)
class Example:
    app: cylinder.Application
    log: Keep
    style: bytes


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Example]:
    """The example site copied, a secret put in every Python file and beside the site, served
    by its own ``app_map``."""
    root = tmp_path_factory.mktemp("properties") / "site"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
    for secret in (root / "secret.txt", root / "my_webapps" / "secret.txt", root.parent / ".env"):
        secret.write_text(SECRET)
    for source in root.rglob("*.py"):  # the source of every handler, hook and the main module
        source.write_text(f"{source.read_text()}\n# {SECRET}\n")
    spec = importlib.util.spec_from_file_location(MAIN_MODULE, root / "cylinder_main.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    log = Keep()
    app = cylinder.get_app(module.app_map, log_handler=log)
    app.wait_for_logs = True
    try:
        yield Example(app, log, (root / "my_webapps" / "webapp1" / "style.css").read_bytes())
    finally:
        app.close()
        sys.modules.pop(MAIN_MODULE, None)


latin1_text = st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=60)


def header(*known: str) -> st.SearchStrategy[str | None]:
    """Absent, one of ``known``, or any latin-1 text (what a server can put in an environ)."""
    return st.one_of(st.none(), st.sampled_from(known), latin1_text)


HOSTS = (
    "",
    "localhost",
    "localhost:99999999999",
    "evil.example",
    "[::1",
    "[::1]:80",
    "a b",
    "host\x00name",
    "\xff\xfe",
    "x" * 5000,
    "localhost:-1",
    "..",
    "localhost/../../etc",
)
LENGTHS = ("0", "3", "-1", "1e3", "0x10", " 5", "99999999999999999999999", "5, 6", "", "abc")
ENCODINGS = ("chunked", "gzip", "gzip, chunked", "chunked, chunked", "identity", "\x00")
TYPES = (
    "application/json",
    "application/json; charset=latin-1",
    "application/json; charset=nope",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/form-data; boundary=",
    "multipart/form-data; boundary=x",
    "text/plain; charset=utf-8",
)
REQUEST_IDS = ("", " ", "\x1b[31mred", "a\x85b", "\x00" * 10, "id\u2028x", "r" * 1000)
BODIES = (
    b"",
    b'{"name": "Grace"}',
    b'{"name": 1}',
    b"[]",
    b"\xff\xfe\x00",
    b"name=x&name=y",
    b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--\r\n",
    b"5\r\nhello\r\n0\r\n\r\n",
    b"{" * 1000,
)
PATHS = (
    "/",
    "/hello",
    "/hello/x",
    "/style.css",
    "/api",
    "/api/v1/users",
    "/api/v1/users/1",
    "/api/v1/users/x",
    "/api/../hello",
    "/../cylinder_main.py",
    "/../secret.txt",
    "/api/v1/users.ex.get.py",
    "/webapp1.eh.default.py",
    "/nope",
    "//api//v1/./users",
)
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "DEFAULT", "get", "M-SEARCH")


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    method = draw(st.one_of(st.sampled_from(METHODS), latin1_text.filter(bool)))
    path = draw(st.one_of(st.sampled_from(PATHS), latin1_text.map(lambda text: "/" + text)))
    body = draw(st.one_of(st.sampled_from(BODIES), st.binary(max_size=64)))
    builder = EnvironBuilder(path="/", method="GET")
    try:
        environ: dict[str, Any] = builder.get_environ()
    finally:
        builder.close()
    environ["REQUEST_METHOD"] = method
    environ["PATH_INFO"] = path
    environ["QUERY_STRING"] = draw(st.sampled_from(["", "name=Ada", "name=%ff", "name"]))
    environ["wsgi.input"] = io.BytesIO(body)
    if draw(st.booleans()):
        environ["wsgi.input_terminated"] = True  # a server that ends the body itself
    for key, strategy in {
        "HTTP_HOST": header(*HOSTS),
        "SERVER_NAME": header("localhost", ""),
        "CONTENT_LENGTH": header(*LENGTHS, str(len(body))),
        "HTTP_TRANSFER_ENCODING": header(*ENCODINGS),
        "CONTENT_TYPE": header(*TYPES),
        "HTTP_X_REQUEST_ID": header(*REQUEST_IDS),
        "HTTP_COOKIE": header("a=1; a=2", "=; ;=", '"' * 10),
        "HTTP_ORIGIN": header("null", "https://evil.example"),
        "HTTP_RANGE": header("bytes=0-3", "bytes=-1", "bytes=9-0"),
        "HTTP_IF_NONE_MATCH": header("*", '"x"'),
    }.items():
        value = draw(strategy)
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    return environ


def nearest_hook_is_the_apis(path: str) -> bool:
    """Whether ``api.eh.default.py`` is the nearest early hook (else the site's own is)."""
    segments = [part for part in path.split("/") if part not in ("", ".", "..")]
    return segments[:1] == ["api"]


@settings(max_examples=400, deadline=None)
@given(environ=requests())
def test_any_request_to_the_example_site_is_answered_cleanly(
    example: Example, environ: dict[str, Any]
) -> None:
    example.log.records.clear()
    method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]

    status, headers, body = call_app(example.app, environ)

    if status == 501:
        assert method_refusal(method) is not None
    else:
        assert status < 500, [record.getMessage() for record in example.log.records]
    assert SECRET.encode() not in body
    if nearest_hook_is_the_apis(path):
        assert headers.get("Access-Control-Allow-Origin") == "*"
    assert headers.get("X-Content-Type-Options") == "nosniff"  # both early hooks set them
    assert headers.get("Referrer-Policy") == "same-origin"
    if method == "HEAD":
        assert body == b""
    if status == 200 and path == "/style.css" and method == "GET":
        assert body == example.style
    for record in example.log.records:
        request_id = record.request_id
        assert request_id.isprintable(), repr(request_id)
        assert 0 < len(request_id) <= 200, repr(request_id)
        assert record.levelno < logging.ERROR, record.getMessage()
