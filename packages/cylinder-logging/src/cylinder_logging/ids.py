"""Request ids: cleaning the ones a client sends, and making new ones.

A request id from a header ends up inside every log line of its request, so it must not be able
to forge lines or smuggle terminal escapes: :func:`sanitize_request_id` keeps only printable
characters and at most :data:`MAX_REQUEST_ID_LENGTH` of them.
"""

from __future__ import annotations

import os

__all__ = ["MAX_REQUEST_ID_LENGTH", "new_request_id", "sanitize_request_id"]

#: The most characters a request id from a header keeps.
MAX_REQUEST_ID_LENGTH = 200


def new_request_id() -> str:
    """Return a new request id: 32 hexadecimal digits of operating-system randomness.

    128 random bits make ids unique across threads, processes and machines without any shared
    counter, and ``os.urandom`` is unaffected by ``fork``. It costs about as much as formatting a
    short string (well under a microsecond; ``uuid.uuid4().hex`` is four times slower).
    """
    return os.urandom(16).hex()


def sanitize_request_id(raw: str | None) -> str:
    """Return ``raw`` made safe to print in a log line, or a new id if nothing usable is left.

    Every character that is not printable (see :meth:`str.isprintable`) is removed: all control
    characters (Unicode category ``Cc``: ``\\r``, ``\\n``, ``\\x00``, ``\\x1b``, ``\\x7f``, the
    C1 controls), and also format characters such as bidirectional overrides, the Unicode line and
    paragraph separators, and spaces other than ``" "``. Surrounding spaces are stripped and the
    result is cut to :data:`MAX_REQUEST_ID_LENGTH` characters. When ``raw`` is ``None`` or nothing
    is left, a new id from :func:`new_request_id` is returned.

    :param raw: the header's value, or ``None`` when the request had no such header.
    """
    if raw:
        cleaned = raw if raw.isprintable() else "".join(filter(str.isprintable, raw))
        cleaned = cleaned.strip()[:MAX_REQUEST_ID_LENGTH]
        if cleaned:
            return cleaned
    return new_request_id()
