"""Folder listings: parsed once, kept while the folder is unchanged, re-read when it changes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cylinder_router import DirectoryCache, Kind, NotRoute, SegmentFiles
from cylinder_router.listing import RACY_WINDOW_NS, read_listing

OLD_NS = 1_000_000_000_000_000_000  # 2001-09-09: long settled


def make_folder(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        if name.endswith("/"):
            (folder / name).mkdir()
        else:
            (folder / name).write_text(name)
    return folder


def age(path: Path, ns: int = OLD_NS) -> None:
    os.utime(path, ns=(ns, ns))


def test_listing_parses_every_name_once(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path / "foo",
        "bar.ex.get.py",
        "bar.ex.default.py",
        "bar.eh.get.py",
        "bar.lh.post.py",
        "bar.400.py",
        "bar.txt",
        "helpers.py",
        "bar.ex.Get.py",
        "bar.xe.get.py",
        "sub/",
    )
    found = read_listing(str(folder))
    assert found.exists
    assert found.path == str(folder)
    assert set(found.routes) == {"bar"}
    bar = found.routes["bar"]
    assert bar.handlers == {"get": "bar.ex.get.py", "default": "bar.ex.default.py"}
    assert bar.early_hooks == {"get": "bar.eh.get.py"}
    assert bar.late_hooks == {"post": "bar.lh.post.py"}
    assert bar.error_handlers == {400: "bar.400.py"}
    assert bar.has_default_handler()
    assert found.folders == {"sub"}
    # Route files are files too; plain modules and rejected names are files but not routes.
    assert "bar.ex.get.py" in found.files
    assert {"bar.txt", "helpers.py", "bar.ex.Get.py"} <= found.files
    assert "sub" not in found.files
    assert found.symlinks == frozenset()
    # Only suspicious names are rejected, sorted by name, each with its reason.
    assert found.rejected == (
        NotRoute("bar.ex.Get.py", "method `Get` must be lower-case: `get`", True),
        NotRoute("bar.xe.get.py", "unknown kind `xe`: expected `ex`, `eh` or `lh`", True),
    )


def test_listing_is_read_only(tmp_path: Path) -> None:
    found = read_listing(str(make_folder(tmp_path / "f", "a.ex.get.py")))
    with pytest.raises(TypeError):
        found.routes["b"] = SegmentFiles()  # type: ignore[index]


def test_segment_files_by_kind() -> None:
    files = SegmentFiles(
        handlers={"get": "a.ex.get.py"},
        early_hooks={"get": "a.eh.get.py"},
        late_hooks={"get": "a.lh.get.py"},
        error_handlers={404: "a.404.py"},
    )
    assert files.by_kind(Kind.HANDLER) == {"get": "a.ex.get.py"}
    assert files.by_kind(Kind.EARLY_HOOK) == {"get": "a.eh.get.py"}
    assert files.by_kind(Kind.LATE_HOOK) == {"get": "a.lh.get.py"}
    assert files.by_kind(Kind.ERROR_HANDLER) == {}
    assert not files.has_default_handler()


def test_a_folder_named_like_a_route_is_not_a_route(tmp_path: Path) -> None:
    found = read_listing(str(make_folder(tmp_path / "f", "bar.ex.get.py/")))
    assert found.routes == {}
    assert found.folders == {"bar.ex.get.py"}


def test_missing_folder_or_file_lists_as_missing(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    for path in (tmp_path / "nowhere", tmp_path / "file"):
        found = read_listing(str(path))
        assert not found.exists
        assert found.routes == {}
        assert found.files == found.folders == frozenset()


def test_symlinks_are_followed_and_remembered(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "site", "real.txt", "realdir/")
    make_folder(tmp_path / "outside", "x.txt")
    (folder / "link.txt").symlink_to("real.txt")
    (folder / "linkdir").symlink_to("realdir")
    (folder / "out").symlink_to(tmp_path / "outside")
    (folder / "handler.ex.get.py").symlink_to("real.txt")
    (folder / "broken.txt").symlink_to("nothing")
    (folder / "loop").symlink_to("loop")
    found = read_listing(str(folder))
    assert found.files == {"real.txt", "link.txt", "handler.ex.get.py"}
    assert found.folders == {"realdir", "linkdir", "out"}
    assert found.symlinks == {
        "link.txt",
        "linkdir",
        "out",
        "handler.ex.get.py",
        "broken.txt",
        "loop",
    }
    assert found.routes["handler"].handlers == {"get": "handler.ex.get.py"}


def test_special_files_are_neither_files_nor_folders(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "f")
    os.mkfifo(folder / "pipe.txt")
    found = read_listing(str(folder))
    assert "pipe.txt" not in found.files
    assert "pipe.txt" not in found.folders


# The cache ------------------------------------------------------------------------------------


def test_cache_sees_a_file_added_renamed_and_removed_at_once(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "f", "a.ex.get.py")
    cache = DirectoryCache()
    assert set(cache.get(str(folder)).routes) == {"a"}
    (folder / "b.ex.get.py").write_text("")
    assert set(cache.get(str(folder)).routes) == {"a", "b"}
    (folder / "b.ex.get.py").rename(folder / "b.ex.post.py")
    assert cache.get(str(folder)).routes["b"].handlers == {"post": "b.ex.post.py"}
    (folder / "a.ex.get.py").unlink()
    assert set(cache.get(str(folder)).routes) == {"b"}


def test_recently_changed_folder_is_listed_again_every_time(
    tmp_path: Path, listed_folders: list[str]
) -> None:
    folder = make_folder(tmp_path / "f", "a.ex.get.py")
    cache = DirectoryCache()
    for _ in range(3):
        cache.get(str(folder))
    assert listed_folders == [str(folder)] * 3


def test_racy_window_catches_a_change_that_keeps_the_same_mtime(tmp_path: Path) -> None:
    # Two changes inside one tick of a coarse filesystem clock leave the same mtime; simulate it
    # by putting the mtime back. The listing was read inside the racy window, so it is re-read.
    folder = make_folder(tmp_path / "f", "a.ex.get.py")
    cache = DirectoryCache()
    mtime = folder.stat().st_mtime_ns
    assert set(cache.get(str(folder)).routes) == {"a"}
    (folder / "b.ex.get.py").write_text("")
    os.utime(folder, ns=(mtime, mtime))
    assert set(cache.get(str(folder)).routes) == {"a", "b"}


def test_settled_unchanged_folder_is_not_listed_again(
    tmp_path: Path, listed_folders: list[str]
) -> None:
    folder = make_folder(tmp_path / "f", "a.ex.get.py")
    age(folder)
    cache = DirectoryCache()
    first = cache.get(str(folder))
    assert cache.get(str(folder)) is first
    assert cache.get(str(folder)) is first
    assert listed_folders == [str(folder)]


def test_zero_racy_window_keeps_a_listing_until_the_mtime_changes(
    tmp_path: Path, listed_folders: list[str]
) -> None:
    folder = make_folder(tmp_path / "f", "a.ex.get.py")
    cache = DirectoryCache(racy_window_ns=0)
    first = cache.get(str(folder))
    assert cache.get(str(folder)) is first
    assert listed_folders == [str(folder)]
    # A change within the same mtime is invisible without a racy window: this is why it exists.
    mtime = folder.stat().st_mtime_ns
    (folder / "b.ex.get.py").write_text("")
    os.utime(folder, ns=(mtime, mtime))
    assert cache.get(str(folder)) is first
    # A new mtime is a change: listed again.
    age(folder, mtime - 1_000_000_000)
    second = cache.get(str(folder))
    assert set(second.routes) == {"a", "b"}
    assert listed_folders == [str(folder)] * 2
    assert cache.get(str(folder)) is second


def test_folder_replaced_by_another_is_listed_again(tmp_path: Path) -> None:
    # Same path and even the same mtime, but a different inode: a new folder.
    folder = make_folder(tmp_path / "f", "a.ex.get.py")
    age(folder)
    cache = DirectoryCache()
    assert set(cache.get(str(folder)).routes) == {"a"}
    other = make_folder(tmp_path / "g", "b.ex.get.py")
    age(other)
    folder.rename(tmp_path / "old")
    other.rename(folder)
    assert set(cache.get(str(folder)).routes) == {"b"}


def test_removed_folder_lists_as_missing_and_is_forgotten(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "f", "a.ex.get.py")
    age(folder)
    cache = DirectoryCache()
    assert cache.get(str(folder)).exists
    (folder / "a.ex.get.py").unlink()
    folder.rmdir()
    assert not cache.get(str(folder)).exists
    folder.mkdir()
    age(folder)
    found = cache.get(str(folder))
    assert found.exists
    assert found.routes == {}


def test_folder_that_could_not_be_listed_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Listing fails (permissions, a race); fixing it (chmod) does not change the folder's mtime.
    folder = make_folder(tmp_path / "f", "a.ex.get.py")
    age(folder)
    real_scandir = os.scandir

    def refuse(path: str) -> object:
        raise PermissionError(13, "Permission denied", path)

    cache = DirectoryCache()
    monkeypatch.setattr(os, "scandir", refuse)
    assert not cache.get(str(folder)).exists
    monkeypatch.setattr(os, "scandir", real_scandir)
    found = cache.get(str(folder))
    assert found.exists
    assert set(found.routes) == {"a"}


def test_path_that_cannot_be_a_folder_lists_as_missing(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    cache = DirectoryCache()
    assert not cache.get(str(tmp_path / "file")).exists
    assert not cache.get(str(tmp_path / "a\x00b")).exists
    assert not cache.get(str(tmp_path / "\ud800")).exists


def test_clear_forgets_every_listing(tmp_path: Path, listed_folders: list[str]) -> None:
    folder = make_folder(tmp_path / "f", "a.ex.get.py")
    age(folder)
    cache = DirectoryCache()
    cache.get(str(folder))
    cache.clear()
    cache.get(str(folder))
    assert listed_folders == [str(folder)] * 2


def test_default_racy_window_is_two_seconds() -> None:
    assert RACY_WINDOW_NS == 2_000_000_000


def test_listing_reads_each_folder_with_one_scandir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make_folder(tmp_path / "f", *(f"p{i}.ex.get.py" for i in range(50)), "d/")
    calls: list[str] = []
    real: Callable[[str], object] = os.scandir

    def counting_scandir(path: str) -> object:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(os, "scandir", counting_scandir)
    found = read_listing(str(folder))
    assert len(found.routes) == 50
    assert calls == [str(folder)]
