"""Safe handling of URL paths and of the folders they map onto.

A URL path is split into segments; empty, ``.`` and ``..`` segments are dropped (never resolved
against their parent), so a path cannot climb out of the site. The path is never percent-decoded
here: the server decoded it once, and decoding twice is how ``%252e%252e`` attacks work. A segment
that can never name a file on any filesystem (it holds a backslash, a NUL or another control
character, or cannot be encoded) is kept as path data for the handler but is never looked up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .nonstatic import never_static

__all__ = [
    "RequestPath",
    "is_inside",
    "is_lookup_safe",
    "split_path",
    "static_refusal",
    "target_refusal",
]

#: Longest segment, in bytes of UTF-8, that a filesystem can hold (ext4, APFS, NTFS all say 255).
MAX_SEGMENT_BYTES = 255

_DROPPED = frozenset({"", ".", ".."})


@dataclass(frozen=True, slots=True)
class RequestPath:
    """A URL path made ready for matching.

    :param segments: the segments left after empty, ``.`` and ``..`` ones were dropped.
    :param trailing_slash: whether the path ended in ``/`` (it does not change the handler,
        but a file is never served under its trailing-slash form).
    """

    segments: tuple[str, ...]
    trailing_slash: bool = False

    @property
    def normalized(self) -> str:
        """The path as matched: ``/a//b/../c`` gives ``/a/b/c``."""
        return "/" + "/".join(self.segments)


def split_path(path: str) -> RequestPath:
    """Split a decoded URL path (WSGI ``PATH_INFO``) into segments for matching.

    :param path: the path, with or without a leading slash.
    """
    parts = path.split("/")
    segments = tuple(part for part in parts if part not in _DROPPED)
    # `/x.txt/`, `/x.txt/.` and `/x.txt/..` all end past the file name: none serves the file.
    trailing = len(parts) > 1 and parts[-1] in _DROPPED and bool(segments)
    return RequestPath(segments, trailing)


def is_lookup_safe(segment: str) -> bool:
    """Whether a segment may be looked up as a name in a folder.

    Unsafe segments are never compared against the filesystem: they hold a path separator of
    some OS (``/`` or ``\\``), a NUL or other control character, a lone surrogate, or are too long
    for any filesystem. They stay in the request as path data for the handler to read.
    """
    if "\\" in segment or "/" in segment or segment in _DROPPED:
        return False
    if not segment.isprintable() and any(ch < " " or "\x7f" <= ch <= "\x9f" for ch in segment):
        return False
    try:
        encoded = segment.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return len(encoded) <= MAX_SEGMENT_BYTES


def static_refusal(request_path: RequestPath) -> str | None:
    """Why a path may never be served as a static file, or None when it may.

    The rules hold whatever is on disk: any segment starting with ``.`` (``.env``, ``.git``),
    ``__pycache__``, the trailing-slash form of a file path, and a file name that
    :func:`~cylinder_router.nonstatic.never_static` refuses (Python sources and bytecode in any
    letter case, copies of them, route files saved without ``.py``, editors' leftovers).
    """
    segments = request_path.segments
    if not segments:
        return "the site root is a folder"
    if request_path.trailing_slash:
        return "a file is never served under a path ending in `/`"
    for segment in segments:
        if segment.startswith("."):
            return f"segment `{segment}` starts with `.`"
        if segment == "__pycache__":
            return "`__pycache__` is never served"
        if not is_lookup_safe(segment):
            return f"segment {segment!r} can never name a file"
    return never_static(segments[-1])


def target_refusal(file: str, real_root: str) -> str | None:
    """Why the file that ``file`` leads to, symbolic links followed, may never be served, or
    None when it may.

    A link may lead anywhere, so the file reached must pass :func:`static_refusal` itself:
    ``notes.txt -> app.ex.get.py`` would otherwise serve Python source.

    :param file: an absolute path below the site folder.
    :param real_root: the site folder, resolved with :func:`os.path.realpath`.
    """
    try:
        real = os.path.realpath(file)
    except OSError:  # a link on the way was replaced while it was being read
        return "it changed while its links were followed"
    if not is_inside(real, real_root):
        return "it leads outside the site folder"
    relative = os.path.relpath(real, real_root)
    refusal = static_refusal(RequestPath(tuple(relative.split(os.sep))))
    return None if refusal is None else f"it leads to `{relative}`: {refusal}"


def is_inside(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or lies below it. Both must be absolute and resolved
    (:func:`os.path.realpath`), so that symlinks have already been followed."""
    try:
        return os.path.commonpath((path, root)) == root
    except ValueError:  # different drives on Windows
        return False
