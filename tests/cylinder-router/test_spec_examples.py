"""The user guide's worked examples, as resolver facts. Each tree is the guide's, under
``my_webapps``; each assertion is a sentence of the guide."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cylinder_router import Outcome, Resolution, RouteFile, Router, Site

MakeSite = Callable[..., Site]


def name(file: RouteFile | str | None) -> str | None:
    """A found file as the guide writes it: its bare name."""
    if file is None:
        return None
    return os.path.basename(file if isinstance(file, str) else file.path)


def flow(found: Resolution) -> list[str | None]:
    """Early hook, then handler or static file, then late hook: what runs, in order."""
    answer = found.handler if found.outcome is Outcome.HANDLER else found.static_file
    return [name(found.early_hook), name(answer), name(found.late_hook)]


# Quickstart and "Implementing pages" ----------------------------------------------------------


def test_quickstart_root_handler_answers_everything(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.get.py")
    router = Router()
    assert name(router.resolve(site, "/", "GET").handler) == "webapp1.ex.get.py"
    assert name(router.resolve(site, "/foo/bar", "GET").handler) == "webapp1.ex.get.py"
    # Adding `webapp1/foo/bar.ex.get.py` gives /foo/bar its own page, at once.
    make_site("webapp1/foo/bar.ex.get.py")
    found = router.resolve(site, "/foo/bar", "GET")
    assert found.handler is not None
    assert found.handler.path == os.path.join(site.folder, "foo", "bar.ex.get.py")


# "HTTP method routing" ------------------------------------------------------------------------


@pytest.fixture
def method_routing_site(make_site: MakeSite) -> Site:
    return make_site(
        "webapp1.ex.get.py",
        "webapp1/foo/bar.ex.get.py",
        "webapp1/foo/bar.ex.post.py",
        "webapp1/foo/bar.ex.default.py",
    )


@pytest.mark.parametrize(
    ("method", "path", "handler"),
    [
        ("GET", "/foo/bar", "bar.ex.get.py"),
        ("POST", "/foo/bar", "bar.ex.post.py"),
        ("PUT", "/foo/bar", "bar.ex.default.py"),
        ("DELETE", "/foo/bar", "bar.ex.default.py"),
        ("HEAD", "/foo/bar", "bar.ex.default.py"),
        ("MOVE", "/foo/bar", "bar.ex.default.py"),
        ("GET", "/elsewhere", "webapp1.ex.get.py"),
    ],
)
def test_http_method_routing(
    method_routing_site: Site, method: str, path: str, handler: str
) -> None:
    found = Router().resolve(method_routing_site, path, method)
    assert found.outcome is Outcome.HANDLER
    assert name(found.handler) == handler


def test_custom_method_file_handles_that_method(make_site: MakeSite) -> None:
    site = make_site("webapp1/foo/bar.ex.move.py")
    assert name(Router().resolve(site, "/foo/bar", "MOVE").handler) == "bar.ex.move.py"


# "How requests are matched" -------------------------------------------------------------------

MATCHING_TREE = (
    "webapp1.ex.get.py",
    "webapp1.400.py",
    "webapp1/foo.eh.get.py",
    "webapp1/foo.ex.default.py",
    "webapp1/foo.lh.get.py",
    "webapp1/foo/bar.ex.get.py",
    "webapp1/foo/bar.ex.post.py",
    "webapp1/foo/bar.txt",
    "webapp1/foo/bar.400.py",
)


@pytest.mark.parametrize(
    ("method", "path", "outcome", "answer"),
    [
        ("GET", "/foo/bar", Outcome.HANDLER, "bar.ex.get.py"),
        ("POST", "/foo/bar", Outcome.HANDLER, "bar.ex.post.py"),
        ("PUT", "/foo/bar", Outcome.HANDLER, "foo.ex.default.py"),
        ("GET", "/foo/bar.txt", Outcome.STATIC, "bar.txt"),
        ("GET", "/anything-else", Outcome.HANDLER, "webapp1.ex.get.py"),
    ],
)
def test_how_requests_are_matched(
    make_site: MakeSite, method: str, path: str, outcome: Outcome, answer: str
) -> None:
    found = Router().resolve(make_site(*MATCHING_TREE), path, method)
    assert found.outcome is outcome
    assert name(found.handler or found.static_file) == answer


def test_matching_example_full_flow_for_get_foo_bar(make_site: MakeSite) -> None:
    found = Router().resolve(make_site(*MATCHING_TREE), "/foo/bar", "GET")
    assert flow(found) == ["foo.eh.get.py", "bar.ex.get.py", "foo.lh.get.py"]


def test_matching_example_hooks_run_around_the_static_file(make_site: MakeSite) -> None:
    found = Router().resolve(make_site(*MATCHING_TREE), "/foo/bar.txt", "GET")
    assert flow(found) == ["foo.eh.get.py", "bar.txt", "foo.lh.get.py"]


def test_matching_example_put_has_no_get_hooks(make_site: MakeSite) -> None:
    found = Router().resolve(make_site(*MATCHING_TREE), "/foo/bar", "PUT")
    assert flow(found) == [None, "foo.ex.default.py", None]


def test_matching_example_400_handler_is_the_nearest_then_the_sites(
    make_site: MakeSite,
) -> None:
    site = make_site(*MATCHING_TREE)
    router = Router()
    found = router.resolve(site, "/foo/bar", "GET")
    # foo.eh.get.py, bar.ex.get.py (aborts 400), bar.400.py, foo.lh.get.py
    assert name(found.error_handler(400)) == "bar.400.py"
    assert name(found.late_hook) == "foo.lh.get.py"
    # "If there were no bar.400.py, then webapp1.400.py would handle that error instead."
    (Path(site.folder) / "foo" / "bar.400.py").unlink()
    found = router.resolve(site, "/foo/bar", "GET")
    assert name(found.error_handler(400)) == "webapp1.400.py"
    assert found.error_handler(400) == router.error_handler(site, "/foo/bar", 400)


# "Exception handlers" and "Handling uncaught exceptions" --------------------------------------


def test_error_handlers_scoped_by_path(make_site: MakeSite) -> None:
    site = make_site(
        "webapp1.ex.get.py",
        "webapp1.400.py",
        "webapp1.500.py",
        "webapp1/foo.400.py",
        "webapp1/foo/bar.ex.get.py",
    )
    router = Router()
    assert name(router.error_handler(site, "/foo/bar", 400)) == "foo.400.py"
    assert name(router.error_handler(site, "/foo", 400)) == "foo.400.py"
    assert name(router.error_handler(site, "/other", 400)) == "webapp1.400.py"
    assert name(router.error_handler(site, "/foo/bar", 500)) == "webapp1.500.py"
    assert router.error_handler(site, "/foo/bar", 404) is None


def test_abort_extra_code_has_its_error_handler_file(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.get.py", "webapp1.507.py")
    assert name(Router().error_handler(site, "/anything", 507)) == "webapp1.507.py"


# "Static files" -------------------------------------------------------------------------------


def test_static_files_example(make_site: MakeSite) -> None:
    site = make_site(
        "webapp1.ex.get.py",
        "webapp1.500.py",
        "webapp1/example1.json",
        "webapp1/foo.400.py",
        "webapp1/foo/example2.css",
    )
    router = Router()
    for path, file in (("/example1.json", "example1.json"), ("/foo/example2.css", "example2.css")):
        found = router.resolve(site, path, "GET")
        assert found.outcome is Outcome.STATIC
        assert name(found.static_file) == file
    # "Python source files are never served."
    found = router.resolve(site, "/foo.400.py", "GET")
    assert found.outcome is Outcome.HANDLER
    assert name(found.handler) == "webapp1.ex.get.py"


# "Why there are no index files" ---------------------------------------------------------------

NO_INDEX_TREE = (
    "webapp1.ex.get.py",
    "webapp1/API/v2/reports.ex.get.py",
    "webapp1/API/v2/reports/company.ex.get.py",
    "webapp1/API/v2/reports/company/payments.ex.get.py",
)


@pytest.mark.parametrize(
    ("path", "handler", "rest"),
    [
        ("/API/v2/reports/company/payments", "payments.ex.get.py", ()),
        ("/API/v2/reports/company", "company.ex.get.py", ()),
        ("/API/v2/reports", "reports.ex.get.py", ()),
        ("/API/v2/reports/2024", "reports.ex.get.py", ("2024",)),
        ("/API/v2", "webapp1.ex.get.py", ("API", "v2")),
        # The guide's prose says /api/...; the tree says API. Matching is case-sensitive.
        ("/api/v2/reports/company/payments", "webapp1.ex.get.py", None),
    ],
)
def test_no_index_files(
    make_site: MakeSite, path: str, handler: str, rest: tuple[str, ...] | None
) -> None:
    found = Router().resolve(make_site(*NO_INDEX_TREE), path, "GET")
    assert name(found.handler) == handler
    if rest is not None:
        assert found.rest == rest


def test_no_index_files_put_needs_its_own_file(make_site: MakeSite) -> None:
    site = make_site(*NO_INDEX_TREE)
    router = Router()
    found = router.resolve(site, "/API/v2/reports/company/payments", "PUT")
    assert found.outcome is Outcome.METHOD_NOT_ALLOWED
    assert found.allowed == {"GET", "HEAD", "OPTIONS"}
    make_site("webapp1/API/v2/reports/company/payments.ex.put.py")
    found = router.resolve(site, "/API/v2/reports/company/payments", "PUT")
    assert name(found.handler) == "payments.ex.put.py"


# "Dynamic paths" ------------------------------------------------------------------------------

DYNAMIC_TREE = (
    "webapp1.ex.get.py",
    "webapp1/API/v1.ex.default.py",
    "webapp1/API/v1/users.ex.post.py",
    "webapp1/API/v1/users.ex.get.py",
    "webapp1/API/v1/users.ex.put.py",
    "webapp1/API/v1/users.ex.delete.py",
)


@pytest.mark.parametrize(
    ("method", "path", "handler", "rest"),
    [
        ("POST", "/API/v1/users", "users.ex.post.py", ()),
        ("GET", "/API/v1/users", "users.ex.get.py", ()),
        ("GET", "/API/v1/users/123", "users.ex.get.py", ("123",)),
        ("PUT", "/API/v1/users/123", "users.ex.put.py", ("123",)),
        ("DELETE", "/API/v1/users/123", "users.ex.delete.py", ("123",)),
        ("GET", "/API/v1/users/123/", "users.ex.get.py", ("123",)),
        ("PATCH", "/API/v1/users/123", "v1.ex.default.py", ("users", "123")),
        ("GET", "/API/v1/groups", "v1.ex.default.py", ("groups",)),
    ],
)
def test_dynamic_paths(
    make_site: MakeSite, method: str, path: str, handler: str, rest: tuple[str, ...]
) -> None:
    found = Router().resolve(make_site(*DYNAMIC_TREE), path, method)
    assert found.outcome is Outcome.HANDLER
    assert name(found.handler) == handler
    assert found.rest == rest


def test_dynamic_paths_prefix_is_the_matched_route(make_site: MakeSite) -> None:
    found = Router().resolve(make_site(*DYNAMIC_TREE), "/API/v1/users/123", "PUT")
    assert found.prefix == "/API/v1/users"


def test_dynamic_paths_head_goes_to_the_default_handler_while_get_does_not(
    make_site: MakeSite,
) -> None:
    site = make_site(*DYNAMIC_TREE)
    router = Router()
    head = router.resolve(site, "/API/v1/users", "HEAD")
    assert name(head.handler) == "v1.ex.default.py"
    assert not head.head_as_get
    assert head.prefix == "/API/v1"
    assert head.rest == ("users",)
    get = router.resolve(site, "/API/v1/users", "GET")
    assert name(get.handler) == "users.ex.get.py"


def test_accessing_the_remaining_path(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.get.py", "webapp1/API/v1/users.ex.get.py")
    router = Router()
    for path, rest in (("/API/v1/users", ()), ("/API/v1/users/123", ("123",))):
        found = router.resolve(site, path, "GET")
        assert name(found.handler) == "users.ex.get.py"
        assert found.rest == rest


# "Hooks" --------------------------------------------------------------------------------------

HOOKS_TREE = (
    "webapp1.ex.get.py",
    "webapp1/API/v2.lh.get.py",
    "webapp1/API/v2/reports.eh.get.py",
    "webapp1/API/v2/reports.ex.get.py",
    "webapp1/API/v2/reports/company.ex.get.py",
    "webapp1/API/v2/reports/company/payments.ex.get.py",
    "webapp1/API/v2/users.ex.get.py",
)


@pytest.mark.parametrize("path", ["/API/v2/reports/company", "/API/v2/reports/company/2024"])
def test_hooks_flow_under_reports_company(make_site: MakeSite, path: str) -> None:
    found = Router().resolve(make_site(*HOOKS_TREE), path, "GET")
    assert flow(found) == ["reports.eh.get.py", "company.ex.get.py", "v2.lh.get.py"]


def test_hooks_flow_for_users(make_site: MakeSite) -> None:
    found = Router().resolve(make_site(*HOOKS_TREE), "/API/v2/users", "GET")
    assert flow(found) == [None, "users.ex.get.py", "v2.lh.get.py"]


def test_hooks_scope_is_their_subtree(make_site: MakeSite) -> None:
    site = make_site(*HOOKS_TREE)
    router = Router()
    assert flow(router.resolve(site, "/API/v2/reports/company/payments", "GET")) == [
        "reports.eh.get.py",
        "payments.ex.get.py",
        "v2.lh.get.py",
    ]
    assert flow(router.resolve(site, "/API/v2/reports", "GET")) == [
        "reports.eh.get.py",
        "reports.ex.get.py",
        "v2.lh.get.py",
    ]
    assert flow(router.resolve(site, "/API/v1", "GET")) == [None, "webapp1.ex.get.py", None]


# "How configuration and environments are handled" ---------------------------------------------


def test_root_early_hook_applies_throughout_the_site(make_site: MakeSite) -> None:
    site = make_site(
        "webapp1.eh.get.py",
        "webapp1.ex.get.py",
        "webapp1/API/v2/reports.ex.get.py",
        "webapp1/API/v2/reports/company.ex.get.py",
        "webapp1/API/v2/reports/company/payments.ex.get.py",
    )
    router = Router()
    for path in ("/", "/API", "/API/v2/reports", "/API/v2/reports/company/payments"):
        assert name(router.resolve(site, path, "GET").early_hook) == "webapp1.eh.get.py"
