"""The file-name grammar: which names are routes, what they route, and why others are not."""

from __future__ import annotations

import pytest

from cylinder_router import DEFAULT_METHOD, KNOWN_METHODS, Kind, NotRoute, RouteName, parse_filename


def rejected(name: str) -> NotRoute:
    parsed = parse_filename(name)
    assert isinstance(parsed, NotRoute), f"{name} parsed as {parsed}"
    assert parsed.name == name
    return parsed


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bar.ex.get.py", RouteName("bar", Kind.HANDLER, method="get")),
        ("bar.ex.post.py", RouteName("bar", Kind.HANDLER, method="post")),
        ("bar.ex.default.py", RouteName("bar", Kind.HANDLER, method="default")),
        ("bar.ex.move.py", RouteName("bar", Kind.HANDLER, method="move")),
        ("bar.ex.frobnicate.py", RouteName("bar", Kind.HANDLER, method="frobnicate")),
        ("foo.eh.get.py", RouteName("foo", Kind.EARLY_HOOK, method="get")),
        ("foo.lh.default.py", RouteName("foo", Kind.LATE_HOOK, method="default")),
        ("bar.400.py", RouteName("bar", Kind.ERROR_HANDLER, code=400)),
        ("webapp1.100.py", RouteName("webapp1", Kind.ERROR_HANDLER, code=100)),
        ("webapp1.599.py", RouteName("webapp1", Kind.ERROR_HANDLER, code=599)),
        ("webapp1.507.py", RouteName("webapp1", Kind.ERROR_HANDLER, code=507)),
        # Names are read from the right: a segment may hold dots.
        ("bar.txt.ex.get.py", RouteName("bar.txt", Kind.HANDLER, method="get")),
        ("v1.2.400.py", RouteName("v1.2", Kind.ERROR_HANDLER, code=400)),
        ("v1.2.eh.get.py", RouteName("v1.2", Kind.EARLY_HOOK, method="get")),
        ("a.ex.ex.get.py", RouteName("a.ex", Kind.HANDLER, method="get")),
        # Segments that are not ASCII, or that start with a dot, are still segments.
        ("café.ex.get.py", RouteName("café", Kind.HANDLER, method="get")),
        ("API.ex.get.py", RouteName("API", Kind.HANDLER, method="get")),
        ("...x.ex.get.py", RouteName("...x", Kind.HANDLER, method="get")),
    ],
)
def test_route_names_parse(name: str, expected: RouteName) -> None:
    assert parse_filename(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "bar.ex.get.py",
        "bar.eh.default.py",
        "bar.lh.options.py",
        "bar.404.py",
        "bar.txt.ex.get.py",
        "v1.2.400.py",
    ],
)
def test_file_name_is_the_inverse_of_parse(name: str) -> None:
    parsed = parse_filename(name)
    assert isinstance(parsed, RouteName)
    assert parsed.file_name() == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("bar.ex.Get.py", "method `Get` must be lower-case: `get`"),
        ("bar.ex.GET.py", "method `GET` must be lower-case: `get`"),
        ("bar.eh.Default.py", "method `Default` must be lower-case: `default`"),
        ("bar.ex.f12.py", "method `f12` must be ASCII letters only"),
        ("bar.ex.get-x.py", "method `get-x` must be ASCII letters only"),
        ("bar.ex.gét.py", "method `gét` must be ASCII letters only"),
        ("bar.ex..py", "method `` must be ASCII letters only"),
        ("bar.ex.get.PY", "extension `.PY` must be lower-case `.py`"),
        ("bar.400.Py", "extension `.Py` must be lower-case `.py`"),
        ("bar.EX.get.py", "kind `EX` must be lower-case `ex`"),
        ("bar.Eh.get.py", "kind `Eh` must be lower-case `eh`"),
        ("bar.xe.get.py", "unknown kind `xe`: expected `ex`, `eh` or `lh`"),
        ("bar.hook.default.py", "unknown kind `hook`: expected `ex`, `eh` or `lh`"),
        ("bar.99.py", "status code `99` must be three digits from 100 to 599"),
        ("bar.600.py", "status code `600` must be three digits from 100 to 599"),
        ("bar.0400.py", "status code `0400` must be three digits from 100 to 599"),
        ("bar.40.py", "status code `40` must be three digits from 100 to 599"),
        ("bar.040.py", "status code `040` must be three digits from 100 to 599"),
        ("bar.1000.py", "status code `1000` must be three digits from 100 to 599"),
        (".400.py", "error handler has an empty segment before the code"),
        (".ex.get.py", "handler has an empty segment before `.ex`"),
        (".eh.get.py", "early hook has an empty segment before `.eh`"),
        (".lh.get.py", "late hook has an empty segment before `.lh`"),
        ("..ex.get.py", "segment `.` can never be matched"),
        ("...ex.get.py", "segment `..` can never be matched"),
        ("...404.py", "segment `..` can never be matched"),
    ],
)
def test_names_that_look_like_routes_are_rejected_with_a_reason(name: str, reason: str) -> None:
    parsed = rejected(name)
    assert parsed.reason == reason
    assert parsed.suspicious


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("helpers.py", "a plain module: no kind or status code in the name"),
        ("db.models.py", "a plain module: no kind or status code in the name"),
        ("bar.ex.py", "a plain module: no kind or status code in the name"),
        ("bar.xe.frob.py", "a plain module: no kind or status code in the name"),
        ("bar.txt", "not a `.py` file"),
        ("style.css", "not a `.py` file"),
        ("README", "not a `.py` file"),
        ("bar.ex.get.pyc", "not a `.py` file"),
        ("bar.ex.get.py.bak", "not a `.py` file"),
        ("bar.ex.get.py~", "not a `.py` file"),
        ("notes.PY", "not a `.py` file"),
        (".env", "not a `.py` file"),
        (".py", "not a `.py` file"),
    ],
)
def test_ordinary_files_are_not_routes_and_not_suspicious(name: str, reason: str) -> None:
    parsed = rejected(name)
    assert parsed.reason == reason
    assert not parsed.suspicious


def test_upper_case_extension_on_a_broken_route_name_is_still_suspicious() -> None:
    # Two mistakes at once still look like a route: `cylinder check` must hear about it.
    parsed = rejected("bar.ex.GET.PY")
    assert parsed.suspicious
    assert parsed.reason == (
        "extension `.PY` must be lower-case `.py`, and method `GET` must be lower-case: `get`"
    )


@pytest.mark.parametrize("code", [100, 200, 301, 400, 404, 405, 418, 500, 501, 503, 599])
def test_every_three_digit_code_from_100_to_599_is_an_error_handler(code: int) -> None:
    assert parse_filename(f"foo.{code}.py") == RouteName("foo", Kind.ERROR_HANDLER, code=code)


def test_method_is_kept_as_written_so_default_is_the_catch_all() -> None:
    parsed = parse_filename("bar.ex.default.py")
    assert isinstance(parsed, RouteName)
    assert parsed.method == DEFAULT_METHOD == "default"
    assert parsed.code is None


def test_known_methods_are_lower_case_letters_and_include_default() -> None:
    assert DEFAULT_METHOD in KNOWN_METHODS
    assert {"get", "head", "post", "put", "delete", "options", "patch"} <= KNOWN_METHODS
    assert all(
        method.isascii() and method.isalpha() and method.islower() for method in KNOWN_METHODS
    )


def test_kind_labels_read_as_words() -> None:
    assert [kind.label for kind in Kind] == [
        "handler",
        "early hook",
        "late hook",
        "error handler",
    ]


@pytest.mark.parametrize(
    ("name", "segment"),
    [
        ("a\\b.ex.get.py", "a\\b"),
        ("x\x1b.400.py", "x\x1b"),
        ("x\x85.lh.get.py", "x\x85"),
        ("\udcff.ex.get.py", "\udcff"),
    ],
)
def test_a_segment_no_url_can_name_is_not_a_route(name: str, segment: str) -> None:
    # Such a file could never be matched (the URL segment is never looked up): say so.
    parsed = rejected(name)
    assert parsed.suspicious
    assert parsed.reason == f"segment {segment!r} can never be matched by a URL"
