"""Issue 5, "a site that cannot be tricked": hostile requests against a site with secrets
beside it, inside it and behind links, sent straight into the WSGI app as a server passes them.

Each request line is given as a client sends it on the wire; ``PATH_INFO`` is made from it the
way PEP 3333 servers make it (waitress, gunicorn): percent-decoded once, bytes taken as latin-1,
so invalid UTF-8 arrives as latin-1 characters and ``%252e`` arrives as ``%2e``.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest
from werkzeug.test import EnvironBuilder
from wsgi_support import call_app

import cylinder

# A marker per secret, unique to this run, so no request text can ever contain one by chance.
TOKEN = uuid.uuid4().hex


def marker(name: str) -> str:
    return f"SECRET-{name}-{TOKEN}"


def handler(answer: str, name: str) -> str:
    return (
        f"# {marker(name)}\n"
        f"def main(response):\n    response.data = {answer!r}\n    return response\n"
    )


MISSING = "missing"
HELLO = "hello, world"
PAGE = "page"
POSTED = "posted"


@dataclass(frozen=True)
class Hostile:
    """The site under attack and every text that must never be sent."""

    app: cylinder.Application
    markers: tuple[str, ...]
    errors: list[logging.LogRecord]


class _Errors(logging.Handler):
    def __init__(self, into: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record)


def build_site(root: Path) -> tuple[Path, tuple[str, ...]]:
    """Write the site under ``root``: returns ``site_dir`` and the markers of every secret."""
    site_dir = root / "sites"
    folder = site_dir / "webapp1"
    outside = root / "outside"
    files = {
        root / "secret.txt": marker("beside-site-dir"),
        outside / "secret.txt": marker("in-linked-folder"),
        outside / "page.ex.get.py": handler(marker("outside-handler-answer"), "outside-handler"),
        outside / "webapp1.404.py": handler(marker("outside-404-answer"), "outside-404"),
        site_dir / "secret.txt": marker("beside-site-folder"),
        site_dir / "webapp1.404.py": handler(MISSING, "root-404-source"),
        folder / ".env": f"TOKEN={marker('dotenv')}\n",
        folder / ".git" / "config": f"[core]\n# {marker('git-config')}\n",
        folder / "__pycache__" / "x.cpython-311.pyc": marker("pyc-cache"),
        folder / "helpers.py": f"API_KEY = {marker('helpers')!r}\n",
        folder / "tool.PY": marker("upper-py"),
        folder / "tool.Py": marker("mixed-py"),
        folder / "tool.pyc": marker("pyc"),
        folder / "tool.pyo": marker("pyo"),
        folder / "page.ex.get.py": handler(PAGE, "get-handler-source"),
        folder / "page.ex.post.py": handler(POSTED, "post-handler-source"),
        folder / "public" / "hello.txt": HELLO,
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    os.symlink(root / "secret.txt", folder / "public" / "out.txt")
    os.symlink(outside, folder / "outdir")
    os.symlink(folder / "page.ex.get.py", folder / "public" / "handler.txt")
    os.symlink(folder / ".env", folder / "public" / "env.txt")
    os.symlink(folder / ".git", folder / "public" / "git")
    return site_dir, tuple(sorted(set(_all_markers(files.values()))))


def _all_markers(texts: Iterable[str]) -> Iterator[str]:
    """Every ``SECRET-...-TOKEN`` marker inside ``texts``."""
    for text in texts:
        start = text.find("SECRET-")
        while start != -1:
            end = text.index(TOKEN, start) + len(TOKEN)
            yield text[start:end]
            start = text.find("SECRET-", end)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    site_dir, markers = build_site(tmp_path_factory.mktemp("hostile"))
    errors: list[logging.LogRecord] = []

    def app_map(request: object) -> tuple[str, str]:
        return str(site_dir), "webapp1"

    app = cylinder.get_app(app_map, log_handler=_Errors(errors))
    app.wait_for_logs = True
    try:
        yield Hostile(app, markers, errors)
    finally:
        app.close()


def path_info(wire: str) -> str:
    """``PATH_INFO`` for a request target as sent: percent-decoded once, bytes as latin-1."""
    return unquote_to_bytes(wire).decode("latin-1")


def send(app: cylinder.Application, method: str, wire: str) -> tuple[int, dict[str, str], bytes]:
    """Call the WSGI app as a server would; return status code, headers and the whole body."""
    builder = EnvironBuilder(method=method)
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    environ["PATH_INFO"] = path_info(wire)
    environ["REQUEST_URI"] = environ["RAW_URI"] = wire.encode().decode("latin-1")
    return call_app(app, environ)


DEEP_UP = "/.." * 1000 + "/secret.txt"

# (request target as sent on the wire, what a GET gets: the 404 handler, a handler or a file)
HOSTILE_PATHS = [
    # `..` in every position, plain and percent-encoded (single: the server decodes it)
    pytest.param("/../secret.txt", MISSING),
    pytest.param("/../../secret.txt", MISSING),
    pytest.param("/public/../../secret.txt", MISSING),
    pytest.param("/public/../../../../../../secret.txt", MISSING),
    pytest.param("/public/hello.txt/../../secret.txt", MISSING),
    pytest.param("/..", MISSING),
    pytest.param("/../webapp1.404.py", MISSING),
    pytest.param("/%2e%2e/secret.txt", MISSING),
    pytest.param("/%2E%2E/%2e%2E/secret.txt", MISSING),
    pytest.param("/%2e%2e%2fsecret.txt", MISSING),
    pytest.param("/..%2f..%2fsecret.txt", MISSING),
    pytest.param("/.%2e/.%2e/secret.txt", MISSING),
    # double-encoded: the server leaves `%2e` and `%2f` for the app, which must not decode again
    pytest.param("/%252e%252e/secret.txt", MISSING),
    pytest.param("/%252e%252e%252fsecret.txt", MISSING),
    pytest.param("/..%252f..%252fsecret.txt", MISSING),
    pytest.param("/%252e%252e%255csecret.txt", MISSING),
    # backslashes, raw and encoded
    pytest.param("/..\\secret.txt", MISSING),
    pytest.param("/..%5c..%5csecret.txt", MISSING),
    pytest.param("/public\\..\\..\\secret.txt", MISSING),
    pytest.param("/public%5chello.txt", MISSING),
    # NUL bytes and other control characters
    pytest.param("/public/hello.txt%00", MISSING),
    pytest.param("/helpers.py%00.txt", MISSING),
    pytest.param("/public/hello.txt%00.py", MISSING),
    pytest.param("/%00/../secret.txt", MISSING),
    pytest.param("/.env%0a", MISSING),
    # overlong paths
    pytest.param("/" + "a" * 10_000, MISSING, id="10k-char-segment"),
    pytest.param("/a" * 1000, MISSING, id="1k-segments"),
    pytest.param(DEEP_UP, MISSING, id="1k-dotdot-then-secret"),
    pytest.param("/public" + "/." * 1000 + "/hello.txt", HELLO, id="1k-dot-segments"),
    pytest.param("/page/" + "x" * 10_000, PAGE, id="10k-below-a-handler"),
    # invalid UTF-8, overlong UTF-8 encodings of `.` and `/`, a lone surrogate
    pytest.param("/%ff%fe/secret.txt", MISSING),
    pytest.param("/%c0%ae%c0%ae/secret.txt", MISSING),
    pytest.param("/%e0%80%ae%e0%80%ae/%e0%80%aesecret.txt", MISSING),
    pytest.param("/public/%c0%af..%c0%af..%c0%afsecret.txt", MISSING),
    pytest.param("/%ed%a0%80/.env", MISSING),
    pytest.param("/public/hello.txt%ff", MISSING),
    # dotfiles and what they hold
    pytest.param("/.env", MISSING),
    pytest.param("/.ENV", MISSING),
    pytest.param("/%2eenv", MISSING),
    pytest.param("/.env/", MISSING),
    pytest.param("/.git/config", MISSING),
    pytest.param("/%2egit/config", MISSING),
    pytest.param("/.git/", MISSING),
    pytest.param("/public/../.git/config", MISSING),
    pytest.param("/__pycache__/x.cpython-311.pyc", MISSING),
    # Python sources and bytecode in any letter case: helpers, handlers, the root error handler
    pytest.param("/helpers.py", MISSING),
    pytest.param("/helpers.PY", MISSING),
    pytest.param("/page.ex.get.py", MISSING),
    pytest.param("/page.ex.get.PY", MISSING),
    pytest.param("/page.ex.get.Py", MISSING),
    pytest.param("/page.ex.get.pyc", MISSING),
    pytest.param("/page.ex.get.pyo", MISSING),
    pytest.param("/page.ex.post.py", MISSING),
    pytest.param("/webapp1.404.py", MISSING),
    pytest.param("/tool.PY", MISSING),
    pytest.param("/tool.Py", MISSING),
    pytest.param("/tool.pyc", MISSING),
    pytest.param("/tool.pyo", MISSING),
    pytest.param("/helpers.py.", MISSING),
    pytest.param("/helpers.py%20", MISSING),
    pytest.param("/helpers.py::$DATA", MISSING),
    # symbolic links out of the site, and inside it to refused files
    pytest.param("/public/out.txt", MISSING),
    pytest.param("/outdir/secret.txt", MISSING),
    pytest.param("/outdir/page", MISSING),
    pytest.param("/outdir/", MISSING),
    pytest.param("/outdir/../secret.txt", MISSING),
    pytest.param("/public/handler.txt", MISSING),
    pytest.param("/public/env.txt", MISSING),
    pytest.param("/public/git/config", MISSING),
    # file paths with a trailing slash, empty and `.` segments, case
    pytest.param("/public/hello.txt/", MISSING),
    pytest.param("/public/hello.txt/.", MISSING),
    pytest.param("//public//hello.txt", HELLO),
    pytest.param("/./public/./hello.txt", HELLO),
    pytest.param("/public/HELLO.TXT", MISSING),
    pytest.param("//etc/passwd", MISSING),
    pytest.param("/page/%2e%2e/%2e%2e/secret.txt", PAGE),
    # unicode lookalikes of `.`, `/` and `\`, zero-width characters, homoglyphs
    pytest.param("/\uff0e\uff0e/secret.txt", MISSING, id="fullwidth-dots"),
    pytest.param("/\u2024\u2024/secret.txt", MISSING, id="one-dot-leaders"),
    pytest.param("/public\u2215..\u2215..\u2215secret.txt", MISSING, id="division-slash"),
    pytest.param("/..\u2216secret.txt", MISSING, id="set-minus-backslash"),
    pytest.param("/.\u200benv", MISSING, id="zero-width-space-env"),
    pytest.param("/\uff0eenv", MISSING, id="fullwidth-dot-env"),
    pytest.param("/helpers.\u0440y", MISSING, id="cyrillic-er-py"),
    pytest.param("/helpers.p\u0443", MISSING, id="cyrillic-u-py"),
    pytest.param("/public/hello\u2024txt", MISSING, id="one-dot-leader-txt"),
]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(("wire", "expected"), HOSTILE_PATHS)
def test_hostile_path_gets_a_handler_answer_or_a_clean_404(
    hostile: Hostile, method: str, wire: str, expected: str
) -> None:
    status, _, body = send(hostile.app, method, wire)

    assert_nothing_leaked(hostile, body)
    assert status == (404 if expected == MISSING else 200)
    assert body == (b"" if method == "HEAD" else expected.encode())
    assert_still_serving(hostile)


# (method, request target, status, body): other methods never serve files and still never leak
OTHER_METHODS = [
    ("POST", "/../secret.txt", 404, MISSING),
    ("POST", "/page/%2e%2e/secret.txt", 200, POSTED),
    ("POST", "/public/out.txt", 404, MISSING),
    ("PUT", "/page", 405, None),
    ("PUT", "/.env", 404, MISSING),
    ("DELETE", "/.git/config", 404, MISSING),
    ("PATCH", "/public/hello.txt", 405, None),
    ("PROPFIND", "/.git/", 404, MISSING),
    ("TRACE", "/%252e%252e/secret.txt", 404, MISSING),
    ("OPTIONS", "/page/%2e%2e/.env", 204, ""),
    ("OPTIONS", "/public/hello.txt", 204, ""),
    ("M-SEARCH", "/secret.txt", 501, None),
    ("DEFAULT", "/page", 501, None),
    ("GET\x00", "/page", 501, None),
    ("G%45T", "/public/hello.txt", 501, None),
]


@pytest.mark.parametrize(("method", "wire", "status", "expected"), OTHER_METHODS)
def test_other_methods_on_hostile_paths(
    hostile: Hostile, method: str, wire: str, status: int, expected: str | None
) -> None:
    got, headers, body = send(hostile.app, method, wire)

    assert_nothing_leaked(hostile, body)
    assert got == status
    if expected is not None:
        assert body == expected.encode()
    if status in (204, 405):
        assert "OPTIONS" in headers["Allow"]
    assert_still_serving(hostile)


def test_no_request_was_logged_as_a_failure(hostile: Hostile) -> None:
    for method in ("GET", "HEAD", "POST"):
        for param in HOSTILE_PATHS:
            wire = param.values[0]
            assert isinstance(wire, str)
            send(hostile.app, method, wire)
    assert [record.getMessage() for record in hostile.errors] == []


def assert_nothing_leaked(hostile: Hostile, body: bytes) -> None:
    leaked = [m for m in hostile.markers if m.encode() in body]
    assert leaked == []
    assert b"def main" not in body
    assert TOKEN.encode() not in body


def assert_still_serving(hostile: Hostile) -> None:
    status, _, body = send(hostile.app, "GET", "/public/hello.txt")
    assert (status, body) == (200, HELLO.encode())
    status, _, body = send(hostile.app, "GET", "/page")
    assert (status, body) == (200, PAGE.encode())
