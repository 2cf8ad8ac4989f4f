"""Issue 5, property-based: whatever a client sends (path, method token, request id, conditional
and range headers), the app answers without raising, never with a 5xx, and never with a secret
or a handler's source.

Requests go straight into the WSGI app, built the way a PEP 3333 server builds them: every
environ value is a latin-1 string, so ``PATH_INFO`` holds raw bytes, invalid UTF-8 included.
"""

from __future__ import annotations

import logging
import os
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

TOKEN = uuid.uuid4().hex
HELLO = b"hello, world"


def marker(name: str) -> str:
    return f"SECRET-{name}-{TOKEN}"


def handler(answer: str, name: str) -> str:
    return (
        f"# {marker(name)}\n"
        f"def main(response):\n    response.data = {answer!r}\n    return response\n"
    )


@dataclass(frozen=True)
class SiteUnderTest:
    app: cylinder.Application
    errors: list[logging.LogRecord]
    etag: str
    last_modified: str


class _Errors(logging.Handler):
    def __init__(self, into: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record)


def build_site(root: Path) -> Path:
    """Secrets beside ``site_dir``, beside the site folder, inside it and behind links."""
    site_dir = root / "sites"
    folder = site_dir / "webapp1"
    outside = root / "outside"
    files = {
        root / "secret.txt": marker("beside-site-dir"),
        outside / "secret.txt": marker("in-linked-folder"),
        outside / "page.ex.get.py": handler(marker("outside-answer"), "outside-source"),
        site_dir / "secret.txt": marker("beside-site-folder"),
        site_dir / "webapp1.404.py": handler("missing", "root-404-source"),
        folder / ".env": marker("dotenv"),
        folder / ".git" / "config": marker("git-config"),
        folder / "__pycache__" / "x.cpython-311.pyc": marker("pyc-cache"),
        folder / "helpers.py": f"KEY = {marker('helpers')!r}\n",
        folder / "tool.PY": marker("upper-py"),
        folder / "tool.pyc": marker("pyc"),
        folder / "tool.pyo": marker("pyo"),
        folder / "page.ex.get.py": handler("page", "get-source"),
        folder / "page.ex.post.py": handler("posted", "post-source"),
        folder / "page.eh.default.py": handler("", "hook-source"),
        folder / "public" / "hello.txt": HELLO.decode(),
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    os.symlink(root / "secret.txt", folder / "public" / "out.txt")
    os.symlink(outside, folder / "outdir")
    os.symlink(folder / "page.ex.get.py", folder / "public" / "handler.txt")
    os.symlink(folder / ".env", folder / "public" / "env.txt")
    return site_dir


def call(app: cylinder.Application, environ: dict[str, Any]) -> tuple[int, bytes]:
    """Call the app as a server does: start_response once, the body read out and closed."""
    status, _, data = call_app(app, environ)
    return status, data


def base_environ(method: str = "GET", path: str = "/") -> dict[str, Any]:
    builder = EnvironBuilder(path=path)
    try:
        environ: dict[str, Any] = builder.get_environ()
    finally:
        builder.close()
    environ["REQUEST_METHOD"] = method
    return environ


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteUnderTest]:
    site_dir = build_site(tmp_path_factory.mktemp("properties"))
    errors: list[logging.LogRecord] = []

    def app_map(request: object) -> tuple[str, str]:
        return str(site_dir), "webapp1"

    app = cylinder.get_app(app_map, log_handler=_Errors(errors))
    app.wait_for_logs = True
    try:
        with app.test_client().get("/public/hello.txt") as first:
            etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
        yield SiteUnderTest(app, errors, etag, last_modified)
    finally:
        app.close()


def latin1(data: bytes) -> str:
    return data.decode("latin-1")


# Names that exist on disk, names that escape, and characters that confuse path handling.
PIECES = [
    "",
    ".",
    "..",
    "...",
    "%2e%2e",
    "%2E%2e%2f",
    "%252e%252e",
    "%2f",
    "%5c",
    "..\\..",
    "\\",
    "\x00",
    "\t",
    "secret.txt",
    ".env",
    ".git",
    "config",
    "__pycache__",
    "x.cpython-311.pyc",
    "helpers.py",
    "helpers.PY",
    "tool.PY",
    "tool.pyc",
    "tool.pyo",
    "page",
    "page.ex.get.py",
    "page.ex.get.Py",
    "page.eh.default.py",
    "webapp1",
    "webapp1.404.py",
    "public",
    "hello.txt",
    "out.txt",
    "handler.txt",
    "env.txt",
    "outdir",
    "\uff0e\uff0e",
    "\u2215",
    "\u2024",
    "\u200b.env",
    "a" * 300,
]

segment = st.one_of(
    st.sampled_from(PIECES).map(lambda text: text.encode()),
    st.text(max_size=12).map(lambda text: text.encode()),
    st.binary(max_size=8),
)
separator = st.sampled_from([b"/", b"//", b"/./", b"/../", b"\\", b"/%2e%2e/"])


# Where the secrets are, for paths that aim at them rather than wander.
SECRET_PATHS = [
    b"/secret.txt",
    b"/.env",
    b"/.git/config",
    b"/__pycache__/x.cpython-311.pyc",
    b"/helpers.py",
    b"/tool.PY",
    b"/tool.pyc",
    b"/tool.pyo",
    b"/page.ex.get.py",
    b"/page.eh.default.py",
    b"/public/out.txt",
    b"/public/handler.txt",
    b"/public/env.txt",
    b"/outdir/secret.txt",
    b"/outdir/page",
]


@st.composite
def wandering_paths(draw: st.DrawFn) -> bytes:
    parts = draw(st.lists(segment, max_size=8))
    data = b""
    for part in parts:
        data += draw(separator) + part
    if draw(st.booleans()):
        data += b"/"
    return data


# (prefix, separator, suffix): ways to write a path; the first seven still name the target.
DISGUISES = [
    (b"", b"/", b""),
    (b"/.", b"/", b""),
    (b"", b"//", b""),
    (b"", b"/./", b""),
    (b"/../..", b"/", b""),
    (b"/public/..", b"/../", b""),
    (b"", b"/", b"/../"),
    (b"", b"/", b"/"),
    (b"", b"/", b"/."),
    (b"", b"/", b"\x00"),
    (b"", b"/", b"."),
    (b"", b"/", b"\\"),
    (b"/%2e%2e", b"/", b""),
    (b"", b"/%2e%2e/", b""),
]


@st.composite
def aimed_paths(draw: st.DrawFn) -> bytes:
    """A path at a secret, written plainly or in disguise."""
    target = draw(st.sampled_from(SECRET_PATHS))
    prefix, separator, suffix = draw(st.sampled_from(DISGUISES))
    return prefix + target.replace(b"/", separator) + suffix


@st.composite
def paths(draw: st.DrawFn) -> str:
    """A ``PATH_INFO`` as a server passes it: bytes taken as latin-1."""
    data = draw(st.one_of(aimed_paths(), wandering_paths()))
    return latin1(data if data.startswith(b"/") else b"/" + data)


methods = st.one_of(
    st.just("GET"),
    st.sampled_from(
        [
            *("HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "PROPFIND"),
            *("DEFAULT", "default", "get", "Get", "M-SEARCH", "GET ", "X" * 65),
        ]
    ),
    st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), min_size=1, max_size=70),
)

header_text = st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=80)

DATES = [
    "Thu, 01 Jan 1970 00:00:00 GMT",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Sat, 31 Dec 9999 23:59:59 -2359",
    "Mon, 01 Jan 0001 00:00:00 +2359",
    "Sat, 31 Dec 99999999999999999999 23:59:59 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMT",
    "Sunday, 06-Nov-94 08:49:37 GMT",
    "Sun Nov  6 08:49:37 1994",
    "yesterday",
    "",
]
RANGES = [
    "bytes=0-0",
    "bytes=0-4",
    "bytes=-1",
    "bytes=-0",
    "bytes=5-",
    "bytes=1-0",
    "bytes=999999-",
    "bytes=0-1,3-4",
    "bytes=0-1,0-1",
    "bytes=-1,-2",
    "bytes=0-99999999999999999999999",
    "items=0-1",
    "bytes=abc",
    "bytes=",
    "=",
    "bytes=0-1, 5-",
]


def optional_header(*known: str) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), st.sampled_from(known), header_text)


@st.composite
def requests(draw: st.DrawFn, etag: str, last_modified: str) -> dict[str, Any]:
    environ = base_environ(draw(methods))
    environ["PATH_INFO"] = draw(paths())
    headers = {
        "HTTP_X_REQUEST_ID": optional_header("", " ", "\x1b[31m", "a" * 1000),
        "HTTP_IF_NONE_MATCH": optional_header(etag, "*", f"W/{etag}", f'"x", {etag}', '"'),
        "HTTP_IF_MATCH": optional_header(etag, "*", '"nope"'),
        "HTTP_IF_MODIFIED_SINCE": optional_header(last_modified, *DATES),
        "HTTP_IF_UNMODIFIED_SINCE": optional_header(last_modified, *DATES),
        "HTTP_RANGE": optional_header(*RANGES),
        "HTTP_IF_RANGE": optional_header(etag, last_modified, *DATES),
    }
    for key, strategy in headers.items():
        value = draw(strategy)
        if value is not None:
            environ[key] = value
    return environ


def check(site: SiteUnderTest, environ: dict[str, Any]) -> tuple[int, bytes]:
    status, body = call(site.app, environ)

    method = environ["REQUEST_METHOD"]
    if status == 501:  # DECISIONS.md: a method that is no token of letters, or is DEFAULT
        assert method_refusal(method) is not None
    else:
        assert status < 500, [record.getMessage() for record in site.errors]
    assert TOKEN.encode() not in body
    assert b"def main" not in body
    assert site.errors == []
    if method == "HEAD":
        assert body == b""
    return status, body


@settings(deadline=None, max_examples=200)
@given(data=st.data())
def test_any_request_gets_a_clean_answer_and_no_secret(
    site: SiteUnderTest, data: st.DataObject
) -> None:
    environ = data.draw(requests(site.etag, site.last_modified))
    site.errors.clear()

    check(site, environ)

    status, body = call(site.app, base_environ("GET", "/public/hello.txt"))
    assert (status, body) == (200, HELLO)


@settings(deadline=None, max_examples=150)
@given(data=st.data())
def test_a_secret_in_any_disguise_is_not_found(site: SiteUnderTest, data: st.DataObject) -> None:
    """GET and HEAD aimed at each secret, plainly or in disguise, with any headers: the
    nearest 404 handler answers every one."""
    environ = data.draw(requests(site.etag, site.last_modified))
    environ["REQUEST_METHOD"] = data.draw(st.sampled_from(["GET", "HEAD"]))
    environ["PATH_INFO"] = latin1(data.draw(aimed_paths()))
    site.errors.clear()

    status, body = check(site, environ)

    assert status == 404
    assert body == (b"missing" if environ["REQUEST_METHOD"] == "GET" else b"")


@settings(deadline=None, max_examples=300)
@given(data=st.data())
def test_any_conditional_or_range_request_for_a_file(
    site: SiteUnderTest, data: st.DataObject
) -> None:
    """The headers above, always on a file that is served, so Werkzeug's machinery runs."""
    environ = data.draw(requests(site.etag, site.last_modified))
    environ["REQUEST_METHOD"] = data.draw(st.sampled_from(["GET", "HEAD"]))
    environ["PATH_INFO"] = "/public/hello.txt"
    site.errors.clear()

    status, body = check(site, environ)

    assert status in (200, 206, 304, 412, 416)
    if environ["REQUEST_METHOD"] == "GET" and status == 200:
        assert body == HELLO
    if environ["REQUEST_METHOD"] == "GET" and status == 206:
        assert body
        assert body in HELLO


HUGE_DATE = "Sat, 31 Dec 99999999999999999999 23:59:59 GMT"


@pytest.mark.parametrize(
    "headers",
    [
        {"If-Modified-Since": HUGE_DATE},
        {"Range": "bytes=0-1", "If-Range": HUGE_DATE},
        {"Range": "bytes=0-1,3-4"},
        {"Range": "bytes=100-200,300-400"},
        {"Range": "items=0-1"},
    ],
)
def test_headers_werkzeug_cannot_judge_are_ignored(
    site: SiteUnderTest, headers: dict[str, str]
) -> None:
    """Found by the properties above: Werkzeug's date parser overflows on such a year (a 500),
    and it answers several ranges, or ranges in other units, with 416. HTTP says to ignore all
    of these (RFC 9110, 13.1.3, 13.1.5, 14.2): the whole file is sent."""
    site.errors.clear()
    with site.app.test_client().get("/public/hello.txt", headers=headers) as response:
        assert (response.status_code, response.data) == (200, HELLO)
    assert site.errors == []


def test_a_single_range_is_still_answered(site: SiteUnderTest) -> None:
    client = site.app.test_client()
    headers = {"Range": "bytes=0-4", "If-Range": site.etag}
    with client.get("/public/hello.txt", headers=headers) as response:
        assert (response.status_code, response.data) == (206, b"hello")
    with client.get("/public/hello.txt", headers={"Range": "bytes=50-"}) as response:
        assert response.status_code == 416


def test_a_path_info_that_is_not_latin_1_does_not_escape_the_app(site: SiteUnderTest) -> None:
    """No PEP 3333 server sends this (environ strings are latin-1), but a broken server or
    middleware may; the app still must not raise into the server."""
    environ = base_environ("GET")
    environ["PATH_INFO"] = "/\u2603"

    status, _ = call(site.app, environ)

    assert status == 400
