"""Escaping control characters, so that text from a request cannot forge log lines.

A path, a method or a header value that ends up in a log record is text a client chose. Written
out raw, a ``\\r\\n`` in it starts what looks like a new record (``CRITICAL ... POST /admin``),
and an ``ESC`` or a ``\\x9b`` (CSI) drives the terminal that shows the log: it clears the screen,
retitles the window, hides the rest of the line. :func:`escape_controls` writes every such
character as a visible escape instead, ``\\n``, ``\\x1b``, ``\\x9b``, ``\\u2028``, so the record
still shows what was sent, on its one line.

Only text that came from outside is escaped, field by field, where a record is made: a message a
program logs itself, and a traceback, keep their line breaks.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["ESCAPED_CHARACTERS", "escape_controls"]

#: What :func:`escape_controls` escapes, as a regular expression character class: the C0 controls
#: (``\\x00``-``\\x1f``, tab and line breaks included), DEL, the C1 controls (``\\x80``-``\\x9f``,
#: NEL and the 8-bit CSI among them), the Unicode line and paragraph separators, and the
#: bidirectional embedding, override and isolate controls, which reorder how the rest of a line
#: is displayed. Every one of them is a character that :meth:`str.isprintable` rejects.
ESCAPED_CHARACTERS: Final = "\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"

_ESCAPED: Final = re.compile(f"[{ESCAPED_CHARACTERS}]")
_NAMED: Final = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def escape_controls(text: str) -> str:
    """Return ``text`` with its control characters written as escapes, safe on one log line.

    ``\\t``, ``\\n`` and ``\\r`` become those two-character escapes; every other character of
    :data:`ESCAPED_CHARACTERS` becomes ``\\xNN`` (up to ``\\xff``) or ``\\uNNNN``, as Python's
    ``repr`` writes them. Everything else, backslashes and non-ASCII letters included, is kept,
    so clean text comes back unchanged (the very object, at the cost of one
    :meth:`str.isprintable` call). The escaped form is for people reading the log: a literal
    backslash followed by ``n`` in the input reads the same as an escaped line feed.

    :param text: text from a request (a path, a method, a header value), or a message built
        from it.
    """
    if text.isprintable():  # the common case: nothing to escape
        return text
    return _ESCAPED.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    character = match.group()
    named = _NAMED.get(character)
    if named is not None:
        return named
    code = ord(character)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
