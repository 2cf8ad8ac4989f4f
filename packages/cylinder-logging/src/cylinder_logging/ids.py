"""Request ids: cleaning the ones a client sends, and making new ones.

A request id from a header ends up inside every log line of its request, so it must not be able
to forge lines or smuggle terminal escapes: :func:`sanitize_request_id` keeps only printable
characters and at most :data:`MAX_REQUEST_ID_LENGTH` of them.

New ids come from :func:`new_request_id` without a system call: a request thread that calls
``os.urandom`` releases the GIL, and with other request threads waiting for it, each release
costs a hand-off between cores (issue 15). Instead, each process draws a random key from the
operating system once, and an id is a counter passed through BLAKE2b keyed with it (a keyed hash
is a pseudo-random function: without the key, no id tells anything about the next one). After
``os.fork`` the child draws a key of its own (:func:`os.register_at_fork`), so forked workers
never repeat their parent's or each other's ids.
"""

from __future__ import annotations

import hashlib
import itertools
import os

__all__ = ["MAX_REQUEST_ID_LENGTH", "new_request_id", "sanitize_request_id"]

#: The most characters a request id from a header keeps.
MAX_REQUEST_ID_LENGTH = 200


class _IdSource:
    """A process's source of request ids: a random key and a counter.

    There is one per process, by nature (its key must change exactly when the process does), so
    it is the one object of this package that lives at module level.
    """

    __slots__ = ("_counter", "_keyed")

    def __init__(self) -> None:
        self._keyed = hashlib.blake2b(digest_size=16)
        self._counter = itertools.count()
        self.reseed()

    def reseed(self) -> None:
        """Draw a new key from the operating system and start counting again."""
        self._keyed = hashlib.blake2b(key=os.urandom(32), digest_size=16)
        self._counter = itertools.count()

    def next_id(self) -> str:
        """Return the keyed hash of the next count, in 32 hexadecimal digits.

        ``next`` on an :class:`itertools.count` and the hash of 8 bytes never release the GIL,
        so two threads never get the same count and no system call is made.
        """
        digest = self._keyed.copy()
        digest.update(next(self._counter).to_bytes(8, "little"))
        return digest.hexdigest()


_SOURCE = _IdSource()
if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_SOURCE.reseed)


def new_request_id() -> str:
    """Return a new request id: 32 hexadecimal digits, unique and unpredictable.

    128 bits from a keyed hash of a per-process counter (see the module's docstring): unique
    across the threads of a process by the counter, across processes by their own random keys
    (a forked child draws a new one), and no system call is made. It costs about as much as
    ``os.urandom(16).hex()`` in CPU time, without releasing the GIL.
    """
    return _SOURCE.next_id()


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
