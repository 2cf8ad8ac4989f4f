"""Folder handles: a folder's descriptor kept open while the watch vouches that its path still
leads to it, and opened again by path as soon as anything about it changed."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import pytest

from cylinder_router import FolderHandles, FolderWatch, open_beneath
from cylinder_router.handles import FolderHandle

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


@pytest.fixture
def site(tmp_path: Path, watch: FolderWatch) -> Path:
    """``<tmp>/sites/webapp1`` with ``a.txt``, both folders watched as a request would."""
    folder = tmp_path / "sites" / "webapp1"
    folder.mkdir(parents=True)
    (folder / "a.txt").write_text("one")
    assert watch.watch(str(folder.parent)) is not None
    assert watch.watch(str(folder)) is not None
    watch.poll()
    return folder


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def read_through(handle: FolderHandle, relative: str) -> bytes:
    fd, _ = open_beneath(handle.path, relative, base_fd=handle.fd)
    with open(fd, "rb") as file:
        return file.read()


def test_the_same_handle_while_nothing_changed(site: Path, watch: FolderWatch) -> None:
    handles = FolderHandles(watch)
    first = handles.get(str(site), str(site.parent))
    assert first is not None
    for _ in range(3):
        watch.poll()
        assert handles.get(str(site), str(site.parent)) is first
    assert read_through(first, "a.txt") == b"one"


def test_a_change_in_the_folder_opens_it_again(site: Path, watch: FolderWatch) -> None:
    handles = FolderHandles(watch)
    first = handles.get(str(site))
    (site / "b.txt").write_text("two")
    watch.poll()
    second = handles.get(str(site))
    assert second is not None
    assert second is not first


@pytest.mark.parametrize("how", ["renamed", "link switched"])
def test_a_folder_replaced_is_never_served_from_the_old_descriptor(
    tmp_path: Path, watch: FolderWatch, how: str
) -> None:
    sites = tmp_path / "sites"
    (sites / "release1").mkdir(parents=True)
    (sites / "release1" / "a.txt").write_text("old")
    (sites / "release2").mkdir()
    (sites / "release2" / "a.txt").write_text("new")
    site = sites / "webapp1"
    if how == "renamed":
        (sites / "release1").rename(site)
    else:
        site.symlink_to("release1")
    watch.watch(str(sites))
    watch.watch(str(site))
    watch.poll()
    handles = FolderHandles(watch)
    before = handles.get(str(site), str(sites))
    assert before is not None
    assert read_through(before, "a.txt") == b"old"

    if how == "renamed":
        site.rename(sites / "gone")
        (sites / "release2").rename(site)
    else:
        (sites / "next").symlink_to("release2")
        (sites / "next").replace(site)  # an atomic switch, as deploy tools do it
    watch.poll()
    watch.watch(str(site))  # the router watches it again when it lists it
    after = handles.get(str(site), str(sites))
    assert after is not before
    opened = after if after is not None else FolderHandle(str(site))
    assert read_through(opened, "a.txt") == b"new"


def test_nothing_is_kept_without_a_watch_or_for_a_folder_not_watched(
    tmp_path: Path, watch: FolderWatch
) -> None:
    assert FolderHandles(None).get(str(tmp_path)) is None
    handles = FolderHandles(watch)
    assert handles.get(str(tmp_path)) is None  # never given to `watch`
    assert len(handles) == 0


def test_a_handle_in_use_stays_open_when_replaced_and_closes_when_let_go(
    site: Path, watch: FolderWatch
) -> None:
    handles = FolderHandles(watch)
    in_use = handles.get(str(site))
    assert in_use is not None
    fd = in_use.fd
    (site / "b.txt").write_text("two")
    watch.poll()
    assert handles.get(str(site)) is not in_use
    assert is_open(fd)
    assert read_through(in_use, "a.txt") == b"one"
    del in_use
    gc.collect()
    assert not is_open(fd) or os.readlink(f"/proc/self/fd/{fd}") != str(site)


def test_the_cache_is_bounded_and_cleared(tmp_path: Path, watch: FolderWatch) -> None:
    folders = []
    for index in range(5):
        folder = tmp_path / f"f{index}"
        folder.mkdir()
        watch.watch(str(folder))
        folders.append(str(folder))
    watch.poll()
    handles = FolderHandles(watch, limit=3)
    for folder in folders:
        assert handles.get(folder) is not None
        assert len(handles) <= 3
    handles.clear()
    assert len(handles) == 0


def test_a_closed_watch_keeps_nothing(site: Path, watch: FolderWatch) -> None:
    handles = FolderHandles(watch)
    assert handles.get(str(site)) is not None
    watch.close()
    assert handles.get(str(site)) is None


def test_open_beneath_reads_below_the_descriptor_and_leaves_it_open(tmp_path: Path) -> None:
    """What was vouched for is what is read: the descriptor, not what the path leads to now."""
    (tmp_path / "site" / "css").mkdir(parents=True)
    (tmp_path / "site" / "css" / "a.css").write_text("vouched")
    handle = FolderHandle(str(tmp_path / "site"))
    (tmp_path / "site").rename(tmp_path / "moved")
    (tmp_path / "site" / "css").mkdir(parents=True)
    (tmp_path / "site" / "css" / "a.css").write_text("elsewhere")
    fd, _ = open_beneath(str(tmp_path / "site"), "css/a.css", base_fd=handle.fd)
    with open(fd, "rb") as file:
        assert file.read() == b"vouched"
    assert is_open(handle.fd)
    handle.close()
    handle.close()  # once; the second does nothing
    assert "closed" in repr(handle)
