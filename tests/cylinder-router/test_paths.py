"""URL paths made safe for matching: splitting, lookup safety, static eligibility, containment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cylinder_router import RequestPath, is_inside, is_lookup_safe, split_path, static_refusal
from cylinder_router.paths import MAX_SEGMENT_BYTES


@pytest.mark.parametrize(
    ("path", "segments", "trailing"),
    [
        ("/", (), False),
        ("", (), False),
        ("//", (), False),
        ("/foo", ("foo",), False),
        ("foo", ("foo",), False),
        ("/foo/bar", ("foo", "bar"), False),
        ("/foo/bar/", ("foo", "bar"), True),
        ("/foo/bar//", ("foo", "bar"), True),
        ("/a//b/../c", ("a", "b", "c"), False),
        ("/a/./b", ("a", "b"), False),
        ("/../../etc/passwd", ("etc", "passwd"), False),
        ("/a/b/../../../..", ("a", "b"), True),  # ends past the last name
        ("/x.txt/.", ("x.txt",), True),
        ("/x.txt/..", ("x.txt",), True),
        ("/./", (), False),
        ("/../", (), False),
        ("/...", ("...",), False),
        ("/..a/b..", ("..a", "b.."), False),
    ],
)
def test_split_drops_empty_dot_and_dotdot_segments_without_climbing(
    path: str, segments: tuple[str, ...], trailing: bool
) -> None:
    split = split_path(path)
    assert split == RequestPath(segments, trailing)


def test_normalized_is_the_path_as_matched() -> None:
    assert split_path("/a//b/../c").normalized == "/a/b/c"
    assert split_path("/").normalized == "/"
    assert split_path("/x.txt/").normalized == "/x.txt"


@pytest.mark.parametrize(
    "path",
    ["/%2e%2e/secret.txt", "/%2E%2E", "/a%2fb", "/%252e%252e", "/a%5cb", "/%00"],
)
def test_percent_encoded_text_is_never_decoded(path: str) -> None:
    # The server decoded the path once; anything still percent-encoded is a literal name.
    split = split_path(path)
    assert "/".join(split.segments) == path.lstrip("/")
    assert all(is_lookup_safe(segment) for segment in split.segments)


@pytest.mark.parametrize(
    "segment",
    [
        "foo",
        "bar.txt",
        "café",
        "日本語",
        "%2e%2e",
        "...",
        ".env",
        "a b",
        "\u00a0",
        "😀",
        "x" * MAX_SEGMENT_BYTES,
        "é" * (MAX_SEGMENT_BYTES // 2),
    ],
)
def test_ordinary_segments_may_be_looked_up(segment: str) -> None:
    assert is_lookup_safe(segment)


@pytest.mark.parametrize(
    "segment",
    [
        "",
        ".",
        "..",
        "a\\b",
        "..\\..\\secret.txt",
        "\\",
        "a/b",
        "a\x00b",
        "\x00",
        "a\nb",
        "a\rb",
        "\t",
        "\x1b[31m",
        "\x7f",
        "\x85",
        "a\x9fb",
        "\ud800",
        "a\udcffb",
        "x" * (MAX_SEGMENT_BYTES + 1),
        "é" * (MAX_SEGMENT_BYTES // 2 + 1),
    ],
)
def test_segments_that_can_never_name_a_file_are_not_looked_up(segment: str) -> None:
    assert not is_lookup_safe(segment)


def test_segment_limit_counts_utf8_bytes_not_characters() -> None:
    assert MAX_SEGMENT_BYTES == 255
    assert is_lookup_safe("😀" * 63)  # 252 bytes
    assert not is_lookup_safe("😀" * 64)  # 256 bytes, 64 characters


@pytest.mark.parametrize(
    "path",
    [
        "/x.txt",
        "/foo/bar.txt",
        "/foo/example2.css",
        "/python/x.txt",
        "/lib.py/data.json",
        "/pyramid.svg",
        "/x.pyramid",
        "/x.python",
        "/page.exe",
        "/ex.get",
        "/a~b.txt",
        "/#notes.txt",
        "/%2e%2e",
        "/a..b",
        "/foo//bar.txt",
    ],
)
def test_static_eligible_paths(path: str) -> None:
    assert static_refusal(split_path(path)) is None


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/", "the site root is a folder"),
        ("/x.txt/", "a file is never served under a path ending in `/`"),
        ("/foo/", "a file is never served under a path ending in `/`"),
        ("/.env", "segment `.env` starts with `.`"),
        ("/.git/config", "segment `.git` starts with `.`"),
        ("/foo/.hidden/x.txt", "segment `.hidden` starts with `.`"),
        ("/.well-known/x", "segment `.well-known` starts with `.`"),
        ("/__pycache__/x.txt", "`__pycache__` is never served"),
        ("/foo/__pycache__/bar.cpython-311.pyc", "`__pycache__` is never served"),
        ("/foo/a\\b.txt", "segment 'a\\\\b.txt' can never name a file"),
        ("/a\x00.txt", "segment 'a\\x00.txt' can never name a file"),
        ("/handler.ex.get.py", "Python files are never served"),
        ("/helpers.py", "Python files are never served"),
        ("/helpers.PY", "Python files are never served"),
        ("/helpers.Py", "Python files are never served"),
        ("/x.pyc", "Python files are never served"),
        ("/x.PYC", "Python files are never served"),
        ("/x.pyo", "Python files are never served"),
        ("/x.pYo", "Python files are never served"),
        ("/file.py.txt", "a copy of Python source (the part `.py` after the first dot)"),
        ("/x.pyw", "a copy of Python source (the part `.pyw` after the first dot)"),
        ("/x.pyi", "a copy of Python source (the part `.pyi` after the first dot)"),
        ("/x.py.", "a copy of Python source (the part `.py` after the first dot)"),
        ("/x.ex.get.py.tmp", "a copy of Python source (the part `.py` after the first dot)"),
        ("/x.PY.bak", "a copy of Python source (the part `.PY` after the first dot)"),
        ("/contact.ex.get", "a route file saved without `.py` (`.ex.` after the first dot)"),
        ("/hook.eh.default", "a route file saved without `.py` (`.eh.` after the first dot)"),
        ("/late.lh.post.txt", "a route file saved without `.py` (`.lh.` after the first dot)"),
        ("/x.py~", "an editor's backup copy (the name ends in `~`)"),
        ("/notes.txt~", "an editor's backup copy (the name ends in `~`)"),
        ("/#x.ex.get.py#", "an editor's auto-save file (the name is `#...#`)"),
        ("/x.py___jb_tmp___", "an editor's temporary file (the name holds `___jb_tmp___`)"),
        ("/x.css___jb_old___", "an editor's temporary file (the name holds `___jb_old___`)"),
    ],
)
def test_static_refusals_say_why(path: str, reason: str) -> None:
    assert static_refusal(split_path(path)) == reason


def test_is_inside(tmp_path: Path) -> None:
    root = str(tmp_path / "site")
    assert is_inside(root, root)
    assert is_inside(os.path.join(root, "a", "b"), root)
    assert not is_inside(str(tmp_path), root)
    assert not is_inside(str(tmp_path / "site2"), root)
    assert not is_inside(str(tmp_path / "sit"), root)
    assert not is_inside("/", root)
