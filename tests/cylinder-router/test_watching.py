"""The folder watch: inotify events move stamps; what a request reads stays good while they hold.

Each test makes real changes on disk and checks that the next poll makes them visible, through a
`DirectoryCache` or a `Router` the way an application uses them, or that the watch gives up and
leaves the checking to `stat` where events cannot be trusted.
"""

from __future__ import annotations

import errno
import gc
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cylinder_router import (
    DirectoryCache,
    FolderWatch,
    Outcome,
    Router,
    Site,
    _ancestry,
    _inotify,
    _writers,
    watching,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


def make(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(name)
    return folder


def names(cache: DirectoryCache, folder: Path) -> set[str]:
    return set(cache.get(str(folder)).files)


class StatCounter:
    """Counts `os.stat` calls while installed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        real = os.stat

        def counting(path: object, *args: object, **kwargs: object) -> os.stat_result:
            self.calls.append(str(path))
            return real(path, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "stat", counting)


def test_watched_folder_is_checked_without_a_stat(
    tmp_path: Path, watch: FolderWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make(tmp_path / "site", "a.txt")
    sub = make(site / "sub", "b.txt")
    cache = DirectoryCache(watch=watch)
    first = cache.get(str(site)), cache.get(str(sub))
    assert watch.stamp(str(site)) is not None
    assert watch.stamp(str(sub)) is not None

    counter = StatCounter(monkeypatch)
    watch.poll()
    assert (cache.get(str(site)), cache.get(str(sub))) == first
    assert cache.get(str(sub)) is first[1]
    # `sub` is anchored in the site folder, a root whose way (the folders its path looks in) is
    # watched: neither needs a `stat`
    assert counter.calls == []


@pytest.mark.parametrize(
    "change",
    ["create", "remove", "rename in", "rename out", "rename within", "mkdir", "symlink"],
)
def test_every_kind_of_change_is_seen_after_the_next_poll(
    tmp_path: Path, watch: FolderWatch, change: str
) -> None:
    site = make(tmp_path / "site", "a.txt", "keep.txt")
    outside = make(tmp_path / "outside", "moved.txt")
    cache = DirectoryCache(watch=watch)
    assert names(cache, site) == {"a.txt", "keep.txt"}
    before = watch.stamp(str(site))

    expected = {"a.txt", "keep.txt"}
    if change == "create":
        (site / "new.txt").write_text("new")
        expected.add("new.txt")
    elif change == "remove":
        (site / "a.txt").unlink()
        expected.discard("a.txt")
    elif change == "rename in":
        (outside / "moved.txt").rename(site / "moved.txt")
        expected.add("moved.txt")
    elif change == "rename out":
        (site / "a.txt").rename(outside / "a.txt")
        expected.discard("a.txt")
    elif change == "rename within":
        (site / "a.txt").rename(site / "b.txt")
        expected = {"b.txt", "keep.txt"}
    elif change == "mkdir":
        (site / "folder").mkdir()
    elif change == "symlink":
        (site / "link.txt").symlink_to(site / "keep.txt")
        expected.add("link.txt")

    watch.poll()
    assert watch.stamp(str(site)) != before
    assert names(cache, site) == expected
    if change == "mkdir":
        assert "folder" in cache.get(str(site)).folders


@pytest.mark.parametrize("how", ["write", "append", "touch", "chmod"])
def test_a_change_to_a_file_moves_its_folders_stamp(
    tmp_path: Path, watch: FolderWatch, how: str
) -> None:
    site = make(tmp_path / "site", "page.ex.get.py")
    page = site / "page.ex.get.py"
    stamp = watch.watch(str(site))
    assert stamp is not None

    if how == "write":
        page.write_text("changed")
    elif how == "append":
        with page.open("a") as file:
            file.write("more")
    elif how == "touch":
        os.utime(page, ns=(1, 1))
    else:
        page.chmod(0o600)

    watch.poll()
    assert watch.stamp(str(site)) not in (None, stamp)


def test_reading_files_leaves_stamps_alone(tmp_path: Path, watch: FolderWatch) -> None:
    site = make(tmp_path / "site", "style.css")
    stamp = watch.watch(str(site))
    for _ in range(3):
        assert (site / "style.css").read_text() == "style.css"
        assert [entry.name for entry in os.scandir(site)] == ["style.css"]
    watch.poll()
    assert watch.stamp(str(site)) == stamp


def test_folder_renamed_and_replaced_is_read_again(tmp_path: Path, watch: FolderWatch) -> None:
    site = make(tmp_path / "site")
    deep = make(site / "a" / "b", "old.txt")
    cache = DirectoryCache(watch=watch)
    cache.get(str(site))
    cache.get(str(site / "a"))
    assert names(cache, deep) == {"old.txt"}

    (site / "a").rename(site / "gone")
    make(site / "a" / "b", "new.txt")

    watch.poll()
    assert str(deep) not in watch.watched  # dropped with its parent
    assert names(cache, deep) == {"new.txt"}


def test_removed_folder_is_missing_after_the_poll(tmp_path: Path, watch: FolderWatch) -> None:
    site = make(tmp_path / "site")
    sub = make(site / "sub", "x.txt")
    cache = DirectoryCache(watch=watch)
    cache.get(str(site))
    assert cache.get(str(sub)).exists

    (sub / "x.txt").unlink()
    sub.rmdir()

    watch.poll()
    assert not cache.get(str(sub)).exists
    assert str(sub) not in watch.watched


def test_site_behind_a_swapped_link_is_read_again(tmp_path: Path, watch: FolderWatch) -> None:
    # A common deployment: `current -> releases/1`, swapped atomically to `releases/2`.
    make(tmp_path / "releases" / "1" / "webapp", "v1.txt")
    make(tmp_path / "releases" / "2" / "webapp", "v2.txt")
    current = tmp_path / "current"
    current.symlink_to(tmp_path / "releases" / "1")
    cache = DirectoryCache(watch=watch)
    cache.get(str(current))
    assert names(cache, current / "webapp") == {"v1.txt"}

    swap = tmp_path / "current.new"
    swap.symlink_to(tmp_path / "releases" / "2")
    os.replace(swap, current)  # no event in any watched folder

    watch.poll()
    cache.get(str(current))
    assert names(cache, current / "webapp") == {"v2.txt"}


def test_site_whose_ancestor_is_renamed_is_read_again(tmp_path: Path, watch: FolderWatch) -> None:
    site = make(tmp_path / "srv" / "sites", "old.txt")
    cache = DirectoryCache(watch=watch)
    assert names(cache, site) == {"old.txt"}

    (tmp_path / "srv").rename(tmp_path / "srv-old")
    make(site, "new.txt")

    watch.poll()
    assert names(cache, site) == {"new.txt"}


def test_router_sees_a_new_handler_deep_down_after_the_poll(
    tmp_path: Path, watch: FolderWatch
) -> None:
    make(tmp_path, "webapp.ex.get.py")
    deep = make(tmp_path / "webapp" / "a" / "b" / "c")
    router = Router(DirectoryCache(watch=watch))
    site = Site(str(tmp_path), "webapp")
    found = router.resolve(site, "/a/b/c/page", "GET")
    assert found.handler is not None
    assert found.handler.depth == 0
    watch.poll()
    assert router.resolve(site, "/a/b/c/page", "GET") is found  # reused: nothing changed

    (deep / "page.ex.get.py").write_text("def main(response):\n    return response\n")
    watch.poll()
    again = router.resolve(site, "/a/b/c/page", "GET")
    assert again.outcome is Outcome.HANDLER
    assert again.handler is not None
    assert again.handler.path == str(deep / "page.ex.get.py")


def test_reused_resolution_costs_no_listing_lookups(
    tmp_path: Path, watch: FolderWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    make(tmp_path, "webapp.ex.get.py")
    make(tmp_path / "webapp" / "a" / "b")
    cache = DirectoryCache(watch=watch)
    router = Router(cache)
    site = Site(str(tmp_path), "webapp")
    router.resolve(site, "/a/b/x", "GET")
    watch.poll()
    router.resolve(site, "/a/b/x", "GET")  # found current level by level; remembered as such

    looked_up: list[str] = []
    real_get = DirectoryCache.get

    def counting(self: DirectoryCache, path: str) -> object:
        looked_up.append(path)
        return real_get(self, path)

    monkeypatch.setattr(DirectoryCache, "get", counting)
    watch.poll()
    router.resolve(site, "/a/b/x", "GET")
    assert looked_up == []


def test_queue_overflow_drops_every_watch(tmp_path: Path, watch: FolderWatch) -> None:
    site = make(tmp_path / "site", "a.txt")
    cache = DirectoryCache(watch=watch)
    cache.get(str(site))
    version = watch.version
    overflow = _inotify._EVENT.pack(-1, _inotify.IN_Q_OVERFLOW, 0, 0)
    watch._apply(overflow)  # the kernel says events were lost

    assert watch.watched == frozenset()
    assert watch.stamp(str(site)) is None
    assert watch.version != version
    (site / "b.txt").write_text("b")
    assert names(cache, site) == {"a.txt", "b.txt"}  # read again, and watched again
    assert watch.stamp(str(site)) is not None


def in_a_child(child: Callable[[], bytes], then: Callable[[], None] = lambda: None) -> bytes:
    """What ``child()`` answered, run in a forked process (ended after 20 s should it hang);
    ``then()`` runs in the parent once the child is forked."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            signal.alarm(20)
            os.close(read_end)
            os.write(write_end, child())
        except BaseException as error:  # reported to the parent
            os.write(write_end, repr(error).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    then()
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read()
    os.waitpid(pid, 0)
    return report


def test_a_forked_child_gets_its_own_queue_and_never_takes_the_parents_events(
    tmp_path: Path, watch: FolderWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make(tmp_path / "site", "a.txt")
    cache = DirectoryCache(watch=watch)
    assert names(cache, site) == {"a.txt"}
    go_read, go_write = os.pipe()

    def child() -> bytes:
        # No request asks which process it runs in: the fork itself made the watch let go.
        asked: list[int] = []
        real = os.getpid
        monkeypatch.setattr(os, "getpid", lambda: asked.append(1) or real())
        os.read(go_read, 1)  # the parent's change is queued now, on the queue they shared
        watch.poll()  # must not take the parent's event
        first = names(cache, site)
        (site / "child.txt").write_text("child")
        watch.poll()
        second = names(cache, site)
        if (first, second, asked) == ({"a.txt", "parent.txt"}, {*first, "child.txt"}, []):
            return b"ok"
        return repr((first, second, len(asked))).encode()

    def parent() -> None:
        (site / "parent.txt").write_text("parent")
        os.write(go_write, b"g")

    try:
        assert in_a_child(child, parent) == b"ok"
    finally:
        os.close(go_read)
        os.close(go_write)
    watch.poll()
    # the parent saw its own event, and the child's
    assert names(cache, site) == {"a.txt", "parent.txt", "child.txt"}


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_fork_while_another_thread_holds_the_watch_leaves_the_child_a_working_watch(
    tmp_path: Path, watch: FolderWatch
) -> None:
    site = make(tmp_path / "site", "a.txt")
    cache = DirectoryCache(watch=watch)
    assert names(cache, site) == {"a.txt"}
    holding, release = threading.Event(), threading.Event()

    def busy() -> None:  # a request thread in the middle of applying events
        with watch._lock:
            holding.set()
            release.wait(timeout=30)

    thread = threading.Thread(target=busy)
    thread.start()
    try:
        assert holding.wait(timeout=10)

        def child() -> bytes:
            (site / "child.txt").write_text("child")
            watch.poll()
            seen = names(cache, site)
            return b"ok" if seen == {"a.txt", "child.txt"} else repr(seen).encode()

        report = in_a_child(child)
    finally:
        release.set()
        thread.join(timeout=10)
    assert report == b"ok"


def test_folder_on_a_filesystem_without_reliable_events_is_checked_by_stat(
    tmp_path: Path, watch: FolderWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watching, "LOCAL_FILESYSTEMS", frozenset())  # as if on NFS
    site = make(tmp_path / "site", "a.txt")
    cache = DirectoryCache(watch=watch)
    assert names(cache, site) == {"a.txt"}
    assert watch.stamp(str(site)) is None
    assert watch.active  # other folders might still be watched

    counter = StatCounter(monkeypatch)
    (site / "b.txt").write_text("b")
    assert names(cache, site) == {"a.txt", "b.txt"}
    assert str(site) in counter.calls


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.ENOMEM])
def test_watch_limit_turns_watching_off_and_stat_takes_over(
    tmp_path: Path, watch: FolderWatch, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    def refuse(self: object, fd: int, path: str) -> int:
        raise OSError(code, os.strerror(code), path)

    monkeypatch.setattr(_inotify.Inotify, "add", refuse)
    site = make(tmp_path / "site", "a.txt")
    cache = DirectoryCache(watch=watch)
    assert names(cache, site) == {"a.txt"}
    assert not watch.active
    assert "watch limit" in (watch.failure or "")
    (site / "b.txt").write_text("b")
    assert names(cache, site) == {"a.txt", "b.txt"}


def test_no_inotify_instance_left_means_stat_checks(
    tmp_path: Path, watch: FolderWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: object) -> int:
        raise OSError(errno.EMFILE, "inotify_init1: Too many open files")

    monkeypatch.setattr(_inotify.Inotify, "open", refuse)
    site = make(tmp_path / "site", "a.txt")
    cache = DirectoryCache(watch=watch)
    assert names(cache, site) == {"a.txt"}
    assert watch.failure is not None
    assert "not available" in watch.failure
    (site / "b.txt").write_text("b")
    assert names(cache, site) == {"a.txt", "b.txt"}


def test_disabled_watch_never_watches(tmp_path: Path) -> None:
    watch = FolderWatch(enabled=False)
    site = make(tmp_path / "site", "a.txt")
    assert watch.watch(str(site)) is None
    assert not watch.active
    assert watch.failure == "watching is turned off"
    watch.poll()  # harmless


@pytest.mark.parametrize("path", ["relative/nowhere", "/no/such/folder", "/tmp/a\0b"])
def test_what_cannot_be_watched_answers_none(watch: FolderWatch, path: str) -> None:
    assert watch.watch(path) is None
    assert watch.active


def test_a_file_is_not_watched_as_a_folder(tmp_path: Path, watch: FolderWatch) -> None:
    make(tmp_path, "file.txt")
    assert watch.watch(str(tmp_path / "file.txt")) is None


def test_close_releases_the_descriptor(tmp_path: Path) -> None:
    watch = FolderWatch()
    site = make(tmp_path / "site", "a.txt")
    assert watch.watch(str(site)) is not None
    fd = watch._fd
    os.fstat(fd)  # open
    watch.close()
    with pytest.raises(OSError, match="Bad file descriptor") as closed:
        os.fstat(fd)
    assert closed.value.errno == errno.EBADF
    assert watch.stamp(str(site)) is None
    assert watch.watch(str(site)) is None
    watch.poll()  # harmless after close


def test_garbage_collection_releases_the_descriptor(tmp_path: Path) -> None:
    watch = FolderWatch()
    assert watch.watch(str(make(tmp_path / "site"))) is not None
    fd = watch._fd
    del watch
    gc.collect()
    with pytest.raises(OSError, match="Bad file descriptor") as closed:
        os.fstat(fd)
    assert closed.value.errno == errno.EBADF


def test_same_folder_through_a_link_is_left_to_stat(tmp_path: Path, watch: FolderWatch) -> None:
    real = make(tmp_path / "real", "a.txt")
    (tmp_path / "alias").symlink_to(real)
    cache = DirectoryCache(watch=watch)
    cache.get(str(real))
    assert watch.watch(str(tmp_path / "alias")) is None  # its events would name `real`
    (real / "b.txt").write_text("b")
    assert names(cache, tmp_path / "alias") == {"a.txt", "b.txt"}


def test_threads_polling_together_all_see_a_change(tmp_path: Path, watch: FolderWatch) -> None:
    site = make(tmp_path / "site", "a.txt")
    cache = DirectoryCache(watch=watch)
    cache.get(str(site))
    (site / "b.txt").write_text("b")
    start = threading.Barrier(8)
    seen: list[set[str]] = []

    def request() -> None:
        start.wait(timeout=10)
        watch.poll()
        seen.append(names(cache, site))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert seen == [{"a.txt", "b.txt"}] * 8


def test_a_request_checks_only_the_roots_it_uses(
    tmp_path: Path, watch: FolderWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One app serving many folders of sites (one per tenant) must not stat them all per request,
    # where their ways cannot be watched either.
    refuse_ways(monkeypatch, str(tmp_path), errno.EACCES)
    cache = DirectoryCache(watch=watch)
    tenants = [make(tmp_path / f"tenant{number}", "a.txt") for number in range(20)]
    for tenant in tenants:
        cache.get(str(tenant))
    assert all(watch.is_root(str(tenant)) for tenant in tenants)

    counter = StatCounter(monkeypatch)
    watch.poll()
    cache.get(str(tenants[3]))
    cache.get(str(tenants[3]))
    assert counter.calls == [str(tenants[3])]  # once per poll, and only this one


def test_reused_resolution_sees_its_site_folder_link_swapped(
    tmp_path: Path, watch: FolderWatch
) -> None:
    for release in ("1", "2"):
        make(tmp_path / "releases" / release, "webapp.ex.get.py")
        make(tmp_path / "releases" / release / "webapp")
    make(tmp_path / "releases" / "2" / "webapp", "page.ex.get.py")
    current = tmp_path / "current"
    current.symlink_to(tmp_path / "releases" / "1")
    router = Router(DirectoryCache(watch=watch))
    site = Site(str(current), "webapp")
    first = router.resolve(site, "/page", "GET")
    watch.poll()
    assert router.resolve(site, "/page", "GET") is first  # reused
    assert first.handler is not None
    assert first.handler.depth == 0

    swap = tmp_path / "current.new"
    swap.symlink_to(tmp_path / "releases" / "2")
    os.replace(swap, current)
    watch.poll()
    again = router.resolve(site, "/page", "GET")
    assert again.handler is not None
    assert again.handler.path == str(current / "webapp" / "page.ex.get.py")


# --- roots: the way to them watched, so that a settled request makes no `stat` -------------------


def kernel_watches(watch: FolderWatch) -> int:
    """How many watches the kernel holds on the watch's inotify descriptor."""
    return Path(f"/proc/self/fdinfo/{watch._fd}").read_text().count("inotify wd:")


def switch(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` at once, as a deploy does: a new link renamed over it."""
    new = link.with_name(link.name + ".new")
    new.symlink_to(target)
    os.replace(new, link)


def release(tmp_path: Path, number: str) -> None:
    """``srv/releases/<number>/sites``, whose site ``webapp`` holds ``v<number>.txt``."""
    make(tmp_path / "srv" / "releases" / number / "sites" / "webapp", f"v{number}.txt")


def swappable_root(tmp_path: Path, swap: str) -> tuple[Path, Callable[[], None]]:
    """A root folder of sites holding release 1, and what makes the same path lead to a root
    holding release 2 in the way ``swap`` says."""
    release(tmp_path, "1")
    release(tmp_path, "2")
    srv = tmp_path / "srv"
    releases = srv / "releases"
    if swap == "link switched":
        root = tmp_path / "current"
        root.symlink_to(releases / "1" / "sites")
        return root, lambda: switch(root, releases / "2" / "sites")
    if swap == "link on the way switched":
        (tmp_path / "current").symlink_to(releases / "1")
        return tmp_path / "current" / "sites", lambda: switch(tmp_path / "current", releases / "2")
    if swap == "relative link on the way switched":
        (srv / "current").symlink_to(Path("releases", "1"))
        return srv / "current" / "sites", lambda: switch(srv / "current", Path("releases", "2"))
    if swap == "ancestor renamed":

        def rename_ancestor() -> None:
            srv.rename(tmp_path / "srv-old")  # and a new `srv` made, holding release 2 as 1
            make(releases)
            (tmp_path / "srv-old" / "releases" / "2").rename(releases / "1")

        return releases / "1" / "sites", rename_ancestor

    if swap == "ancestor replaced by another of the same name":

        def replace_ancestor() -> None:
            (releases / "1").rename(tmp_path / "old-1")
            (releases / "2").rename(releases / "1")

        return releases / "1" / "sites", replace_ancestor

    assert swap == "link target's ancestor replaced"
    (tmp_path / "current").symlink_to(releases / "1")

    def replace_targets_ancestor() -> None:
        releases.rename(tmp_path / "old-releases")
        (tmp_path / "old-releases").rename(tmp_path / "spare")
        make(releases)
        (tmp_path / "spare" / "2").rename(releases / "1")

    return tmp_path / "current" / "sites", replace_targets_ancestor


SWAPS = [
    "link switched",
    "link on the way switched",
    "relative link on the way switched",
    "ancestor renamed",
    "ancestor replaced by another of the same name",
    "link target's ancestor replaced",
]


@pytest.mark.parametrize("swap", SWAPS)
def test_a_root_swapped_for_another_is_seen_after_the_next_poll_and_settled_costs_no_stat(
    tmp_path: Path, watch: FolderWatch, monkeypatch: pytest.MonkeyPatch, swap: str
) -> None:
    root, swap_it = swappable_root(tmp_path, swap)
    cache = DirectoryCache(watch=watch)
    cache.get(str(root))
    assert names(cache, root / "webapp") == {"v1.txt"}

    counter = StatCounter(monkeypatch)
    watch.poll()
    cache.get(str(root))
    assert names(cache, root / "webapp") == {"v1.txt"}
    assert counter.calls == []  # settled: no `stat` of the root, nor of anything else

    swap_it()
    watch.poll()
    assert str(root) not in watch.watched  # dropped by the event on its way
    cache.get(str(root))
    assert names(cache, root / "webapp") == {"v2.txt"}


@pytest.mark.parametrize("swap", SWAPS)
def test_a_reused_resolution_sees_its_root_swapped(
    tmp_path: Path, watch: FolderWatch, monkeypatch: pytest.MonkeyPatch, swap: str
) -> None:
    root, swap_it = swappable_root(tmp_path, swap)
    for number in ("1", "2"):
        site = tmp_path / "srv" / "releases" / number / "sites"
        (site / "webapp.ex.get.py").write_text(number)
        (site / "webapp" / f"v{number}.ex.get.py").write_text(number)
    router = Router(DirectoryCache(watch=watch))
    site = Site(str(root), "webapp")
    first = router.resolve(site, "/v2", "GET")
    assert first.handler is not None
    assert first.handler.depth == 0
    with monkeypatch.context() as patching:
        counter = StatCounter(patching)
        watch.poll()
        assert router.resolve(site, "/v2", "GET") is first  # reused, without a `stat`
    assert counter.calls == []

    swap_it()
    watch.poll()
    again = router.resolve(site, "/v2", "GET")
    assert again.handler is not None
    assert again.handler.path == str(root / "webapp" / "v2.ex.get.py")


def test_unrelated_changes_in_folders_on_the_way_leave_the_root_alone(
    tmp_path: Path, watch: FolderWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make(tmp_path / "srv" / "sites")
    make(root / "webapp", "a.txt")
    cache = DirectoryCache(watch=watch)
    listings = cache.get(str(root)), cache.get(str(root / "webapp"))
    stamp, version = watch.stamp(str(root)), watch.version
    for number in range(50):  # the traffic of a folder like /tmp, beside the way
        other = tmp_path / f"other{number}"
        other.write_text("x")
        other.chmod(0o600)
        other.rename(tmp_path / f"moved{number}")
        (tmp_path / f"moved{number}").unlink()
        (tmp_path / "srv" / f"sibling{number}").mkdir()
        (tmp_path / "srv" / f"sibling{number}").rmdir()

    counter = StatCounter(monkeypatch)
    watch.poll()
    assert (cache.get(str(root)), cache.get(str(root / "webapp"))) == listings
    assert cache.get(str(root)) is listings[0]  # not read again
    assert (watch.stamp(str(root)), watch.version) == (stamp, version)
    assert counter.calls == []


@pytest.mark.parametrize("change", ["a heartbeat file", "the way touched", "the way chmodded"])
def test_attribute_changes_on_the_way_raise_no_event(
    tmp_path: Path, watch: FolderWatch, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    # gunicorn's workers touch an unlinked file in /tmp on every turn of their loop; deploy tools
    # touch folders. Neither makes a path lead elsewhere: nothing to read, the root stays.
    root = make(tmp_path / "srv" / "sites", "a.txt")
    cache = DirectoryCache(watch=watch)
    listing = cache.get(str(root))
    with tempfile.TemporaryFile(dir=tmp_path) as heartbeat:
        watch.poll()  # (its name removed: an event in a folder on the way)
        if change == "a heartbeat file":
            for second in range(3):
                os.utime(heartbeat.fileno(), (second, second))
                os.fchmod(heartbeat.fileno(), 0o600 | second)
        elif change == "the way touched":
            os.utime(tmp_path / "srv", ns=(1, 1))
            os.utime(tmp_path, ns=(1, 1))
        else:
            (tmp_path / "srv").chmod(0o700)
            tmp_path.chmod(0o700)
        reads: list[int] = []
        real_read = os.read
        monkeypatch.setattr(os, "read", lambda fd, size: reads.append(fd) or real_read(fd, size))
        watch.poll()
    assert reads == []  # nothing was queued
    assert cache.get(str(root)) is listing


def test_roots_sharing_folders_on_their_ways_are_dropped_one_at_a_time(
    tmp_path: Path, watch: FolderWatch
) -> None:
    one = make(tmp_path / "one" / "sites", "1.txt")
    two = make(tmp_path / "two" / "sites", "2.txt")
    cache = DirectoryCache(watch=watch)
    assert (names(cache, one), names(cache, two)) == ({"1.txt"}, {"2.txt"})
    watches = kernel_watches(watch)

    (tmp_path / "one").rename(tmp_path / "one-old")
    make(one, "new.txt")
    watch.poll()
    assert str(one) not in watch.watched
    assert watch.stamp(str(two)) is not None
    # the watches only `one` needed (itself, and `one` on its way) are gone
    assert kernel_watches(watch) == watches - 2
    assert names(cache, one) == {"new.txt"}
    assert kernel_watches(watch) == watches

    (tmp_path / "two").rename(tmp_path / "two-old")
    make(two, "newer.txt")
    watch.poll()
    assert names(cache, two) == {"newer.txt"}
    assert kernel_watches(watch) == watches


def test_a_folder_watched_for_its_contents_and_on_a_way_keeps_both(
    tmp_path: Path, watch: FolderWatch
) -> None:
    root = make(tmp_path / "srv" / "sites", "a.txt")
    cache = DirectoryCache(watch=watch)
    assert names(cache, root) == {"a.txt"}
    srv = make(tmp_path / "srv", "srv.txt")
    assert names(cache, srv) == {"srv.txt"}  # one watch, asked for more events now

    (srv / "more.txt").write_text("more")
    watch.poll()
    assert names(cache, srv) == {"srv.txt", "more.txt"}
    assert watch.stamp(str(root)) is not None

    root.rename(srv / "sites-old")
    make(root, "b.txt")
    watch.poll()
    assert names(cache, root) == {"b.txt"}
    assert "sites-old" in cache.get(str(srv)).folders


def refuse_ways(monkeypatch: pytest.MonkeyPatch, folder: str, code: int) -> None:
    """Make watching ``folder`` as a folder on a way fail as the kernel would with ``code``
    (``EREMOTE``: it is on a network filesystem)."""
    real_add, real_filesystem = _inotify.Inotify.add, _inotify.Inotify.filesystem

    def add(self: _inotify.Inotify, fd: int, path: str, mask: int = _inotify.MASK) -> int:
        if path == folder and mask == _inotify.GUARD_MASK:
            raise OSError(code, os.strerror(code), path)
        return real_add(self, fd, path, mask)

    def filesystem(self: _inotify.Inotify, path: str) -> int:
        if path == folder and code == errno.EREMOTE:
            return 0x6969  # NFS
        return real_filesystem(self, path)

    monkeypatch.setattr(_inotify.Inotify, "add", add)
    monkeypatch.setattr(_inotify.Inotify, "filesystem", filesystem)


@pytest.mark.parametrize(
    "code",
    [errno.EACCES, errno.EREMOTE, errno.ENOSPC],
    ids=["permission", "another filesystem", "watch limit"],
)
def test_a_root_whose_way_cannot_be_watched_is_checked_by_stat_and_others_are_not(
    tmp_path: Path, watch: FolderWatch, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    root, swap_it = swappable_root(tmp_path / "a", "ancestor replaced by another of the same name")
    refuse_ways(monkeypatch, str(tmp_path / "a" / "srv" / "releases"), code)
    other = make(tmp_path / "b" / "sites", "b.txt")
    cache = DirectoryCache(watch=watch)
    cache.get(str(root))
    assert names(cache, root / "webapp") == {"v1.txt"}
    assert names(cache, other) == {"b.txt"}
    assert watch.active
    assert watch.is_root(str(root))
    assert not watch.is_root(str(other))
    # nothing is left watched of the way that could not be: the root, its site, the other
    # root and its way (every folder above it)
    assert kernel_watches(watch) == 3 + len(other.parents)

    counter = StatCounter(monkeypatch)
    watch.poll()
    cache.get(str(root))
    cache.get(str(other))
    assert counter.calls == [str(root)]

    swap_it()
    watch.poll()
    cache.get(str(root))
    assert names(cache, root / "webapp") == {"v2.txt"}


def test_the_way_to_a_folder_is_every_entry_looked_up_links_included(tmp_path: Path) -> None:
    make(tmp_path / "srv" / "releases" / "2" / "sites")
    (tmp_path / "srv" / "current").symlink_to(Path("releases", "2"))
    (tmp_path / "link").symlink_to(tmp_path / "srv" / "current")
    looked_in: list[str] = []

    def watch(folder: str) -> int:
        looked_in.append(folder)
        return len(looked_in)

    way = _ancestry.lookups(str(tmp_path / "link" / "." / "sites" / ".." / "sites"), watch)
    ancestors = [str(parent) for parent in reversed(tmp_path.parents)]
    srv = str(tmp_path / "srv")
    assert looked_in == [*ancestors, str(tmp_path), srv, f"{srv}/releases", f"{srv}/releases/2"]
    wd = {folder: number for number, folder in enumerate(looked_in, start=1)}
    to_tmp_path = [
        (wd[folder], os.fsencode(name))
        for folder, name in zip(ancestors, tmp_path.parts[1:], strict=True)
    ]
    assert way == [
        *to_tmp_path,
        (wd[str(tmp_path)], b"link"),
        *to_tmp_path,  # again: the link's target is an absolute path
        (wd[str(tmp_path)], b"srv"),
        (wd[srv], b"current"),
        (wd[srv], b"releases"),
        (wd[f"{srv}/releases"], b"2"),
        (wd[f"{srv}/releases/2"], b"sites"),
        (wd[f"{srv}/releases/2"], b"sites"),
    ]


@pytest.mark.parametrize("how", ["a loop of links", "a file on the way", "missing", "relative"])
def test_a_way_that_cannot_be_followed_is_refused(tmp_path: Path, how: str) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    make(tmp_path, "file")
    path = {
        "a loop of links": tmp_path / "loop" / "sites",
        "a file on the way": tmp_path / "file" / "sites",
        "missing": tmp_path / "nowhere" / "sites",
        "relative": Path("sites"),
    }[how]
    with pytest.raises((OSError, ValueError)) as refused:
        _ancestry.lookups(str(path), lambda folder: 1)
    if isinstance(refused.value, OSError):
        expected = {"a loop of links": errno.ELOOP, "a file on the way": errno.ENOTDIR}
        assert refused.value.errno == expected.get(how, errno.ENOENT)


@pytest.mark.skipif(not getattr(sys, "_is_gil_enabled", lambda: True)(), reason="no GIL")
def test_a_settled_request_keeps_the_gil_and_makes_no_stat(
    tmp_path: Path, watch: FolderWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A request thread that lets go of the GIL (a blocking system call: `stat`, an `ioctl`
    # through fcntl) hands it to any thread waiting for it. With the switch interval out of
    # reach, a waiting thread runs only then.
    make(tmp_path, "webapp.ex.get.py")
    make(tmp_path / "webapp" / "a" / "b")
    router = Router(DirectoryCache(watch=watch))
    site = Site(str(tmp_path), "webapp")
    router.resolve(site, "/a/b/page", "GET")
    watch.poll()
    router.resolve(site, "/a/b/page", "GET")

    reads: list[int] = []
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, size: reads.append(fd) or real_read(fd, size))
    asked: list[int] = []
    real_getpid = os.getpid
    monkeypatch.setattr(os, "getpid", lambda: asked.append(1) or real_getpid())
    counter = StatCounter(monkeypatch)
    turns = [0]
    stop = threading.Event()

    def waiting_thread() -> None:
        while not stop.is_set():
            turns[0] += 1
            time.sleep(0)  # lets go of the GIL, and waits for it again

    interval = sys.getswitchinterval()
    thread = threading.Thread(target=waiting_thread)
    settled = 0
    sys.setswitchinterval(1000.0)
    try:
        thread.start()
        for _ in range(1000):
            if turns[0]:
                break
            time.sleep(0.001)
        assert turns[0]
        for _ in range(300):
            read, turned = len(reads), turns[0]
            watch.poll()
            router.resolve(site, "/a/b/page", "GET")
            if len(reads) == read:  # nothing was queued (a folder on the way may see traffic)
                settled += 1
                assert turns[0] == turned, "a settled request let go of the GIL"
    finally:
        stop.set()
        sys.setswitchinterval(interval)
        thread.join(timeout=10)
    assert settled >= 150
    assert counter.calls == []
    assert asked == []


# --- files being written: modified (IN_MODIFY) and not yet closed (IN_CLOSE_WRITE) -------------


def watched_file(tmp_path: Path, watch: FolderWatch, name: str = "page.ex.get.py") -> Path:
    site = make(tmp_path / "site")
    page = site / name
    page.write_text("before")
    assert watch.watch(str(site)) is not None
    return page


def writing(watch: FolderWatch, path: Path) -> bool:
    watch.poll()
    state = watch.file_state(str(path))
    assert state is not None
    return state.writing


@pytest.mark.parametrize("how", ["write", "truncate", "truncate on open", "append"])
def test_a_file_modified_and_not_closed_is_being_written_until_closed(
    tmp_path: Path, watch: FolderWatch, how: str
) -> None:
    page = watched_file(tmp_path, watch)
    assert not writing(watch, page)
    mode = {"write": "r+", "truncate": "r+", "truncate on open": "w", "append": "a"}[how]
    with page.open(mode) as file:
        assert not writing(watch, page) or how == "truncate on open"
        if how == "truncate":
            file.truncate(0)
        elif how != "truncate on open":
            file.write("half of it")
        file.flush()
        assert writing(watch, page)
        assert writing(watch, page)  # still, on every poll while it is open
    assert not writing(watch, page)


def test_a_file_opened_for_writing_but_not_modified_is_not_being_written(
    tmp_path: Path, watch: FolderWatch
) -> None:
    page = watched_file(tmp_path, watch)
    with page.open("r+"):
        assert not writing(watch, page)
    assert not writing(watch, page)


def test_only_the_file_written_is_being_written(tmp_path: Path, watch: FolderWatch) -> None:
    page = watched_file(tmp_path, watch)
    other = page.with_name("other.txt")
    other.write_text("other")
    with other.open("a") as file:
        file.write("more")
        file.flush()
        assert writing(watch, other)
        assert not writing(watch, page)


def test_the_file_stamp_moves_with_events_naming_the_file_only(
    tmp_path: Path, watch: FolderWatch
) -> None:
    page = watched_file(tmp_path, watch)
    watch.poll()
    before = watch.file_state(str(page))
    page.with_name("neighbour.txt").write_text("a neighbour changed")
    watch.poll()
    assert watch.file_state(str(page)) == before
    page.write_text("written and closed")
    watch.poll()
    after = watch.file_state(str(page))
    assert after is not None
    assert before is not None
    assert after.stamp != before.stamp
    assert not after.writing


def test_a_file_in_a_folder_not_watched_has_no_state(tmp_path: Path, watch: FolderWatch) -> None:
    page = make(tmp_path / "elsewhere", "page.ex.get.py") / "page.ex.get.py"
    assert watch.file_state(str(page)) is None
    assert FolderWatch(enabled=False).file_state(str(page)) is None


def test_a_save_by_rename_is_not_being_written(tmp_path: Path, watch: FolderWatch) -> None:
    page = watched_file(tmp_path, watch)
    temporary = page.with_name(".page.tmp")
    with temporary.open("w") as file:
        file.write("new version")
        file.flush()
        assert writing(watch, temporary)
    os.replace(temporary, page)
    assert not writing(watch, page)
    assert not writing(watch, temporary)


def test_a_file_renamed_over_while_written_is_being_written_under_its_new_name(
    tmp_path: Path, watch: FolderWatch
) -> None:
    page = watched_file(tmp_path, watch)
    temporary = page.with_name(".page.tmp")
    with temporary.open("w") as file:
        file.write("first half")
        file.flush()
        os.replace(temporary, page)
        assert writing(watch, page)
        assert not writing(watch, temporary)
        file.write(" and second half")
    assert not writing(watch, page)


def test_a_file_being_written_over_by_a_rename_is_not_being_written_any_more(
    tmp_path: Path, watch: FolderWatch
) -> None:
    page = watched_file(tmp_path, watch)
    replacement = page.with_name(".page.tmp")
    replacement.write_text("a whole new version")
    with page.open("a") as file:
        file.write("half")
        file.flush()
        assert writing(watch, page)
        os.replace(replacement, page)  # the name now holds a file nobody is writing
        assert not writing(watch, page)


def test_a_removed_file_being_written_is_forgotten(tmp_path: Path, watch: FolderWatch) -> None:
    page = watched_file(tmp_path, watch)
    with page.open("a") as file:
        file.write("half")
        file.flush()
        assert writing(watch, page)
        page.unlink()
        assert not writing(watch, page)
        page.write_text("a new file under the old name, written and closed")
        assert not writing(watch, page)


def test_dropped_watches_forget_the_files_being_written(tmp_path: Path, watch: FolderWatch) -> None:
    page = watched_file(tmp_path, watch)
    with page.open("a") as file:
        file.write("half")
        file.flush()
        assert writing(watch, page)
        watch._apply(_inotify._EVENT.pack(-1, _inotify.IN_Q_OVERFLOW, 0, 0))  # events lost
        assert watch.file_state(str(page)) is None  # not watched: nothing known
        assert watch.watch(str(page.parent)) is not None
        assert not writing(watch, page)  # its close could be missed: not remembered


def test_names_remembered_are_bounded_and_forgetting_moves_every_stamp(
    tmp_path: Path, watch: FolderWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_writers, "MAX_NAMED", 4)
    page = watched_file(tmp_path, watch)
    watch.poll()
    before = watch.file_state(str(page))
    for i in range(6):
        page.with_name(f"n{i}.txt").write_text("x")
    watch.poll()
    after = watch.file_state(str(page))
    assert after is not None
    assert before is not None
    assert after.stamp != before.stamp  # forgotten, so read as changed: never as unchanged
    assert len(watch._writers._named) <= 4


def test_a_file_created_and_not_closed_is_created_until_written_or_closed(
    tmp_path: Path, watch: FolderWatch
) -> None:
    site = make(tmp_path / "site")
    assert watch.watch(str(site)) is not None
    page = site / "page.ex.get.py"
    with page.open("w") as file:
        watch.poll()
        state = watch.file_state(str(page))
        assert state is not None
        assert (state.writing, state.created) == (False, True)
        file.write("x")
        file.flush()
        watch.poll()
        state = watch.file_state(str(page))
        assert state is not None
        assert (state.writing, state.created) == (True, False)
    watch.poll()
    state = watch.file_state(str(page))
    assert state is not None
    assert (state.writing, state.created) == (False, False)
    page.with_name("touched").touch()
    watch.poll()
    state = watch.file_state(str(page.with_name("touched")))
    assert state is not None
    assert (state.writing, state.created) == (False, False)


@pytest.mark.parametrize("kind", ["symbolic link", "hard link", "folder", "fifo"])
def test_names_made_without_a_writer_are_never_being_written(
    tmp_path: Path, watch: FolderWatch, kind: str
) -> None:
    site = make(tmp_path / "site", "target.py")
    assert watch.watch(str(site)) is not None
    page = site / "page.ex.get.py"
    if kind == "symbolic link":
        page.symlink_to(site / "target.py")
    elif kind == "hard link":
        os.link(site / "target.py", page)
    elif kind == "folder":
        page.mkdir()
    else:
        os.mkfifo(page)
    watch.poll()
    state = watch.file_state(str(page))
    assert state is not None
    assert not state.writing  # (`created` for a link or node: the reader checks it is empty)
    assert state.created == (kind != "folder")
