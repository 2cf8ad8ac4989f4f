"""``escape_controls``: text from a request, made safe to put on one log line."""

from __future__ import annotations

import re
import sys
import timeit

import pytest

from cylinder_logging import escape_controls
from cylinder_logging.escaping import ESCAPED_CHARACTERS

#: Every character the function must escape.
CONTROLS = [
    *map(chr, range(0x20)),
    "\x7f",
    *map(chr, range(0x80, 0xA0)),
    "\u2028",
    "\u2029",
    *map(chr, range(0x202A, 0x202F)),
    *map(chr, range(0x2066, 0x206A)),
]


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("\r", "\\r"),
        ("\n", "\\n"),
        ("\t", "\\t"),
        ("\x00", "\\x00"),
        ("\x1b", "\\x1b"),
        ("\x07", "\\x07"),
        ("\x7f", "\\x7f"),
        ("\x85", "\\x85"),
        ("\x9b", "\\x9b"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
        ("\u202e", "\\u202e"),
        ("\u2066", "\\u2066"),
    ],
)
def test_each_kind_of_control_is_shown_as_an_escape(raw: str, escaped: str) -> None:
    assert escape_controls(f"a{raw}b") == f"a{escaped}b"


def test_a_forged_record_stays_on_its_line_and_shows_what_was_sent() -> None:
    path = "/inj\r\n2026-12-01 10:00:00 CRITICAL [admin] POST /admin/delete-all 200 0.1ms\n\x1b[2J"
    escaped = escape_controls(path)
    assert escaped == (
        "/inj\\r\\n2026-12-01 10:00:00 CRITICAL [admin] POST /admin/delete-all 200 0.1ms\\n\\x1b[2J"
    )
    assert escaped.splitlines() == [escaped]
    assert escape_controls("/\x1b]0;TITLE\x07") == "/\\x1b]0;TITLE\\x07"


def test_every_control_character_is_escaped_and_nothing_else() -> None:
    for character in CONTROLS:
        escaped = escape_controls(character)
        assert escaped.startswith("\\"), repr(character)
        assert escaped.isprintable(), repr(character)
        assert escaped == repr(character)[1:-1] or character in "\t\n\r", repr(character)
    escaped_set = set(CONTROLS)
    kept = [chr(code) for code in range(sys.maxunicode + 1) if chr(code) not in escaped_set]
    text = "".join(kept)
    assert escape_controls(text) == text  # surrogates, letters, other formats: all kept


def test_no_escaped_character_is_printable() -> None:
    """The fast path returns text that ``str.isprintable`` accepts as it is: sound only if no
    character to escape is printable."""
    pattern = re.compile(f"[{ESCAPED_CHARACTERS}]")
    matched = [chr(code) for code in range(sys.maxunicode + 1) if pattern.match(chr(code))]
    assert not [character for character in matched if character.isprintable()]
    assert sorted(CONTROLS) == matched


def test_clean_text_comes_back_as_the_same_object() -> None:
    for text in ["/hello", "", "/caf\u00e9/\u65e5\u672c", "/a\\nb", "GET", "Mozilla/5.0 (X11)"]:
        assert escape_controls(text) is text


def test_backslashes_and_non_breaking_spaces_are_kept() -> None:
    assert escape_controls("C:\\sites\\a\x1b") == "C:\\sites\\a\\x1b"
    assert escape_controls("a\u00a0b\u200bc") == "a\u00a0b\u200bc"  # not printable, not controls


def test_clean_text_costs_next_to_nothing() -> None:
    """The fast path: a clean path costs about one ``str.isprintable`` call, well under a
    microsecond (bounded loosely: the machine is shared)."""
    path = "/api/v1/users/12345/orders?page=2"
    seconds = min(timeit.repeat(lambda: escape_controls(path), number=10_000, repeat=5))
    assert seconds / 10_000 < 2e-6
