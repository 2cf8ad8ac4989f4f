"""Resolution: DECISIONS.md "File names and matching", "HTTP methods" (as resolver facts) and
"Static files" (eligibility), rule by rule."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cylinder_router import (
    DirectoryCache,
    Kind,
    Outcome,
    Resolution,
    RouteFile,
    RouteName,
    Router,
    Site,
    iter_candidates,
    split_path,
)

MakeSite = Callable[..., Site]


def rel(site: Site, file: RouteFile | str | None) -> str | None:
    """A found file's path relative to ``site_dir``, for short assertions."""
    if file is None:
        return None
    path = file if isinstance(file, str) else file.path
    return os.path.relpath(path, site.site_dir)


def handler_of(site: Site, path: str, method: str = "GET") -> str | None:
    return rel(site, Router().resolve(site, path, method).handler)


# Root files and segment files -----------------------------------------------------------------


def test_root_files_beside_the_site_folder_cover_the_root_and_everything_below(
    make_site: MakeSite,
) -> None:
    site = make_site("webapp1.ex.get.py", "webapp1/")
    router = Router()
    for path in ("/", "/foo", "/foo/bar/baz", "/x.txt/"):
        found = router.resolve(site, path, "GET")
        assert found.outcome is Outcome.HANDLER
        assert rel(site, found.handler) == "webapp1.ex.get.py"
        assert found.handler is not None
        assert found.handler.depth == 0
        assert found.handler.prefix == found.prefix == "/"
        assert found.rest == split_path(path).segments


def test_a_segments_files_sit_in_its_parent_folder(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.get.py", "webapp1/foo.ex.get.py", "webapp1/foo/bar.ex.get.py")
    found = Router().resolve(site, "/foo/bar", "GET")
    assert found.handler == RouteFile(
        os.path.join(site.folder, "foo", "bar.ex.get.py"),
        RouteName("bar", Kind.HANDLER, "get"),
        depth=2,
        prefix="/foo/bar",
        exact=True,
    )
    assert handler_of(site, "/foo") == "webapp1/foo.ex.get.py"


def test_a_file_named_after_the_site_inside_the_site_folder_is_a_segment(
    make_site: MakeSite,
) -> None:
    site = make_site("webapp1/webapp1.ex.get.py", "webapp1/")
    assert handler_of(site, "/webapp1") == "webapp1/webapp1.ex.get.py"
    assert Router().resolve(site, "/", "GET").outcome is Outcome.NOT_FOUND


def test_root_files_of_other_sites_do_not_apply(make_site: MakeSite) -> None:
    site = make_site("webapp10.ex.get.py", "webapp.ex.get.py", "other.ex.get.py", "webapp1/")
    assert Router().resolve(site, "/", "GET").outcome is Outcome.NOT_FOUND
    other = make_site(site_name="other")
    assert handler_of(other, "/foo") == "other.ex.get.py"


def test_a_segment_is_both_a_file_and_a_folder(make_site: MakeSite) -> None:
    site = make_site("webapp1/reports.ex.get.py", "webapp1/reports/company.ex.get.py")
    assert handler_of(site, "/reports") == "webapp1/reports.ex.get.py"
    assert handler_of(site, "/reports/company") == "webapp1/reports/company.ex.get.py"
    assert handler_of(site, "/reports/other") == "webapp1/reports.ex.get.py"


def test_segments_with_dots_match_route_files_read_from_the_right(make_site: MakeSite) -> None:
    site = make_site("webapp1/v1.2.ex.get.py", "webapp1/bar.txt.ex.get.py")
    assert handler_of(site, "/v1.2") == "webapp1/v1.2.ex.get.py"
    assert handler_of(site, "/v1.2/x") == "webapp1/v1.2.ex.get.py"
    assert handler_of(site, "/bar.txt") == "webapp1/bar.txt.ex.get.py"


# Search order ---------------------------------------------------------------------------------


def test_longest_prefix_wins(make_site: MakeSite) -> None:
    site = make_site(
        "webapp1.ex.get.py",
        "webapp1/a.ex.get.py",
        "webapp1/a/b.ex.get.py",
        "webapp1/a/b/c.ex.get.py",
    )
    assert handler_of(site, "/a/b/c/d/e") == "webapp1/a/b/c.ex.get.py"
    assert handler_of(site, "/a/b/x") == "webapp1/a/b.ex.get.py"
    assert handler_of(site, "/a/x/c") == "webapp1/a.ex.get.py"
    assert handler_of(site, "/x/a/b/c") == "webapp1.ex.get.py"


def test_exact_method_before_default_at_the_same_level(make_site: MakeSite) -> None:
    site = make_site("webapp1/foo.ex.get.py", "webapp1/foo.ex.default.py")
    found = Router().resolve(site, "/foo", "GET")
    assert rel(site, found.handler) == "webapp1/foo.ex.get.py"
    assert found.handler is not None
    assert found.handler.exact
    found = Router().resolve(site, "/foo", "PATCH")
    assert rel(site, found.handler) == "webapp1/foo.ex.default.py"
    assert found.handler is not None
    assert not found.handler.exact
    assert found.handler.route == RouteName("foo", Kind.HANDLER, "default")


def test_a_deeper_default_beats_a_shallower_exact_method(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.get.py", "webapp1/foo.ex.default.py")
    assert handler_of(site, "/foo/bar") == "webapp1/foo.ex.default.py"


def test_each_kind_is_searched_on_its_own(make_site: MakeSite) -> None:
    site = make_site(
        "webapp1.eh.get.py",
        "webapp1.404.py",
        "webapp1/a.lh.default.py",
        "webapp1/a.500.py",
        "webapp1/a/b.ex.get.py",
        "webapp1/a/b/c.400.py",
    )
    found = Router().resolve(site, "/a/b/c", "GET")
    assert rel(site, found.early_hook) == "webapp1.eh.get.py"
    assert rel(site, found.handler) == "webapp1/a/b.ex.get.py"
    assert rel(site, found.late_hook) == "webapp1/a.lh.default.py"
    assert rel(site, found.error_handler(400)) == "webapp1/a/b/c.400.py"
    assert rel(site, found.error_handler(500)) == "webapp1/a.500.py"
    assert rel(site, found.error_handler(404)) == "webapp1.404.py"
    assert found.error_handler(418) is None


def test_hooks_do_not_chain_the_nearest_runs_alone(make_site: MakeSite) -> None:
    site = make_site(
        "webapp1.ex.get.py",
        "webapp1.eh.get.py",
        "webapp1.lh.get.py",
        "webapp1/a.eh.get.py",
        "webapp1/a.lh.default.py",
        "webapp1/a/b.eh.default.py",
    )
    found = Router().resolve(site, "/a/b", "GET")
    assert rel(site, found.early_hook) == "webapp1/a/b.eh.default.py"
    assert rel(site, found.late_hook) == "webapp1/a.lh.default.py"
    # Only one file of each kind is ever returned: no list, no chain.
    assert isinstance(found.early_hook, RouteFile)
    assert isinstance(found.late_hook, RouteFile)
    found = Router().resolve(site, "/z", "GET")
    assert rel(site, found.early_hook) == "webapp1.eh.get.py"
    assert rel(site, found.late_hook) == "webapp1.lh.get.py"


def test_hooks_match_the_method_exactly_before_default(make_site: MakeSite) -> None:
    site = make_site(
        "webapp1.ex.default.py", "webapp1/a.eh.get.py", "webapp1/a.eh.default.py", "webapp1/a/"
    )
    assert rel(site, Router().resolve(site, "/a", "GET").early_hook) == "webapp1/a.eh.get.py"
    assert rel(site, Router().resolve(site, "/a", "PUT").early_hook) == "webapp1/a.eh.default.py"


def test_hooks_for_another_method_do_not_run(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.default.py", "webapp1.eh.post.py", "webapp1.lh.post.py")
    found = Router().resolve(site, "/", "GET")
    assert found.early_hook is None
    assert found.late_hook is None


def test_error_handlers_are_found_without_a_handler(make_site: MakeSite) -> None:
    site = make_site("webapp1.404.py", "webapp1/api.404.py", "webapp1/api/")
    router = Router()
    found = router.resolve(site, "/api/nothing", "GET")
    assert found.outcome is Outcome.NOT_FOUND
    assert rel(site, found.error_handler(404)) == "webapp1/api.404.py"
    assert rel(site, router.error_handler(site, "/api/nothing", 404)) == "webapp1/api.404.py"
    assert rel(site, router.error_handler(site, "/other", 404)) == "webapp1.404.py"
    assert router.error_handler(site, "/api", 500) is None


def test_error_handler_file_is_described(make_site: MakeSite) -> None:
    site = make_site("webapp1/api.404.py")
    assert Router().error_handler(site, "/api/x", 404) == RouteFile(
        os.path.join(site.folder, "api.404.py"),
        RouteName("api", Kind.ERROR_HANDLER, code=404),
        depth=1,
        prefix="/api",
        exact=True,
    )


# Dropped segments, case, trailing slash -------------------------------------------------------


def test_empty_dot_and_dotdot_segments_are_dropped_before_matching(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.get.py", "webapp1/a/b/c.ex.get.py", "webapp1/c.ex.get.py")
    for path in ("/a//b/../c", "/a/./b/c", "//a/b/c", "/../a/b/c", "/a/b/./c/.."):
        found = Router().resolve(site, path, "GET")
        assert rel(site, found.handler) == "webapp1/a/b/c.ex.get.py", path
        assert found.path.normalized == "/a/b/c"


def test_dotdot_can_never_reach_the_root_files_or_beyond(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.get.py", "secret.txt", "webapp1.404.py", "webapp1/")
    router = Router()
    for path in ("/../secret.txt", "/../../secret.txt", "/..%2fsecret.txt", "/%2e%2e/secret.txt"):
        found = router.resolve(site, path, "GET")
        assert found.outcome is Outcome.HANDLER, path
        assert found.static_file is None
    assert router.static_file(site, "/../secret.txt") is None
    assert router.static_file(site, "/../webapp1.404.py") is None


def test_percent_encoded_names_are_literal(make_site: MakeSite) -> None:
    site = make_site("webapp1/%2e%2e.ex.get.py", "webapp1/%2e%2e/x.txt", "webapp1.ex.get.py")
    assert handler_of(site, "/%2e%2e") == "webapp1/%2e%2e.ex.get.py"
    assert handler_of(site, "/..") == "webapp1.ex.get.py"
    assert rel(site, Router().static_file(site, "/%2e%2e/x.txt")) == "webapp1/%2e%2e/x.txt"


def test_matching_is_case_sensitive(make_site: MakeSite) -> None:
    site = make_site("webapp1/foo.ex.get.py", "webapp1/foo/bar.ex.get.py", "webapp1/foo/x.txt")
    router = Router()
    assert router.resolve(site, "/Foo", "GET").outcome is Outcome.NOT_FOUND
    assert router.resolve(site, "/FOO/bar", "GET").outcome is Outcome.NOT_FOUND
    assert handler_of(site, "/foo/Bar") == "webapp1/foo.ex.get.py"
    assert router.static_file(site, "/foo/X.TXT") is None
    assert router.static_file(site, "/Foo/x.txt") is None


@pytest.fixture
def case_insensitive_fs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make ``os.stat`` and ``os.scandir`` answer as a case-insensitive filesystem would (as on
    macOS or Windows), and record every path they are asked about."""
    real_stat, real_scandir, real_listdir = os.stat, os.scandir, os.listdir
    asked: list[str] = []

    def fold(path: str) -> str:
        if os.path.lexists(path):
            return path
        head, tail = os.path.split(path)
        if not tail or head == path:
            return path
        head = fold(head)
        try:
            names = real_listdir(head)
        except OSError:
            return os.path.join(head, tail)
        matches = [name for name in names if name.casefold() == tail.casefold()]
        return os.path.join(head, matches[0] if matches else tail)

    def stat(path: str, *args: object, **kwargs: object) -> os.stat_result:
        asked.append(path)
        return real_stat(fold(path), *args, **kwargs)  # type: ignore[arg-type]

    def scandir(path: str) -> Iterator[os.DirEntry[str]]:
        asked.append(path)
        return real_scandir(fold(path))

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "scandir", scandir)
    return asked


def test_exact_case_even_on_a_case_insensitive_filesystem(
    make_site: MakeSite, case_insensitive_fs: list[str]
) -> None:
    site = make_site("webapp1/foo.ex.get.py", "webapp1/foo/bar.ex.get.py", "webapp1/foo/x.txt")
    # The emulated filesystem does answer for the wrong case...
    assert os.stat(os.path.join(site.folder, "FOO", "X.TXT")).st_size > 0
    case_insensitive_fs.clear()
    # ...but the router never asks it about a name taken from the URL: it looks names up in
    # the folder's listing, where they are spelled as on disk.
    router = Router()
    assert router.resolve(site, "/Foo", "GET").outcome is Outcome.NOT_FOUND
    assert router.resolve(site, "/FOO/bar", "GET").outcome is Outcome.NOT_FOUND
    assert router.static_file(site, "/FOO/X.TXT") is None
    assert router.static_file(site, "/foo/X.TXT") is None
    assert handler_of(site, "/foo/BAR") == "webapp1/foo.ex.get.py"
    assert case_insensitive_fs
    assert not [path for path in case_insensitive_fs if "FOO" in path or "Foo" in path]
    assert rel(site, router.static_file(site, "/foo/x.txt")) == "webapp1/foo/x.txt"


def test_trailing_slash_does_not_change_the_handler(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.get.py", "webapp1/foo/bar.ex.get.py", "webapp1/foo/bar.eh.get.py")
    router = Router()
    plain = router.resolve(site, "/foo/bar", "GET")
    slashed = router.resolve(site, "/foo/bar/", "GET")
    assert slashed.outcome is Outcome.HANDLER  # answered where it is: no redirect
    assert slashed.handler == plain.handler
    assert slashed.early_hook == plain.early_hook
    assert slashed.path.trailing_slash
    assert slashed.rest == plain.rest == ()


# Unsafe segments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "segment", ["a\\b", "..\\..", "x\x00", "x\n", "x\x85", "\ud800", "y" * 256]
)
def test_unsafe_segments_stop_the_search_and_stay_path_data(
    make_site: MakeSite, segment: str
) -> None:
    site = make_site("webapp1.ex.get.py", "webapp1/foo.ex.get.py", "webapp1/foo/")
    found = Router().resolve(site, f"/foo/{segment}/bar", "GET")
    assert rel(site, found.handler) == "webapp1/foo.ex.get.py"
    assert found.rest == (segment, "bar")
    assert [level.segment for level in found.levels] == ["webapp1", "foo"]


# Methods --------------------------------------------------------------------------------------


def test_custom_methods_route_to_files_named_after_them(make_site: MakeSite) -> None:
    site = make_site("webapp1/foo/bar.ex.move.py", "webapp1/foo/bar.ex.get.py")
    found = Router().resolve(site, "/foo/bar", "MOVE")
    assert found.outcome is Outcome.HANDLER
    assert found.route_method == "move"
    assert rel(site, found.handler) == "webapp1/foo/bar.ex.move.py"
    assert found.allowed == {"GET", "HEAD", "MOVE", "OPTIONS"}


def test_method_not_allowed_lists_the_methods_of_the_path(make_site: MakeSite) -> None:
    site = make_site(
        "webapp1.ex.get.py",
        "webapp1/foo.ex.post.py",
        "webapp1/foo/bar.ex.put.py",
        "webapp1/other.ex.delete.py",
    )
    found = Router().resolve(site, "/foo/bar", "PATCH")
    assert found.outcome is Outcome.METHOD_NOT_ALLOWED
    assert found.handler is None
    assert found.prefix is None
    assert found.rest == ("foo", "bar")
    assert found.allowed == {"GET", "HEAD", "POST", "PUT", "OPTIONS"}
    assert found.allow_header == "GET, HEAD, OPTIONS, POST, PUT"
    assert not found.any_method
    assert found.error_handler(405) is None
    make_site("webapp1/foo.405.py")
    assert rel(site, Router().resolve(site, "/foo/bar", "PATCH").error_handler(405)) == (
        "webapp1/foo.405.py"
    )


def test_head_is_allowed_only_where_get_is(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.post.py")
    found = Router().resolve(site, "/", "GET")
    assert found.outcome is Outcome.METHOD_NOT_ALLOWED
    assert found.allowed == {"POST", "OPTIONS"}


def test_not_found_when_nothing_handles_any_method(make_site: MakeSite) -> None:
    site = make_site("webapp1.eh.get.py", "webapp1.lh.get.py", "webapp1.404.py", "webapp1/x.txt")
    found = Router().resolve(site, "/nothing/here", "GET")
    assert found.outcome is Outcome.NOT_FOUND
    assert found.handler is None
    assert found.static_file is None
    assert found.allowed == {"OPTIONS"}
    # Hooks and the error handler still apply to the framework's 404.
    assert rel(site, found.early_hook) == "webapp1.eh.get.py"
    assert rel(site, found.late_hook) == "webapp1.lh.get.py"
    assert rel(site, found.error_handler(404)) == "webapp1.404.py"


def test_default_handler_takes_every_method(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.get.py", "webapp1/foo.ex.default.py", "webapp1/foo/")
    router = Router()
    for method in ("PUT", "DELETE", "PROPFIND", "BREW", "OPTIONS", "HEAD"):
        found = router.resolve(site, "/foo/x", method)
        assert found.outcome is Outcome.HANDLER, method
        assert rel(site, found.handler) == "webapp1/foo.ex.default.py"
        assert found.any_method
        assert found.route_method == method.lower()
    # `default` is not a method: it is not listed in `Allow`.
    assert router.resolve(site, "/foo", "GET").allowed == {"GET", "HEAD", "OPTIONS"}


def test_any_method_is_false_without_a_default_handler_on_the_path(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.get.py", "webapp1/other.ex.default.py", "webapp1/foo/")
    assert not Router().resolve(site, "/foo", "GET").any_method
    assert Router().resolve(site, "/other/x", "GET").any_method


def test_head_without_head_or_default_is_routed_as_get(make_site: MakeSite) -> None:
    site = make_site(
        "webapp1.ex.get.py",
        "webapp1.404.py",
        "webapp1/foo.eh.get.py",
        "webapp1/foo.lh.get.py",
        "webapp1/foo.eh.head.py",
        "webapp1/foo/bar.ex.get.py",
    )
    found = Router().resolve(site, "/foo/bar", "HEAD")
    assert found.head_as_get
    assert found.method == "HEAD"
    assert found.route_method == "get"
    assert found.outcome is Outcome.HANDLER
    assert rel(site, found.handler) == "webapp1/foo/bar.ex.get.py"
    # Hooks included: the GET hooks run, not the HEAD ones.
    assert rel(site, found.early_hook) == "webapp1/foo.eh.get.py"
    assert rel(site, found.late_hook) == "webapp1/foo.lh.get.py"
    assert rel(site, found.error_handler(404)) == "webapp1.404.py"


def test_head_with_a_head_handler_on_the_path_is_routed_as_head(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.head.py", "webapp1/foo/bar.ex.get.py")
    found = Router().resolve(site, "/foo/bar", "HEAD")
    assert not found.head_as_get
    assert found.route_method == "head"
    assert rel(site, found.handler) == "webapp1.ex.head.py"


def test_head_with_a_default_handler_on_the_path_is_routed_as_head(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.default.py", "webapp1.eh.head.py", "webapp1/foo/bar.ex.get.py")
    found = Router().resolve(site, "/foo/bar", "HEAD")
    assert not found.head_as_get
    assert found.route_method == "head"
    assert rel(site, found.handler) == "webapp1.ex.default.py"
    assert rel(site, found.early_hook) == "webapp1.eh.head.py"


def test_head_with_no_get_either_is_method_not_allowed(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.post.py")
    found = Router().resolve(site, "/", "HEAD")
    assert found.head_as_get
    assert found.outcome is Outcome.METHOD_NOT_ALLOWED
    assert found.allowed == {"POST", "OPTIONS"}


def test_options_where_nothing_answers_any_method_is_not_found(make_site: MakeSite) -> None:
    site = make_site("webapp1/api.ex.post.py", "webapp1/api.eh.options.py", "webapp1/api/")
    found = Router().resolve(site, "/elsewhere", "OPTIONS")
    assert found.outcome is Outcome.NOT_FOUND
    assert Router().resolve(site, "/api", "OPTIONS").outcome is Outcome.OPTIONS


def test_options_without_a_handler_is_answered_by_the_framework(make_site: MakeSite) -> None:
    site = make_site(
        "webapp1.ex.get.py",
        "webapp1/api.ex.post.py",
        "webapp1/api.eh.options.py",
        "webapp1/api.lh.default.py",
        "webapp1/api/",
    )
    found = Router().resolve(site, "/api/users", "OPTIONS")
    assert found.outcome is Outcome.OPTIONS
    assert found.handler is None
    assert found.route_method == "options"
    assert found.allowed == {"GET", "HEAD", "POST", "OPTIONS"}
    assert found.allow_header == "GET, HEAD, OPTIONS, POST"
    # The OPTIONS (or default) hooks still run around the framework's answer: CORS works.
    assert rel(site, found.early_hook) == "webapp1/api.eh.options.py"
    assert rel(site, found.late_hook) == "webapp1/api.lh.default.py"


def test_options_with_an_options_handler_runs_it(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.get.py", "webapp1/api.ex.options.py")
    found = Router().resolve(site, "/api", "OPTIONS")
    assert found.outcome is Outcome.HANDLER
    assert rel(site, found.handler) == "webapp1/api.ex.options.py"


@pytest.mark.parametrize(
    ("method", "refusal"),
    [
        ("DEFAULT", "method `DEFAULT` is reserved for catch-all files"),
        ("default", "method `default` is reserved for catch-all files"),
        ("Default", "method `Default` is reserved for catch-all files"),
        ("M-SEARCH", "method 'M-SEARCH' is not a token of ASCII letters"),
        ("GET1", "method 'GET1' is not a token of ASCII letters"),
        ("", "method '' is not a token of ASCII letters"),
        ("G\x00T", "method 'G\\x00T' is not a token of ASCII letters"),
        ("A" * 65, "method is longer than 64 characters"),
    ],
)
def test_unroutable_methods_are_not_implemented(
    make_site: MakeSite, method: str, refusal: str
) -> None:
    site = make_site(
        "webapp1.ex.default.py",
        "webapp1.eh.default.py",
        "webapp1.lh.default.py",
        "webapp1.501.py",
        "webapp1/x.txt",
    )
    found = Router().resolve(site, "/x.txt", method)
    assert found.outcome is Outcome.NOT_IMPLEMENTED
    assert found.refusal == refusal
    assert found.method == method
    assert found.route_method == "default"
    assert not found.head_as_get
    assert found.handler is None
    assert found.static_file is None
    assert found.prefix is None
    # A 501 is an ordinary error: its handler, and the catch-all hooks, still apply.
    assert rel(site, found.error_handler(501)) == "webapp1.501.py"
    assert rel(site, found.early_hook) == "webapp1.eh.default.py"
    assert rel(site, found.late_hook) == "webapp1.lh.default.py"


def test_a_routable_method_has_no_refusal(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.get.py")
    assert Router().resolve(site, "/", "GET").refusal is None


# Static files ---------------------------------------------------------------------------------


def test_static_file_on_an_exact_get_or_head(make_site: MakeSite) -> None:
    site = make_site("webapp1/example1.json", "webapp1/foo/example2.css")
    router = Router()
    for method in ("GET", "HEAD"):
        found = router.resolve(site, "/foo/example2.css", method)
        assert found.outcome is Outcome.STATIC
        assert found.static_file == os.path.join(site.folder, "foo", "example2.css")
        assert found.handler is None
        assert found.prefix == "/foo/example2.css"
        assert found.rest == ()
        assert found.allowed == {"GET", "HEAD", "OPTIONS"}
    assert rel(site, router.static_file(site, "/example1.json")) == "webapp1/example1.json"


def test_static_file_matches_after_dropping_empty_and_dot_segments(make_site: MakeSite) -> None:
    site = make_site("webapp1/foo/bar.txt")
    found = Router().resolve(site, "//foo/./bar.txt", "GET")
    assert found.outcome is Outcome.STATIC
    assert rel(site, found.static_file) == "webapp1/foo/bar.txt"


def test_static_file_wins_over_handlers_on_get_and_head(make_site: MakeSite) -> None:
    site = make_site(
        "webapp1.ex.get.py",
        "webapp1.eh.get.py",
        "webapp1/foo.ex.default.py",
        "webapp1/foo/bar.txt",
        "webapp1/foo/bar.txt.ex.get.py",
    )
    router = Router()
    for method in ("GET", "HEAD"):
        found = router.resolve(site, "/foo/bar.txt", method)
        assert found.outcome is Outcome.STATIC
        assert found.handler is None
        assert rel(site, found.static_file) == "webapp1/foo/bar.txt"
    # Hooks still run around a static file.
    assert rel(site, router.resolve(site, "/foo/bar.txt", "GET").early_hook) == "webapp1.eh.get.py"


def test_other_methods_on_a_static_path_fall_through_to_handlers(make_site: MakeSite) -> None:
    site = make_site("webapp1/foo.ex.default.py", "webapp1/foo/bar.txt")
    found = Router().resolve(site, "/foo/bar.txt", "POST")
    assert found.outcome is Outcome.HANDLER
    assert found.static_file is None
    assert rel(site, found.handler) == "webapp1/foo.ex.default.py"
    assert found.rest == ("bar.txt",)


def test_post_to_a_static_only_path_is_method_not_allowed(make_site: MakeSite) -> None:
    site = make_site("webapp1/foo/bar.txt")
    found = Router().resolve(site, "/foo/bar.txt", "POST")
    assert found.outcome is Outcome.METHOD_NOT_ALLOWED
    assert found.static_file is None
    assert found.allowed == {"GET", "HEAD", "OPTIONS"}
    assert Router().resolve(site, "/foo/bar.txt", "OPTIONS").outcome is Outcome.OPTIONS


def test_static_file_is_only_served_on_an_exact_match(make_site: MakeSite) -> None:
    site = make_site("webapp1/foo/bar.txt", "webapp1/foo/sub/")
    router = Router()
    for path in ("/foo/bar.txt/extra", "/foo/bar", "/foo", "/foo/sub", "/bar.txt", "/"):
        assert router.resolve(site, path, "GET").outcome is Outcome.NOT_FOUND, path
        assert router.static_file(site, path) is None


def test_trailing_slash_form_of_a_file_is_never_served(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.get.py", "webapp1/x.txt")
    router = Router()
    for path in ("/x.txt/", "/x.txt//"):
        found = router.resolve(site, path, "GET")
        assert found.outcome is Outcome.HANDLER
        assert found.static_file is None
        assert rel(site, found.handler) == "webapp1.ex.get.py"
        assert router.static_file(site, path) is None
    assert router.resolve(site, "/x.txt", "GET").outcome is Outcome.STATIC


@pytest.mark.parametrize(
    "name",
    ["helpers.py", "bar.ex.get.py", "x.PY", "x.Py", "x.pyc", "x.PYC", "x.pyo", "x.pYo"],
)
def test_python_files_are_never_served_in_any_case(make_site: MakeSite, name: str) -> None:
    site = make_site(f"webapp1/foo/{name}", "webapp1.ex.get.py")
    path = f"/foo/{name}"
    found = Router().resolve(site, path, "GET")
    assert found.outcome is Outcome.HANDLER
    assert found.static_file is None
    assert Router().static_file(site, path) is None


@pytest.mark.parametrize(
    "path",
    ["webapp1/.env", "webapp1/.git/config", "webapp1/foo/.hidden.txt", "webapp1/.well-known/x"],
)
def test_dot_segments_are_never_served(make_site: MakeSite, path: str) -> None:
    site = make_site(path)
    url = path.removeprefix("webapp1")
    assert Router().resolve(site, url, "GET").outcome is Outcome.NOT_FOUND
    assert Router().static_file(site, url) is None


def test_pycache_is_never_served(make_site: MakeSite) -> None:
    site = make_site("webapp1/__pycache__/x.txt", "webapp1/foo/__pycache__/y.json")
    assert Router().static_file(site, "/__pycache__/x.txt") is None
    assert Router().static_file(site, "/foo/__pycache__/y.json") is None
    assert Router().resolve(site, "/__pycache__/x.txt", "GET").outcome is Outcome.NOT_FOUND


def test_file_symlink_out_of_the_site_is_never_served(make_site: MakeSite, tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("secret")
    site = make_site(
        "secret.txt",
        "webapp1/out.txt -> ../../outside.txt",
        "webapp1/beside.txt -> ../secret.txt",
        "webapp1/abs.txt -> /etc/hostname",
    )
    router = Router()
    for url in ("/out.txt", "/beside.txt", "/abs.txt"):
        assert router.static_file(site, url) is None, url
        assert router.resolve(site, url, "GET").outcome is Outcome.NOT_FOUND


def test_folder_symlink_out_of_the_site_is_never_entered(
    make_site: MakeSite, tmp_path: Path
) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("secret")
    (tmp_path / "outside" / "x.ex.get.py").write_text("")
    (tmp_path / "outside" / "x.404.py").write_text("")
    site = make_site("webapp1/outdir.ex.get.py", "webapp1/outdir -> ../../outside")
    router = Router()
    assert router.static_file(site, "/outdir/secret.txt") is None
    found = router.resolve(site, "/outdir/x", "GET")
    # The segment's own file (in the site) still answers; nothing below the link is used.
    assert rel(site, found.handler) == "webapp1/outdir.ex.get.py"
    assert found.rest == ("x",)
    assert found.error_handler(404) is None
    assert [level.segment for level in found.levels] == ["webapp1", "outdir"]


def test_symlinks_inside_the_site_are_followed(make_site: MakeSite) -> None:
    site = make_site(
        "webapp1/assets/logo.svg",
        "webapp1/assets/app.ex.get.py",
        "webapp1/logo.svg -> assets/logo.svg",
        "webapp1/static -> assets",
    )
    router = Router()
    assert rel(site, router.static_file(site, "/logo.svg")) == "webapp1/logo.svg"
    assert rel(site, router.static_file(site, "/static/logo.svg")) == "webapp1/static/logo.svg"
    assert router.resolve(site, "/static/logo.svg", "GET").outcome is Outcome.STATIC
    assert handler_of(site, "/static/app") == "webapp1/static/app.ex.get.py"


def test_symlink_to_a_python_or_hidden_file_inside_the_site_is_never_served(
    make_site: MakeSite,
) -> None:
    # The rules are about the file served, not only the name in the URL.
    site = make_site(
        "webapp1/app.ex.get.py",
        "webapp1/.env",
        "webapp1/.git/config",
        "webapp1/__pycache__/x.txt",
        "webapp1/source.txt -> app.ex.get.py",
        "webapp1/env.txt -> .env",
        "webapp1/gitdir -> .git",
        "webapp1/cache -> __pycache__",
    )
    router = Router()
    for url in ("/source.txt", "/env.txt", "/gitdir/config", "/cache/x.txt"):
        assert router.static_file(site, url) is None, url
        assert router.resolve(site, url, "GET").outcome is not Outcome.STATIC


def test_site_folder_may_itself_be_a_symlink(make_site: MakeSite, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.txt").write_text("x")
    site = make_site("webapp1 -> ../elsewhere")
    assert rel(site, Router().static_file(site, "/x.txt")) == "webapp1/x.txt"


def test_a_folder_is_never_a_static_file(make_site: MakeSite) -> None:
    site = make_site("webapp1/foo/bar/")
    assert Router().static_file(site, "/foo/bar") is None
    assert Router().static_file(site, "/foo") is None


def test_a_broken_symlink_is_not_a_static_file(make_site: MakeSite) -> None:
    site = make_site("webapp1/gone.txt -> nothing.txt")
    assert Router().static_file(site, "/gone.txt") is None


# Resolution as data ---------------------------------------------------------------------------


def test_resolution_is_frozen_and_slotted(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.get.py")
    found = Router().resolve(site, "/", "GET")
    assert not hasattr(found, "__dict__")
    with pytest.raises(AttributeError):
        found.outcome = Outcome.NOT_FOUND  # type: ignore[misc]


def test_resolve_accepts_an_already_split_path(make_site: MakeSite) -> None:
    site = make_site("webapp1/a/b.ex.get.py")
    router = Router()
    assert router.resolve(site, split_path("/a/b"), "GET") == router.resolve(site, "/a/b", "GET")


def test_levels_go_as_deep_as_folders_exist(make_site: MakeSite) -> None:
    site = make_site("webapp1/a/b/c.txt", "webapp1/a/b/d/")
    levels = Router().levels(site, split_path("/a/b/c.txt/e/f"))
    assert [(level.depth, level.segment, level.prefix) for level in levels] == [
        (0, "webapp1", "/"),
        (1, "a", "/a"),
        (2, "b", "/a/b"),
        (3, "c.txt", "/a/b/c.txt"),
    ]
    assert [level.listing.path for level in levels] == [
        site.site_dir,
        site.folder,
        os.path.join(site.folder, "a"),
        os.path.join(site.folder, "a", "b"),
    ]


def test_error_handler_of_a_resolution_does_no_io(
    make_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site("webapp1.404.py", "webapp1/a.500.py", "webapp1/a/")
    found = Router().resolve(site, "/a/b", "GET")

    def no_io(*args: object, **kwargs: object) -> None:
        raise AssertionError("error_handler touched the filesystem")

    monkeypatch.setattr(os, "stat", no_io)
    monkeypatch.setattr(os, "scandir", no_io)
    assert rel(site, found.error_handler(404)) == "webapp1.404.py"
    assert rel(site, found.error_handler(500)) == "webapp1/a.500.py"


# Freshness ------------------------------------------------------------------------------------


def test_changes_are_seen_by_the_very_next_resolution(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.get.py", "webapp1/")
    router = Router()
    assert handler_of_with(router, site, "/foo/bar") == "webapp1.ex.get.py"
    # A file added.
    make_site("webapp1/foo.ex.get.py")
    assert handler_of_with(router, site, "/foo/bar") == "webapp1/foo.ex.get.py"
    # A folder added, with a handler in it.
    make_site("webapp1/foo/bar.ex.get.py")
    assert handler_of_with(router, site, "/foo/bar") == "webapp1/foo/bar.ex.get.py"
    # Edited by rename (as editors save): get becomes default.
    folder = Path(site.folder) / "foo"
    (folder / "bar.ex.default.py.tmp").write_text("")
    os.replace(folder / "bar.ex.default.py.tmp", folder / "bar.ex.default.py")
    (folder / "bar.ex.get.py").unlink()
    found = router.resolve(site, "/foo/bar", "GET")
    assert rel(site, found.handler) == "webapp1/foo/bar.ex.default.py"
    assert found.any_method
    # Removed.
    (folder / "bar.ex.default.py").unlink()
    assert handler_of_with(router, site, "/foo/bar") == "webapp1/foo.ex.get.py"
    # A static file added, then removed.
    make_site("webapp1/foo/bar")
    assert router.resolve(site, "/foo/bar", "GET").outcome is Outcome.STATIC
    (folder / "bar").unlink()
    assert router.resolve(site, "/foo/bar", "GET").outcome is Outcome.HANDLER
    # A root file removed.
    (Path(site.site_dir) / "webapp1.ex.get.py").unlink()
    assert router.resolve(site, "/x", "GET").outcome is Outcome.NOT_FOUND


def handler_of_with(router: Router, site: Site, path: str) -> str | None:
    return rel(site, router.resolve(site, path, "GET").handler)


def test_changes_in_a_settled_site_are_seen_at_once(
    make_site: MakeSite, settle_tree: Callable[[Path], None]
) -> None:
    site = make_site("webapp1.ex.get.py", "webapp1/foo/bar.txt")
    settle_tree(Path(site.site_dir))
    router = Router()
    assert router.resolve(site, "/foo/new", "GET").outcome is Outcome.HANDLER
    make_site("webapp1/foo/new.ex.get.py")
    assert handler_of_with(router, site, "/foo/new") == "webapp1/foo/new.ex.get.py"


def test_settled_site_is_resolved_with_one_stat_per_folder_and_no_listing(
    make_site: MakeSite,
    settle_tree: Callable[[Path], None],
    listed_folders: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = make_site(
        "webapp1.ex.get.py",
        "webapp1/a/b/c.ex.get.py",
        *(f"webapp1/a/b/filler{i}.ex.get.py" for i in range(200)),
    )
    settle_tree(Path(site.site_dir))
    router = Router()
    router.resolve(site, "/a/b/c/d", "GET")  # warm up: lists each folder once
    assert len(listed_folders) == 4
    listed_folders.clear()

    stats: list[str] = []
    real_stat = os.stat

    def counting_stat(path: str, *args: object, **kwargs: object) -> os.stat_result:
        stats.append(path)
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    def no_scandir(path: str) -> None:
        raise AssertionError(f"listed {path}")

    monkeypatch.setattr(os, "stat", counting_stat)
    monkeypatch.setattr(os, "scandir", no_scandir)
    found = router.resolve(site, "/a/b/c/d", "GET")
    assert rel(site, found.handler) == "webapp1/a/b/c.ex.get.py"
    assert listed_folders == []
    # site_dir, the site folder, a, b: one stat each, whatever the number of files.
    assert stats == [
        site.site_dir,
        site.folder,
        os.path.join(site.folder, "a"),
        os.path.join(site.folder, "a", "b"),
    ]


def test_router_with_no_racy_window_lists_only_the_folder_that_changed(
    make_site: MakeSite, listed_folders: list[str]
) -> None:
    site = make_site("webapp1.ex.get.py", "webapp1/a/b/c.ex.get.py")
    router = Router(DirectoryCache(racy_window_ns=0))
    router.resolve(site, "/a/b/c", "GET")
    assert len(listed_folders) == 4  # site_dir, the site folder, a, b
    listed_folders.clear()
    router.resolve(site, "/a/b/c", "GET")
    assert listed_folders == []
    changed = os.path.join(site.folder, "a")
    os.utime(changed, ns=(1_000_000_000_000_000_000,) * 2)
    router.resolve(site, "/a/b/c", "GET")
    assert listed_folders == [changed]


def test_routers_do_not_share_caches(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.get.py")
    first, second = Router(), Router()
    assert first.cache is not second.cache
    shared = DirectoryCache()
    assert Router(shared).cache is shared
    first.resolve(site, "/", "GET")
    second.resolve(site, "/", "GET")


# iter_candidates ------------------------------------------------------------------------------


def test_iter_candidates_lists_the_search_in_order(tmp_path: Path) -> None:
    site = Site(str(tmp_path), "webapp1")
    folder = os.path.join(str(tmp_path), "webapp1")
    assert list(iter_candidates(site, split_path("/foo/bar"), Kind.HANDLER, "get")) == [
        (2, os.path.join(folder, "foo"), "bar.ex.get.py"),
        (2, os.path.join(folder, "foo"), "bar.ex.default.py"),
        (1, folder, "foo.ex.get.py"),
        (1, folder, "foo.ex.default.py"),
        (0, str(tmp_path), "webapp1.ex.get.py"),
        (0, str(tmp_path), "webapp1.ex.default.py"),
    ]


def test_iter_candidates_for_default_and_hooks(tmp_path: Path) -> None:
    site = Site(str(tmp_path), "webapp1")
    assert [
        name for _, _, name in iter_candidates(site, split_path("/a"), Kind.LATE_HOOK, "default")
    ] == [
        "a.lh.default.py",
        "webapp1.lh.default.py",
    ]
    assert [
        name for _, _, name in iter_candidates(site, split_path("/"), Kind.EARLY_HOOK, "post")
    ] == [
        "webapp1.eh.post.py",
        "webapp1.eh.default.py",
    ]


def test_iter_candidates_refuses_error_handlers(tmp_path: Path) -> None:
    site = Site(str(tmp_path), "webapp1")
    with pytest.raises(ValueError, match=r"^`iter_candidates` lists handlers and hooks"):
        list(iter_candidates(site, split_path("/a"), Kind.ERROR_HANDLER, "get"))


def test_iter_candidates_does_not_touch_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_io(*args: object, **kwargs: object) -> None:
        raise AssertionError("iter_candidates touched the filesystem")

    monkeypatch.setattr(os, "stat", no_io)
    monkeypatch.setattr(os, "scandir", no_io)
    site = Site(str(tmp_path / "missing"), "webapp1")
    assert len(list(iter_candidates(site, split_path("/a/b/c"), Kind.HANDLER, "put"))) == 8


def test_first_existing_candidate_is_the_resolved_handler(make_site: MakeSite) -> None:
    site = make_site(
        "webapp1.ex.default.py",
        "webapp1/a.ex.get.py",
        "webapp1/a/b.ex.post.py",
        "webapp1/a/b/c.ex.default.py",
        "webapp1/a/b/c/",
    )
    router = Router()
    for path in ("/a/b/c/d", "/a/b/x", "/a/b", "/a", "/"):
        for method in ("get", "post", "put"):
            found: Resolution = router.resolve(site, path, method.upper())
            first = next(
                os.path.join(folder, name)
                for _, folder, name in iter_candidates(site, found.path, Kind.HANDLER, method)
                if os.path.isfile(os.path.join(folder, name))
            )
            assert found.handler is not None
            assert found.handler.path == first, (path, method)


def test_unchanged_resolution_is_reused_and_a_change_is_seen(
    make_site: MakeSite, settle_tree: Callable[[Path], None]
) -> None:
    site = make_site("webapp1.ex.get.py", "webapp1/foo.ex.get.py", "webapp1/")
    settle_tree(Path(site.site_dir))  # old mtimes: listings are kept, so resolutions can be
    router = Router()
    first = router.resolve(site, "/foo/bar", "GET")
    assert router.resolve(site, "/foo/bar", "GET") is first
    os.remove(os.path.join(site.folder, "foo.ex.get.py"))
    again = router.resolve(site, "/foo/bar", "GET")
    assert again is not first
    assert again.handler is not None
    assert again.handler.prefix == "/"


def test_kept_resolutions_are_bounded(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.get.py")
    router = Router(max_resolutions=8)
    for n in range(100):
        router.resolve(site, f"/unique/{n}", "GET")
    assert len(router._resolutions) <= 8


def test_an_answer_through_a_link_is_never_reused(
    make_site: MakeSite, settle_tree: Callable[[Path], None]
) -> None:
    """Where a link leads is not in the listings on the path: retargeting the link at the
    far end must be seen, or a `.py` file could be served through a stale answer."""
    site = make_site("webapp1.ex.get.py", "webapp1/app.ex.get.py", "webapp1/sub/real.txt")
    folder = Path(site.folder)
    os.symlink("sub/real.txt", folder / "notes.txt")
    settle_tree(Path(site.site_dir))
    router = Router()
    assert router.resolve(site, "/notes.txt", "GET").outcome is Outcome.STATIC
    os.remove(folder / "sub" / "real.txt")
    os.symlink("../app.ex.get.py", folder / "sub" / "real.txt")
    again = router.resolve(site, "/notes.txt", "GET")
    assert again.outcome is not Outcome.STATIC
    assert again.static_file is None
