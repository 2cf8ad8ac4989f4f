"""Spec: "Static files"; DECISIONS.md "Static files" end to end."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from werkzeug.test import Client

SITE = {
    "webapp1.ex.get.py": "def main(response):\n    response.data = 'root'\n    return response\n",
    "webapp1/example1.json": '{"a": 1}',
    "webapp1/foo/example2.css": "body { color: red }",
    "webapp1/foo.400.py": "def main(response):\n    return response\n",
}


def test_files_are_served_on_an_exact_path(client_for: Callable[..., Client]) -> None:
    client = client_for(SITE)
    response = client.get("/example1.json")
    assert response.data == b'{"a": 1}'
    assert response.mimetype == "application/json"
    css = client.get("/foo/example2.css")
    assert css.data == b"body { color: red }"
    assert css.content_type == "text/css; charset=utf-8"


def test_only_exact_paths_serve_files(client_for: Callable[..., Client]) -> None:
    client = client_for(SITE)
    assert client.get("/example1.json/extra").text == "root"
    assert client.get("/example1").text == "root"
    assert client.get("/foo/example2.css/").text == "root"


def test_python_sources_are_never_served(client_for: Callable[..., Client], sites: Path) -> None:
    client = client_for({**SITE, "webapp1/tool.py": "SECRET = 1\n", "webapp1/Tool2.PY": "S=2\n"})
    for path in ("/tool.py", "/Tool2.PY", "/foo.400.py"):
        response = client.get(path)
        assert b"SECRET" not in response.data
        assert response.text == "root"


def test_hooks_run_around_static_files(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            **SITE,
            "webapp1.eh.get.py": "def main(response):\n    response.headers['X-E'] = '1'\n"
            "    return response\n",
            "webapp1.lh.get.py": "def main(response):\n    response.headers['X-L'] = '1'\n"
            "    return response\n",
        }
    )
    response = client.get("/example1.json")
    assert (response.headers["X-E"], response.headers["X-L"]) == ("1", "1")
    assert response.data == b'{"a": 1}'


def test_etag_and_conditional_requests(client_for: Callable[..., Client]) -> None:
    client = client_for(SITE)
    with client.get("/example1.json") as first:
        etag = first.headers["ETag"]
    assert first.headers["Last-Modified"]
    again = client.get("/example1.json", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    since = client.get(
        "/example1.json", headers={"If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert since.status_code == 304


def test_range_requests(client_for: Callable[..., Client]) -> None:
    client = client_for(SITE)
    part = client.get("/example1.json", headers={"Range": "bytes=1-4"})
    assert part.status_code == 206
    assert part.data == b'"a":'
    assert part.headers["Content-Range"] == "bytes 1-4/8"
    part.close()  # a range stops before the end of the file: close it, as a server would
    beyond = client.get("/example1.json", headers={"Range": "bytes=100-200"})
    assert beyond.status_code == 416


def test_head_sends_headers_only(client_for: Callable[..., Client]) -> None:
    response = client_for(SITE).head("/example1.json")
    assert response.status_code == 200
    assert response.headers["Content-Length"] == "8"
    assert response.data == b""


def test_compressed_text_is_sent_with_content_encoding(
    client_for: Callable[..., Client], sites: Path
) -> None:
    client = client_for(SITE)
    (sites / "webapp1" / "notes.txt.gz").write_bytes(gzip.compress(b"hello"))
    (sites / "webapp1" / "bundle.tar.gz").write_bytes(gzip.compress(b"tar"))
    notes = client.get("/notes.txt.gz")
    assert gzip.decompress(notes.data) == b"hello"
    assert notes.content_type == "text/plain; charset=utf-8"
    assert notes.headers["Content-Encoding"] == "gzip"
    bundle = client.get("/bundle.tar.gz")
    assert gzip.decompress(bundle.data) == b"tar"
    assert bundle.content_type == "application/gzip"
    assert "Content-Encoding" not in bundle.headers


def test_static_file_wins_over_handlers_for_get_only(
    client_for: Callable[..., Client], answer: Callable[[str], str]
) -> None:
    client = client_for({**SITE, "webapp1/example1.json.ex.post.py": answer("posted")})
    assert client.get("/example1.json").data == b'{"a": 1}'
    assert client.post("/example1.json").text == "posted"


@pytest.mark.parametrize(
    "path", ["/.env", "/.git/config", "/__pycache__/x.pyc", "/foo/../.env", "/%2e%2e/secret.txt"]
)
def test_hidden_and_outside_files_are_never_served(
    client_for: Callable[..., Client], sites: Path, path: str
) -> None:
    client = client_for(
        {
            "webapp1/.env": "SECRET=1",
            "webapp1/.git/config": "SECRET=2",
            "webapp1/__pycache__/x.pyc": "SECRET=3",
            "secret.txt": "SECRET=4",
        }
    )
    response = client.get(path)
    assert response.status_code == 404
    assert b"SECRET" not in response.data


def test_symlink_out_of_the_site_is_never_served(
    client_for: Callable[..., Client], sites: Path, tmp_path: Path
) -> None:
    client = client_for(SITE)
    (tmp_path / "outside.txt").write_text("SECRET")
    os.symlink(tmp_path / "outside.txt", sites / "webapp1" / "link.txt")
    response = client.get("/link.txt")
    assert b"SECRET" not in response.data
    assert response.text == "root"
