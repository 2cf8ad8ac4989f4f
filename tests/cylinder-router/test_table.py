"""The route table: every route, static file and rejected name of a site, walked from disk."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cylinder_router import (
    Kind,
    RejectedFile,
    Router,
    RouteRow,
    RouteTable,
    Site,
    SiteError,
    StaticRow,
    route_table,
)

MakeSite = Callable[..., Site]


def rows(table: RouteTable) -> list[tuple[str, str, str | int | None, str]]:
    """Routes as (prefix, kind tag, method or code, file relative to site_dir)."""
    site_dir = table.site.site_dir
    return [
        (
            row.prefix,
            row.kind.value,
            row.method if row.code is None else row.code,
            os.path.relpath(row.file, site_dir),
        )
        for row in table.routes
    ]


def statics(table: RouteTable) -> list[tuple[str, str]]:
    return [(row.url, os.path.relpath(row.file, table.site.site_dir)) for row in table.static_files]


def test_routes_are_listed_sorted_by_prefix_kind_and_method(make_site: MakeSite) -> None:
    site = make_site(
        "webapp1.ex.get.py",
        "webapp1.400.py",
        "webapp1.eh.get.py",
        "webapp1/foo.eh.get.py",
        "webapp1/foo.ex.default.py",
        "webapp1/foo.lh.get.py",
        "webapp1/foo/bar.ex.post.py",
        "webapp1/foo/bar.ex.get.py",
        "webapp1/foo/bar.500.py",
        "webapp1/foo/bar.400.py",
        "webapp1/foo/bar.txt",
    )
    table = route_table(site)
    assert table.site == site
    assert rows(table) == [
        ("/", "ex", "get", "webapp1.ex.get.py"),
        ("/", "eh", "get", "webapp1.eh.get.py"),
        ("/", "code", 400, "webapp1.400.py"),
        ("/foo", "ex", "default", "webapp1/foo.ex.default.py"),
        ("/foo", "eh", "get", "webapp1/foo.eh.get.py"),
        ("/foo", "lh", "get", "webapp1/foo.lh.get.py"),
        ("/foo/bar", "ex", "get", "webapp1/foo/bar.ex.get.py"),
        ("/foo/bar", "ex", "post", "webapp1/foo/bar.ex.post.py"),
        ("/foo/bar", "code", 400, "webapp1/foo/bar.400.py"),
        ("/foo/bar", "code", 500, "webapp1/foo/bar.500.py"),
    ]
    assert statics(table) == [("/foo/bar.txt", "webapp1/foo/bar.txt")]
    assert table.rejected == ()


def test_rows_carry_absolute_paths_and_typed_fields(make_site: MakeSite) -> None:
    site = make_site("webapp1/a.404.py", "webapp1/a.ex.put.py")
    table = route_table(site)
    assert table.routes == (
        RouteRow("/a", Kind.HANDLER, "put", None, os.path.join(site.folder, "a.ex.put.py")),
        RouteRow("/a", Kind.ERROR_HANDLER, None, 404, os.path.join(site.folder, "a.404.py")),
    )


def test_every_listed_route_is_what_resolution_finds(make_site: MakeSite) -> None:
    site = make_site(
        "webapp1.ex.get.py",
        "webapp1/a.ex.post.py",
        "webapp1/a/b.ex.default.py",
        "webapp1/a/b/c.ex.get.py",
        "webapp1/a/b/x.json",
    )
    router = Router()
    table = route_table(site)
    for row in table.routes:
        assert row.method is not None
        method = "PUT" if row.method == "default" else row.method.upper()
        found = router.resolve(site, row.prefix, method)
        assert found.handler is not None
        assert found.handler.path == row.file
    for static in table.static_files:
        assert router.resolve(site, static.url, "GET").static_file == static.file


def test_static_rows_follow_the_static_rules(make_site: MakeSite, tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x.txt").write_text("")
    site = make_site(
        "webapp1/a.txt",
        "webapp1/helpers.py",
        "webapp1/x.PYC",
        "webapp1/.env",
        "webapp1/.git/config",
        "webapp1/__pycache__/c.txt",
        "webapp1/sub/b.css",
        "webapp1/sub/z.ex.get.py",
        "webapp1/link.txt -> sub/b.css",
        "webapp1/source.txt -> sub/z.ex.get.py",
        "webapp1/out.txt -> ../../outside.txt",
        "webapp1/outdir -> ../../outside",
        "webapp1/alias -> sub",
        "beside.txt",
    )
    assert statics(route_table(site)) == [
        ("/a.txt", "webapp1/a.txt"),
        ("/link.txt", "webapp1/link.txt"),
        ("/sub/b.css", "webapp1/sub/b.css"),
    ]


def test_rejected_names_are_listed_with_their_reasons(make_site: MakeSite) -> None:
    site = make_site(
        "webapp1.ex.GET.py",
        "other.ex.GET.py",
        "webapp1/foo/bar.ex.Get.py",
        "webapp1/foo/bar.99.py",
        "webapp1/bar.EX.get.py",
        "webapp1/helpers.py",
        "webapp1/style.css",
    )
    table = route_table(site)
    # Sorted by file path (`webapp1.ex.GET.py` before `webapp1/...`: `.` sorts before `/`).
    assert table.rejected == (
        RejectedFile(
            os.path.join(site.site_dir, "webapp1.ex.GET.py"),
            "method `GET` must be lower-case: `get`",
        ),
        RejectedFile(
            os.path.join(site.folder, "bar.EX.get.py"), "kind `EX` must be lower-case `ex`"
        ),
        RejectedFile(
            os.path.join(site.folder, "foo", "bar.99.py"),
            "status code `99` must be three digits from 100 to 599",
        ),
        RejectedFile(
            os.path.join(site.folder, "foo", "bar.ex.Get.py"),
            "method `Get` must be lower-case: `get`",
        ),
    )
    assert table.routes == ()


def test_other_sites_root_files_are_not_listed(make_site: MakeSite) -> None:
    site = make_site(
        "webapp1.ex.get.py", "webapp2.ex.get.py", "webapp10.400.py", "cylinder_main.py"
    )
    assert rows(route_table(site)) == [("/", "ex", "get", "webapp1.ex.get.py")]


def test_folder_symlink_out_of_the_site_is_not_walked(make_site: MakeSite, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x.ex.get.py").write_text("")
    (tmp_path / "outside" / "x.txt").write_text("")
    site = make_site("webapp1/out.ex.get.py", "webapp1/out -> ../../outside")
    table = route_table(site)
    assert rows(table) == [("/out", "ex", "get", "webapp1/out.ex.get.py")]
    assert table.static_files == ()


def test_symlink_cycles_terminate(make_site: MakeSite) -> None:
    site = make_site(
        "webapp1/a/b.ex.get.py",
        "webapp1/a/up -> ..",
        "webapp1/a/self -> .",
        "webapp1/loop -> .",
    )
    table = route_table(site)
    assert rows(table) == [("/a/b", "ex", "get", "webapp1/a/b.ex.get.py")]


def test_a_linked_folder_is_listed_once_at_its_real_url(make_site: MakeSite) -> None:
    # Links to `m` sort before and after it; the table must not depend on listing order.
    site = make_site(
        "webapp1/m/x.ex.get.py",
        "webapp1/m/x.txt",
        "webapp1/b -> m",
        "webapp1/z -> m",
        "webapp1/a/deep -> ../m",
    )
    table = route_table(site)
    assert rows(table) == [("/m/x", "ex", "get", "webapp1/m/x.ex.get.py")]
    assert statics(table) == [("/m/x.txt", "webapp1/m/x.txt")]
    # Resolution still follows the links inside the site.
    found = Router().resolve(site, "/b/x", "GET")
    assert found.handler is not None
    assert found.handler.path == os.path.join(site.folder, "b", "x.ex.get.py")


def test_missing_site_folder_lists_the_root_files_only(make_site: MakeSite) -> None:
    site = make_site("webapp1.ex.get.py", "webapp1.404.py")
    table = route_table(site)
    assert rows(table) == [
        ("/", "ex", "get", "webapp1.ex.get.py"),
        ("/", "code", 404, "webapp1.404.py"),
    ]
    assert table.static_files == ()
    assert table.rejected == ()


def test_missing_site_dir_is_a_site_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere")
    with pytest.raises(SiteError, match=f"^site folder `{missing}` does not exist$"):
        route_table(Site.from_app_map(missing, "webapp1"))


def test_table_is_read_fresh_on_every_call(make_site: MakeSite) -> None:
    site = make_site("webapp1/a.ex.get.py")
    assert len(route_table(site).routes) == 1
    make_site("webapp1/b.ex.get.py")
    assert len(route_table(site).routes) == 2


def test_static_row_is_plain_data() -> None:
    row = StaticRow("/a.txt", "/site/webapp1/a.txt")
    assert row == StaticRow("/a.txt", "/site/webapp1/a.txt")
    assert not hasattr(row, "__dict__")
