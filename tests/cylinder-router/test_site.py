"""The site ``app_map`` names: checked loudly, relative folders taken from the working directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cylinder_router import Outcome, Router, Site, SiteError
from cylinder_router.errors import RouterError


def test_site_folder_is_site_dir_joined_with_site_name(tmp_path: Path) -> None:
    site = Site.from_app_map(str(tmp_path), "webapp1")
    assert site.site_dir == str(tmp_path)
    assert site.site_name == "webapp1"
    assert site.folder == os.path.join(str(tmp_path), "webapp1")


def test_path_like_site_dir_is_accepted(tmp_path: Path) -> None:
    assert Site.from_app_map(tmp_path, "webapp1") == Site(str(tmp_path), "webapp1")


def test_relative_site_dir_is_resolved_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_webapps").mkdir()
    (tmp_path / "my_webapps" / "webapp1.ex.get.py").write_text("")
    monkeypatch.chdir(tmp_path)
    site = Site.from_app_map("my_webapps", "webapp1")
    assert site.site_dir == str(tmp_path / "my_webapps")
    assert os.path.isabs(site.site_dir)
    # Resolved when the site is made: moving away afterwards does not change it.
    monkeypatch.chdir("/")
    found = Router().resolve(site, "/", "GET")
    assert found.handler is not None
    assert found.handler.path == str(tmp_path / "my_webapps" / "webapp1.ex.get.py")


def test_dotted_relative_site_dir_is_normalised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sites").mkdir()
    monkeypatch.chdir(tmp_path / "sites")
    assert Site.from_app_map("./../sites/.", "w").site_dir == str(tmp_path / "sites")


@pytest.mark.parametrize("site_name", ["", ".", "..", "a/b", "/abs", "a\\b", "a\x00b"])
def test_site_name_must_be_one_folder_name(tmp_path: Path, site_name: str) -> None:
    with pytest.raises(SiteError, match=r"^`site_name` .* must be a single folder name$"):
        Site.from_app_map(str(tmp_path), site_name)


@pytest.mark.parametrize(
    ("site_name", "type_name"), [(None, "NoneType"), (b"webapp1", "bytes"), (1, "int")]
)
def test_site_name_must_be_a_string(tmp_path: Path, site_name: object, type_name: str) -> None:
    with pytest.raises(SiteError, match=f"^`site_name` must be a string, not {type_name}$"):
        Site.from_app_map(str(tmp_path), site_name)


@pytest.mark.parametrize(
    ("site_dir", "type_name"), [(None, "NoneType"), (b"/tmp", "bytes"), (3, "int")]
)
def test_site_dir_must_be_a_string_or_path(site_dir: object, type_name: str) -> None:
    with pytest.raises(SiteError, match=f"^`site_dir` must be a string or path, not {type_name}$"):
        Site.from_app_map(site_dir, "webapp1")


@pytest.mark.parametrize("site_dir", ["", "a\x00b"])
def test_site_dir_must_be_a_usable_path(site_dir: str) -> None:
    with pytest.raises(SiteError, match="is not a usable folder path"):
        Site.from_app_map(site_dir, "webapp1")


def test_site_error_is_a_router_error_not_an_http_type() -> None:
    assert issubclass(SiteError, RouterError)
    assert SiteError.__mro__[1:] == (RouterError, Exception, BaseException, object)


def test_missing_site_dir_is_a_site_error_naming_it(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere")
    site = Site.from_app_map(missing, "webapp1")
    router = Router()
    with pytest.raises(SiteError, match=f"^site folder `{missing}` does not exist$"):
        router.resolve(site, "/", "GET")
    with pytest.raises(SiteError):
        router.error_handler(site, "/", 404)
    with pytest.raises(SiteError):
        router.static_file(site, "/x.txt")


def test_site_dir_that_is_a_file_is_a_site_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(SiteError):
        Router().resolve(Site.from_app_map(str(tmp_path / "file"), "webapp1"), "/", "GET")


def test_site_dir_created_later_is_seen(tmp_path: Path) -> None:
    site = Site.from_app_map(str(tmp_path / "later"), "webapp1")
    router = Router()
    with pytest.raises(SiteError):
        router.resolve(site, "/", "GET")
    (tmp_path / "later").mkdir()
    (tmp_path / "later" / "webapp1.ex.get.py").write_text("")
    assert router.resolve(site, "/", "GET").outcome is Outcome.HANDLER


def test_quickstart_site_with_only_a_root_file_resolves(tmp_path: Path) -> None:
    # `my_webapps/webapp1.ex.get.py` and no `webapp1/` folder at all.
    (tmp_path / "webapp1.ex.get.py").write_text("")
    site = Site.from_app_map(str(tmp_path), "webapp1")
    router = Router()
    for path in ("/", "/foo/bar", "/foo/bar/", "/x.txt"):
        found = router.resolve(site, path, "GET")
        assert found.outcome is Outcome.HANDLER
        assert found.handler is not None
        assert found.handler.path == str(tmp_path / "webapp1.ex.get.py")
        assert found.handler.prefix == "/"
    assert router.resolve(site, "/foo/bar", "GET").rest == ("foo", "bar")
    assert router.resolve(site, "/", "POST").outcome is Outcome.METHOD_NOT_ALLOWED


def test_site_folder_that_is_a_file_acts_as_missing(tmp_path: Path) -> None:
    (tmp_path / "webapp1.ex.get.py").write_text("")
    (tmp_path / "webapp1").write_text("not a folder")
    found = Router().resolve(Site.from_app_map(str(tmp_path), "webapp1"), "/webapp1", "GET")
    assert found.outcome is Outcome.HANDLER
    assert found.handler is not None
    assert found.handler.depth == 0
    assert found.static_file is None
