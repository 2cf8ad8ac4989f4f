"""DECISIONS.md "The live tree": names that are never static, near-miss route names, and site
names that can never be sites, as router facts."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cylinder_router import (
    Outcome,
    RejectedFile,
    Rejection,
    Router,
    Site,
    SiteError,
    near_miss,
    never_static,
    route_table,
)

MakeSite = Callable[..., Site]

#: Names a request may never be served, each with why.
NEVER_STATIC = {
    "page.ex.get.py~": "an editor's backup copy (the name ends in `~`)",
    "style.css~": "an editor's backup copy (the name ends in `~`)",
    "#page.ex.get.py#": "an editor's auto-save file (the name is `#...#`)",
    "page.ex.get.py.bak": "a copy of Python source (the part `.py` after the first dot)",
    "page.ex.get.py.orig": "a copy of Python source (the part `.py` after the first dot)",
    "page.ex.get.py.tmp": "a copy of Python source (the part `.py` after the first dot)",
    "x.py.": "a copy of Python source (the part `.py` after the first dot)",
    "x.pyw": "a copy of Python source (the part `.pyw` after the first dot)",
    "x.pyi": "a copy of Python source (the part `.pyi` after the first dot)",
    "x.Pyx": "a copy of Python source (the part `.Pyx` after the first dot)",
    "x.py2.txt": "a copy of Python source (the part `.py2` after the first dot)",
    "page.ex.get.py___jb_tmp___": "an editor's temporary file (the name holds `___jb_tmp___`)",
    "page.ex.get.py___jb_old___": "an editor's temporary file (the name holds `___jb_old___`)",
    "contact.ex.get": "a route file saved without `.py` (`.ex.` after the first dot)",
    "contact.eh.post": "a route file saved without `.py` (`.eh.` after the first dot)",
    "contact.lh.default": "a route file saved without `.py` (`.lh.` after the first dot)",
    "x.py": "Python files are never served",
    "x.PYC": "Python files are never served",
}

#: Names that look alike but are served.
SERVED = ("pyramid.svg", "x.pyramid", "x.python", "py.txt", "a.expo.json", "ex.get", "a~b.txt")


@pytest.mark.parametrize(("name", "reason"), NEVER_STATIC.items())
def test_never_static_names_say_why(name: str, reason: str) -> None:
    assert never_static(name) == reason


@pytest.mark.parametrize("name", SERVED)
def test_look_alike_names_may_be_static(name: str) -> None:
    assert never_static(name) is None


@pytest.mark.parametrize("name", [*NEVER_STATIC])
def test_a_never_static_name_is_routed_as_if_it_were_not_there(
    make_site: MakeSite, name: str
) -> None:
    site = make_site("webapp1.ex.get.py", f"webapp1/docs/{name}", "webapp1/docs/ok.txt")
    router = Router()

    found = router.resolve(site, f"/docs/{name}", "GET")

    assert found.outcome is Outcome.HANDLER
    assert found.static_file is None
    assert found.handler is not None
    assert os.path.basename(found.handler.path) == "webapp1.ex.get.py"
    assert router.resolve(site, "/docs/ok.txt", "GET").outcome is Outcome.STATIC


def test_a_link_to_a_never_static_name_is_not_served(make_site: MakeSite) -> None:
    site = make_site("webapp1/page.ex.get.py~", "webapp1/notes.txt -> page.ex.get.py~")

    found = Router().resolve(site, "/notes.txt", "GET")

    assert found.outcome is Outcome.NOT_FOUND


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("bar.ex.get.txt.py", "bar.txt.ex.get.py"),
        ("about.get.py", "about.ex.get.py"),
        ("about.Post.py", "about.ex.post.py"),
        ("config.default.py", "config.ex.default.py"),
        ("baz.ex.py", "baz.ex.get.py"),
        ("page.eh.py", "page.eh.get.py"),
        ("page.lh.py", "page.lh.get.py"),
        ("bar.get.ex.py", "bar.ex.get.py"),
        ("bar.post.eh.py", "bar.eh.post.py"),
        ("bar.Ex.py", "bar.ex.get.py"),
        ("report.get.html.py", "report.html.ex.get.py"),
    ],
)
def test_near_misses_name_the_route_that_was_likely_meant(name: str, meant: str) -> None:
    assert near_miss(name) == meant


@pytest.mark.parametrize(
    "name",
    [
        "helpers.py",
        "my.helpers.py",
        "my.report.py",  # a WebDAV method name alone is a plain word too
        "bar.ex.get.py",  # a route
        "bar.404.py",  # a route
        "bar.ex.Get.py",  # a broken route: an error of its own
        "about.get.txt",  # not Python
    ],
)
def test_other_names_are_no_near_miss(name: str) -> None:
    assert near_miss(name) is None


def test_route_table_rejects_near_misses_and_never_static_files(make_site: MakeSite) -> None:
    site = make_site(
        "webapp1.ex.get.py",
        "webapp1.get.py",
        "other.get.py",
        "webapp1/helpers.py",
        "webapp1/about.get.py",
        "webapp1/page.ex.get.py",
        "webapp1/page.ex.get.py~",
        "webapp1/contact.ex.get",
        "webapp1/style.css",
        "webapp1/.git/x.py~",
        "webapp1/__pycache__/page.ex.get.cpython-312.pyc",
    )

    table = route_table(site)

    assert table.rejected == (
        RejectedFile(
            os.path.join(site.site_dir, "webapp1.get.py"),
            "a plain module that no request runs: did you mean `webapp1.ex.get.py`?",
            Rejection.NEAR_MISS,
            "webapp1.ex.get.py",
        ),
        RejectedFile(
            os.path.join(site.folder, "about.get.py"),
            "a plain module that no request runs: did you mean `about.ex.get.py`?",
            Rejection.NEAR_MISS,
            "about.ex.get.py",
        ),
        RejectedFile(
            os.path.join(site.folder, "contact.ex.get"),
            "a route file saved without `.py` (`.ex.` after the first dot)",
            Rejection.NEVER_STATIC,
        ),
        RejectedFile(
            os.path.join(site.folder, "page.ex.get.py~"),
            "an editor's backup copy (the name ends in `~`)",
            Rejection.NEVER_STATIC,
        ),
    )
    assert [row.url for row in table.static_files] == ["/style.css"]


@pytest.mark.parametrize("site_name", [".git", ".env", ".hidden", "__pycache__"])
def test_hidden_folders_are_never_sites(tmp_path: Path, site_name: str) -> None:
    with pytest.raises(
        SiteError,
        match=r"^`site_name` '.*' must be a plain folder name: "
        r"not starting with `\.`, not `__pycache__`$",
    ):
        Site.from_app_map(str(tmp_path), site_name)


@pytest.mark.parametrize("site_name", ["webapp1", "a.b", "_private", "pycache", "x__pycache__"])
def test_plain_folder_names_are_sites(tmp_path: Path, site_name: str) -> None:
    assert Site.from_app_map(str(tmp_path), site_name).site_name == site_name
