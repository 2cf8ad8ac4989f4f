"""Spec: "Streaming response bodies" and "Streaming request bodies"."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from typing import Any

from werkzeug.test import Client, create_environ, run_wsgi_app

import cylinder

FIBONACCI = """
import time

def main(response, log):
    del response.headers["Content-Length"]
    response.response = fibonacci(log)
    return response

def fibonacci(log):
    a, b = 0, 1
    while True:
        time.sleep(0.001)
        log.info(f"yielding: {a}")
        yield f"{a}\\n"
        a, b = b, a + b
"""


def test_generator_body_is_sent_as_produced(
    client_for: Callable[..., Client], records: Any
) -> None:
    client = client_for({"webapp1.ex.get.py": FIBONACCI})
    response = client.get("/", headers={"X-Request-ID": "stream-1"}, buffered=False)
    assert response.is_streamed
    lines = list(itertools.islice(response.iter_encoded(), 8))  # an endless body: read 8
    assert b"".join(lines) == b"0\n1\n1\n2\n3\n5\n8\n13\n"
    response.close()
    yielded = [r for r in records.records if r.getMessage().startswith("yielding: ")]
    assert [r.getMessage() for r in yielded[:3]] == ["yielding: 0", "yielding: 1", "yielding: 1"]
    assert {r.request_id for r in yielded} == {"stream-1"}  # logged while the server iterates


def test_streamed_body_passes_through_hooks(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": FIBONACCI,
            "webapp1.lh.get.py": "def main(response):\n    response.headers['X-Late'] = '1'\n"
            "    return response\n",
        }
    )
    response = client.get("/", buffered=False)
    assert response.headers["X-Late"] == "1"
    assert "Content-Length" not in response.headers
    response.close()


def test_generator_is_closed_when_the_client_goes(client_for: Callable[..., Client]) -> None:
    closed: list[bool] = []
    client = client_for(
        {
            "webapp1.ex.get.py": """
            def main(response, closed):
                def body():
                    try:
                        while True:
                            yield b"x"
                    finally:
                        closed.append(True)
                response.response = body()
                return response
        """
        },
        extras={"closed": closed},
    )
    response = client.get("/", buffered=False)
    assert next(response.iter_encoded()) == b"x"
    assert closed == []
    response.close()
    assert closed == [True]


class Chunked(io.RawIOBase):
    """A request body that can only be read in small pieces, and counts how."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = min(len(buffer), self.left, 4096)
        self.largest_read = max(self.largest_read, size)
        buffer[:size] = b"a" * size
        self.left -= size
        return size


def test_request_body_is_read_in_chunks(make_app: Callable[..., cylinder.Application]) -> None:
    app = make_app(
        {
            "webapp1.ex.post.py": """
        def main(request, response, log):
            total_bytes = 0
            while True:
                chunk = request.stream.read(4096)
                if not chunk:
                    break
                total_bytes += len(chunk)
                log.info(f"received {len(chunk)} bytes")
            response.data = f"received {total_bytes} bytes"
            return response
    """
        }
    )
    body = Chunked(1_000_000)
    environ = create_environ("/", method="POST")
    environ.update({"wsgi.input": body, "CONTENT_LENGTH": "1000000"})
    chunks, status, _ = run_wsgi_app(app, environ, buffered=True)
    assert status == "200 OK"
    assert b"".join(chunks) == b"received 1000000 bytes"
    assert body.largest_read <= 4096


def test_a_body_cut_short_is_a_400_on_every_server(
    make_app: Callable[..., cylinder.Application],
) -> None:
    """As gunicorn passes it on: Content-Length 1000, 10 bytes, then the end of the input."""
    app = make_app(
        {
            "webapp1.ex.put.py": """
            def main(request, response):
                response.data = f"read {len(request.stream.read())} bytes"
                return response
        """,
            "webapp1.400.py": """
            def main(response, e):
                response.data = "400: " + e.description
                return response
        """,
        }
    )
    environ = create_environ("/", method="PUT")
    environ.update(
        {
            "wsgi.input": io.BytesIO(b"0123456789"),
            "CONTENT_LENGTH": "1000",
            "wsgi.input_terminated": True,  # gunicorn's: Werkzeug trusts the stream's own end
        }
    )
    chunks, status, _ = run_wsgi_app(app, environ, buffered=True)
    assert status == "400 BAD REQUEST"
    assert b"".join(chunks) == b"400: the body ended after 10 of 1000 bytes"
