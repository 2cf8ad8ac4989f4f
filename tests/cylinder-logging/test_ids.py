from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cylinder_logging import new_request_id, sanitize_request_id
from cylinder_logging.ids import MAX_REQUEST_ID_LENGTH

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("abc-123", "abc-123"),
        ("abc\r\nINFO forged line", "abcINFO forged line"),
        ("a\x00b", "ab"),
        ("\x1b[31mred\x1b[0m", "[31mred[0m"),
        ("a\x7fb", "ab"),
        ("a\x85b\x9bc\x80d", "abcd"),  # C1 controls, NEL among them
        ("a\tb\x0bc\x0cd", "abcd"),
        ("a\u2028b\u2029c", "abc"),  # line and paragraph separators
        ("a\u202eb\u200bc", "abc"),  # bidi override, zero-width space
        ("a\udcffb", "ab"),  # a lone surrogate, as surrogateescape makes
        ("  spaced id  ", "spaced id"),
        ("caf\u00e9-\u4e2d", "caf\u00e9-\u4e2d"),
    ],
)
def test_sanitize_removes_unprintable_characters(raw: str, expected: str) -> None:
    assert sanitize_request_id(raw) == expected


def test_sanitize_cuts_long_ids_to_200_characters() -> None:
    assert sanitize_request_id("x" * 10_000) == "x" * MAX_REQUEST_ID_LENGTH
    assert MAX_REQUEST_ID_LENGTH == 200


def test_sanitize_cuts_after_removing_controls() -> None:
    raw = "\n" * 500 + "y" * 300
    assert sanitize_request_id(raw) == "y" * 200


@pytest.mark.parametrize("raw", [None, "", "\r\n", "\x00\x00", "   ", "\x1b\x9b\u2028"])
def test_sanitize_generates_an_id_when_nothing_is_left(raw: str | None) -> None:
    assert GENERATED.fullmatch(sanitize_request_id(raw))


@given(st.text())
def test_sanitize_always_returns_a_printable_bounded_id(raw: str) -> None:
    cleaned = sanitize_request_id(raw)
    assert cleaned
    assert cleaned.isprintable()
    assert len(cleaned) <= MAX_REQUEST_ID_LENGTH
    assert "\r" not in cleaned
    assert "\n" not in cleaned


def test_new_ids_are_32_hex_digits() -> None:
    assert GENERATED.fullmatch(new_request_id())


def test_new_ids_are_unique_over_many_calls() -> None:
    count = 100_000
    assert len({new_request_id() for _ in range(count)}) == count


def test_new_ids_are_unique_across_threads() -> None:
    threads, per_thread = 8, 10_000
    results: list[list[str]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads)

    def generate(out: list[str]) -> None:
        start.wait(10)
        out.extend(new_request_id() for _ in range(per_thread))

    workers = [threading.Thread(target=generate, args=(out,)) for out in results]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
        assert not worker.is_alive()
    ids = [request_id for out in results for request_id in out]
    assert len(ids) == threads * per_thread
    assert len(set(ids)) == len(ids)


def test_new_ids_make_no_system_call(monkeypatch: pytest.MonkeyPatch) -> None:
    # `os.urandom` releases the GIL; the ids are counted through a wrapper that still draws.
    calls: list[int] = []
    real_urandom: Callable[[int], bytes] = os.urandom

    def counting_urandom(size: int) -> bytes:
        calls.append(size)
        return real_urandom(size)

    monkeypatch.setattr(os, "urandom", counting_urandom)
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert calls == []


#: Run in a fresh interpreter (no other threads, so forking is safe): ids made before forking,
#: then by four real `os.fork` children, each sending its ids to the parent through a pipe.
FORKING_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from cylinder_logging import new_request_id

    before = [new_request_id() for _ in range(100)]
    pipes = []
    for _ in range(4):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            ids = [new_request_id() for _ in range(1000)]
            with os.fdopen(write_end, "w") as out:
                json.dump(ids, out)
            os._exit(0)
        os.close(write_end)
        pipes.append((pid, read_end))
    children = []
    for pid, read_end in pipes:
        with os.fdopen(read_end) as source:
            children.append(json.load(source))
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    after = [new_request_id() for _ in range(100)]
    json.dump({"parent": before + after, "children": children}, sys.stdout)
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")
def test_new_ids_are_unique_across_forked_workers() -> None:
    done = subprocess.run(
        [sys.executable, "-c", FORKING_SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    children: list[list[str]] = made["children"]
    assert len(children) == 4
    ids = [*made["parent"], *(request_id for child in children for request_id in child)]
    assert len(ids) == 200 + 4 * 1000
    assert all(GENERATED.fullmatch(request_id) for request_id in ids)
    assert len(set(ids)) == len(ids)
