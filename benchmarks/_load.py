"""A keep-alive HTTP/1.1 load generator for ``real_socket.py``, standard library only.

One thread and a ``selectors`` loop drive N persistent connections to 127.0.0.1. Each connection
sends a GET, waits for the whole answer (read by its ``Content-Length``), notes how long it took
and sends the next: a closed loop, as ``wrk`` runs. A server that answers ``Connection: close``
(gunicorn's sync worker does) gets a new connection for the next request; the connect time is
then part of that request's latency, as it is for a real client of such a server.

Bounded: no request is sent after ``duration`` seconds, and whatever has not answered
``timeout`` seconds after that is counted as an error and dropped.
"""

from __future__ import annotations

import selectors
import socket
import time
from dataclasses import dataclass, field

#: Most bytes one ``recv`` takes.
CHUNK = 65536


@dataclass
class LoadResult:
    """What one load run got.

    :param requests: answers received in full with status 200.
    :param errors: other statuses, broken connections, answers that never came.
    :param seconds: from the first request sent to the last answer received.
    :param latencies_ns: each good answer's time, from the request's first byte sent to the
        answer's last byte received.
    """

    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ns: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile_ms(self, fraction: float) -> float:
        """The latency below which ``fraction`` of the answers came, in milliseconds."""
        if not self.latencies_ns:
            return 0.0
        ordered = sorted(self.latencies_ns)
        index = min(len(ordered) - 1, int(fraction * len(ordered)))
        return ordered[index] / 1e6


class _Connection:
    __slots__ = ("buffer", "sent_at", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.sent_at = 0


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    return sock


def _parse(buffer: bytearray) -> tuple[int, int, bool] | None:
    """``(status, whole length, close)`` of the answer at the start of ``buffer``, once it is
    all there; ``None`` while more is to come.

    :raises ValueError: for an answer without ``Content-Length`` (chunked, or read to close).
    """
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).lower()
    status = int(head[9:12])
    at = head.find(b"\r\ncontent-length:")
    if at < 0:
        raise ValueError(f"an answer without content-length: {bytes(buffer[:end])[:200]!r}")
    stop = head.find(b"\r\n", at + 2)
    length = int(head[at + 17 : stop if stop >= 0 else len(head)])
    whole = end + 4 + length
    if len(buffer) < whole:
        return None
    return status, whole, b"\r\nconnection: close" in head


def run_load(
    port: int, path: str, connections: int, duration: float, timeout: float = 5.0
) -> LoadResult:
    """Load ``http://127.0.0.1:port/path`` over ``connections`` keep-alive connections for
    ``duration`` seconds."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: cylinder-bench\r\n"
        "Accept: */*\r\n\r\n"
    ).encode()
    result = LoadResult()
    selector = selectors.DefaultSelector()
    clock = time.perf_counter_ns
    open_connections: list[_Connection] = []
    try:
        for _ in range(connections):
            connection = _Connection(_connect(port))
            open_connections.append(connection)
        started = clock()
        stop_sending = started + int(duration * 1e9)
        give_up = stop_sending + int(timeout * 1e9)
        for connection in open_connections:
            selector.register(connection.sock, selectors.EVENT_READ, connection)
            connection.sent_at = clock()
            connection.sock.sendall(request)
        last = started
        live = len(open_connections)
        while live:
            now = clock()
            if now > give_up:
                result.errors += live
                result.problems.append(f"{live} answers did not come within {timeout}s")
                break
            for key, _ in selector.select(0.5):
                connection = key.data
                try:
                    data = connection.sock.recv(CHUNK)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    data = b""
                    result.problems.append(f"recv: {exc}")
                if not data:
                    result.errors += 1
                    selector.unregister(connection.sock)
                    connection.sock.close()
                    live -= 1
                    continue
                connection.buffer += data
                parsed = _parse(connection.buffer)
                if parsed is None:
                    continue
                status, whole, close = parsed
                now = clock()
                last = now
                if status == 200:
                    result.requests += 1
                    result.latencies_ns.append(now - connection.sent_at)
                else:
                    result.errors += 1
                del connection.buffer[:whole]
                if close:
                    selector.unregister(connection.sock)
                    connection.sock.close()
                    if now < stop_sending:
                        connection.sock = _connect(port)
                        connection.buffer.clear()
                        selector.register(connection.sock, selectors.EVENT_READ, connection)
                if now >= stop_sending:
                    if not close:
                        selector.unregister(connection.sock)
                    live -= 1
                    continue
                connection.sent_at = clock()
                connection.sock.sendall(request)
        result.seconds = (last - started) / 1e9
    finally:
        selector.close()
        for connection in open_connections:
            connection.sock.close()
    return result
