"""ModuleLoader: each file run once per version, every change seen, errors naming the line."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import socket
import stat
import sys
import textwrap
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest

from cylinder_router import FolderWatch
from cylinder_runtime import HandlerLoadError, LoadedFile, ModuleLoader
from cylinder_runtime import loader as loader_module
from cylinder_runtime.loader import RETRY_AFTER, FileBeingWritten

#: Every thread and wait in these tests gives up after this many seconds.
TIMEOUT = 10.0


def describe() -> str:
    return "handler `page.ex.get.py`"


def write(path: Path, source: str) -> None:
    path.write_text(textwrap.dedent(source), encoding="utf-8")


def write_atomically(path: Path, source: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    write(temporary, source)
    os.replace(temporary, path)


def counted(runs: Path, version: int, extra: str = "") -> str:
    """A handler whose top level appends its version to ``runs`` each time it is executed."""
    return (
        f"with open({str(runs)!r}, 'a') as _runs:\n"
        f"    _runs.write('{version}\\n')\n"
        f"{extra}"
        "def main(response):\n"
        "    return response\n"
        f"VERSION = {version}\n"
    )


def runs_of(runs: Path) -> list[int]:
    if not runs.exists():
        return []
    return [int(line) for line in runs.read_text().split()]


class Clock:
    """The loader's clock, moved by hand: ``now`` is how long after the file's mtime it is."""

    def __init__(self, path: Path) -> None:
        self.mtime_ns = os.stat(path).st_mtime_ns
        self.now = 0.0

    def time_ns(self) -> int:
        return self.mtime_ns + int(self.now * 1e9)


def use_clock(monkeypatch: pytest.MonkeyPatch, path: Path, now: float) -> Clock:
    clock = Clock(path)
    clock.now = now
    monkeypatch.setattr(loader_module, "time", clock)
    return clock


def cylinder_modules(path: Path) -> list[str]:
    return [name for name in list(sys.modules) if str(path) in name]


def test_file_runs_once_and_its_module_is_reused(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    page = tmp_path / "page.ex.get.py"
    write(page, counted(runs, 1))
    loader = ModuleLoader()

    first = loader.load(str(page), describe)
    second = loader.load(str(page), describe)

    assert second.module is first.module
    assert second.main is first.main
    assert first.module.VERSION == 1
    assert runs_of(runs) == [1]
    assert first.plan.keyword == ("response",)
    assert first.plan.where == describe()


def test_describe_is_called_only_when_the_file_is_executed(tmp_path: Path) -> None:
    page = tmp_path / "page.ex.get.py"
    write(page, "def main():\n    pass\n")
    calls: list[str] = []

    def counting_describe() -> str:
        calls.append("x")
        return "handler `page.ex.get.py`"

    loader = ModuleLoader()
    loader.load(str(page), counting_describe)
    loader.load(str(page), counting_describe)

    assert calls == ["x"]


def test_edit_of_the_same_size_is_seen(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    page = tmp_path / "page.ex.get.py"
    write(page, counted(runs, 1))
    loader = ModuleLoader()
    before = os.stat(page)
    assert loader.load(str(page), describe).module.VERSION == 1

    write(page, counted(runs, 2))
    os.utime(page, ns=(before.st_atime_ns, before.st_mtime_ns))  # same size, same mtime
    assert os.stat(page).st_size == before.st_size

    assert loader.load(str(page), describe).module.VERSION == 2
    assert loader.load(str(page), describe).module.VERSION == 2
    assert runs_of(runs) == [1, 2]


def test_edit_within_one_clock_tick_is_seen_by_comparing_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A coarse filesystem clock: two writes in one tick leave every stat field the same.
    runs = tmp_path / "runs"
    page = tmp_path / "page.ex.get.py"
    same_stat = (1, len(counted(runs, 1)), time.time_ns(), time.time_ns(), 1, 1)
    monkeypatch.setattr(loader_module, "_fingerprint_of", lambda st: same_stat)
    write(page, counted(runs, 1))
    loader = ModuleLoader()

    first = loader.load(str(page), describe)
    assert not first.settled
    write(page, counted(runs, 2))

    assert loader.load(str(page), describe).module.VERSION == 2
    assert runs_of(runs) == [1, 2]


def test_file_settles_after_the_racy_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = tmp_path / "page.ex.get.py"
    write(page, "def main():\n    pass\n")
    clock = use_clock(monkeypatch, page, now=0.001)
    loader = ModuleLoader(racy_window_ns=1_000_000_000)

    first = loader.load(str(page), describe)
    assert not first.settled
    clock.now = 0.5
    assert not loader.load(str(page), describe).settled  # bytes compared, still too recent
    clock.now = 1.5
    loader.load(str(page), describe)  # bytes compared once more, then stat alone is trusted
    settled = loader.load(str(page), describe)

    assert settled.settled
    assert settled.module is first.module


def test_zero_racy_window_settles_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "page.ex.get.py"
    write(page, "def main():\n    pass\n")
    loader = ModuleLoader(racy_window_ns=0)

    first = loader.load(str(page), describe)
    assert first.settled

    def no_reading(*args: object, **kwargs: object) -> Any:
        raise AssertionError("a settled, unchanged file is not read again")

    monkeypatch.setattr(loader_module, "open", no_reading, raising=False)
    assert loader.load(str(page), describe) is first


def test_default_racy_window_leaves_a_fresh_file_unsettled(tmp_path: Path) -> None:
    page = tmp_path / "page.ex.get.py"
    write(page, "def main():\n    pass\n")

    assert not ModuleLoader().load(str(page), describe).settled


def test_edit_by_atomic_rename_is_seen(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    page = tmp_path / "page.ex.get.py"
    write_atomically(page, counted(runs, 1))
    loader = ModuleLoader()
    before = os.stat(page)
    assert loader.load(str(page), describe).module.VERSION == 1

    temporary = tmp_path / "page.tmp"
    write(temporary, counted(runs, 2))
    os.utime(temporary, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(temporary, page)

    assert loader.load(str(page), describe).module.VERSION == 2
    assert runs_of(runs) == [1, 2]


def test_removed_file_keeps_serving_the_loaded_version(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    page = tmp_path / "page.ex.get.py"
    write(page, counted(runs, 1))
    loader = ModuleLoader()
    first = loader.load(str(page), describe)

    page.unlink()

    assert loader.load(str(page), describe).module is first.module
    assert runs_of(runs) == [1]


def test_file_added_again_after_removal_is_executed_again(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    page = tmp_path / "page.ex.get.py"
    write(page, counted(runs, 1))
    loader = ModuleLoader()
    loader.load(str(page), describe)
    page.unlink()
    loader.load(str(page), describe)

    write(page, counted(runs, 2))

    assert loader.load(str(page), describe).module.VERSION == 2
    assert runs_of(runs) == [1, 2]


def test_missing_file_never_loaded_names_the_path(tmp_path: Path) -> None:
    page = tmp_path / "nowhere.ex.get.py"

    with pytest.raises(HandlerLoadError, match=r"nowhere\.ex\.get\.py.*does not exist") as info:
        ModuleLoader().load(str(page), describe)

    assert info.value.path == str(page)
    assert info.value.line is None


def test_forget_executes_the_file_again(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    page = tmp_path / "page.ex.get.py"
    write(page, counted(runs, 1))
    loader = ModuleLoader()
    first = loader.load(str(page), describe)

    loader.forget(str(page))

    assert loader.load(str(page), describe).module is not first.module
    assert runs_of(runs) == [1, 1]


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    page = tmp_path / "page.ex.get.py"
    write(page, "x = 1\n\ndef main(:\n    pass\n")

    with pytest.raises(HandlerLoadError, match=r"page\.ex\.get\.py`, line 3: SyntaxError") as info:
        ModuleLoader().load(str(page), describe)

    assert info.value.line == 3
    assert info.value.path == str(page)
    assert isinstance(info.value.__cause__, SyntaxError)


@pytest.mark.parametrize(
    ("line_3", "error"),
    [
        ("x = 1 / 0", "ZeroDivisionError: division by zero"),
        ("import cylinder_no_such_module", "ModuleNotFoundError: No module named"),
        ("from os import no_such_name", "ImportError: cannot import name 'no_such_name'"),
    ],
)
def test_exception_at_import_names_file_and_line(tmp_path: Path, line_3: str, error: str) -> None:
    page = tmp_path / "page.ex.get.py"
    write(page, f"import os\n\n{line_3}\n\ndef main():\n    pass\n")

    with pytest.raises(HandlerLoadError, match=rf"page\.ex\.get\.py`, line 3: {error}") as info:
        ModuleLoader().load(str(page), describe)

    assert info.value.line == 3
    assert cylinder_modules(page) == []


def test_exception_in_a_function_called_at_import_names_the_deepest_line(tmp_path: Path) -> None:
    page = tmp_path / "page.ex.get.py"
    write(page, "def helper():\n    raise KeyError('k')\n\nhelper()\n")

    with pytest.raises(HandlerLoadError, match=r"line 2: KeyError") as info:
        ModuleLoader().load(str(page), describe)

    assert info.value.line == 2


def test_failed_load_is_retried_and_the_fix_is_seen(tmp_path: Path) -> None:
    page = tmp_path / "page.ex.get.py"
    write(page, "def main(:\n")
    loader = ModuleLoader()
    with pytest.raises(HandlerLoadError):
        loader.load(str(page), describe)

    write(page, "def main():\n    return 'fixed'\n")

    assert loader.load(str(page), describe).main() == "fixed"


def test_broken_edit_keeps_failing_until_fixed(tmp_path: Path) -> None:
    page = tmp_path / "page.ex.get.py"
    write(page, "def main():\n    return 1\n")
    loader = ModuleLoader()
    loader.load(str(page), describe)

    write(page, "def main(:\n    return 2\n")
    for _ in range(2):
        with pytest.raises(HandlerLoadError, match="line 1"):
            loader.load(str(page), describe)

    write(page, "def main():\n    return 3\n")
    assert loader.load(str(page), describe).main() == 3


def test_no_main_is_a_clear_error(tmp_path: Path) -> None:
    page = tmp_path / "page.ex.get.py"
    write(page, "def handler():\n    pass\n")

    with pytest.raises(HandlerLoadError, match=r"page\.ex\.get\.py`: it defines no `main`"):
        ModuleLoader().load(str(page), describe)


def test_non_callable_main_is_a_clear_error(tmp_path: Path) -> None:
    page = tmp_path / "page.ex.get.py"
    write(page, "main = 'hello'\n")

    with pytest.raises(HandlerLoadError, match=r"page\.ex\.get\.py`: its `main` is not callable"):
        ModuleLoader().load(str(page), describe)


def test_main_without_a_signature_is_a_clear_error(tmp_path: Path) -> None:
    page = tmp_path / "page.ex.get.py"
    write(page, "main = next\n")

    with pytest.raises(HandlerLoadError, match=r"handler `page\.ex\.get\.py`: cannot read"):
        ModuleLoader().load(str(page), describe)


def test_dataclass_with_postponed_annotations_loads_and_leaves_no_module(tmp_path: Path) -> None:
    page = tmp_path / "page.ex.get.py"
    write(
        page,
        """\
        from __future__ import annotations

        import sys
        from dataclasses import dataclass
        from typing import ClassVar

        @dataclass
        class Point:
            x: int
            y: int = 0
            registry: ClassVar[list[str]] = []

        REGISTERED = __name__ in sys.modules

        def main(response):
            return response
        """,
    )

    loaded = ModuleLoader().load(str(page), describe)

    point = loaded.module.Point(1)
    assert (point.x, point.y) == (1, 0)
    assert [field.name for field in dataclasses.fields(point)] == ["x", "y"]  # not the ClassVar
    assert loaded.module.REGISTERED
    assert loaded.module.__file__ == str(page)
    assert cylinder_modules(page) == []


def test_two_loaders_executing_one_file_together_leave_no_module(tmp_path: Path) -> None:
    # Two applications load the same file at the same moment; the first one finishes first.
    gate = types.ModuleType("cylinder_test_gate")
    barrier = threading.Barrier(2, timeout=TIMEOUT)
    first_done = threading.Event()
    gate.barrier = barrier  # type: ignore[attr-defined]
    gate.first_done = first_done  # type: ignore[attr-defined]
    page = tmp_path / "page.ex.get.py"
    write(
        page,
        """\
        import threading
        import cylinder_test_gate as gate

        gate.barrier.wait()  # both modules are registered in sys.modules now
        if threading.current_thread().name == "second":
            gate.first_done.wait(10)

        def main():
            pass
        """,
    )
    errors: list[BaseException] = []

    def load(name: str) -> None:
        try:
            ModuleLoader().load(str(page), describe)
        except BaseException as exc:
            errors.append(exc)
        finally:
            if name == "first":
                first_done.set()

    sys.modules["cylinder_test_gate"] = gate
    try:
        threads = [threading.Thread(target=load, args=(n,), name=n) for n in ("first", "second")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT)
    finally:
        del sys.modules["cylinder_test_gate"]

    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert cylinder_modules(page) == []


def test_failed_import_leaves_no_module(tmp_path: Path) -> None:
    page = tmp_path / "page.ex.get.py"
    write(page, "import sys\nassert __name__ in sys.modules\nraise RuntimeError('boom')\n")

    with pytest.raises(HandlerLoadError, match="line 3: RuntimeError: boom"):
        ModuleLoader().load(str(page), describe)

    assert cylinder_modules(page) == []


def load_together(loader: ModuleLoader, path: Path, threads: int) -> list[LoadedFile]:
    """Load ``path`` from ``threads`` threads released at the same instant."""
    barrier = threading.Barrier(threads, timeout=TIMEOUT)
    results: list[LoadedFile] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(loader.load(str(path), describe))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(TIMEOUT)
    assert not any(worker.is_alive() for worker in workers)
    assert errors == []
    return results


def test_threads_loading_at_once_see_only_finished_modules(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    page = tmp_path / "page.ex.get.py"
    slow = "import time\ntime.sleep(0.05)\n"
    loader = ModuleLoader()

    for version in (1, 2, 3):
        write(page, counted(runs, version, slow) + "READY = True\n")
        results = load_together(loader, page, 16)

        assert len(results) == 16
        assert all(result.module.READY for result in results)
        assert {result.module.VERSION for result in results} == {version}
        assert len({id(result.module) for result in results}) == 1

    assert runs_of(runs) == [1, 2, 3]


def test_threads_loading_while_a_writer_replaces_the_file(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    page = tmp_path / "page.ex.get.py"
    slow = "import time\ntime.sleep(0.01)\n"
    write_atomically(page, counted(runs, 0, slow) + "READY = True\n")
    loader = ModuleLoader()
    stop = threading.Event()
    seen: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            while not stop.is_set():
                module = loader.load(str(page), describe).module
                seen.append((module.VERSION, module.READY))
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(16)]
    for reader in readers:
        reader.start()
    try:
        for version in range(1, 21):
            write_atomically(page, counted(runs, version, slow) + "READY = True\n")
            time.sleep(0.02)
    finally:
        stop.set()
        for reader in readers:
            reader.join(TIMEOUT)

    assert not any(reader.is_alive() for reader in readers)
    assert errors == []
    assert all(ready for _, ready in seen)
    executed = runs_of(runs)
    assert len(executed) == len(set(executed)), "a version was executed more than once"
    assert loader.load(str(page), describe).module.VERSION == 20


def test_version_replaced_while_it_is_being_loaded_runs_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file is replaced between the loader's stat and its read: what it executed must be
    # remembered with the stat of what it read, or the same version is executed again.
    runs = tmp_path / "runs"
    page = tmp_path / "page.ex.get.py"
    write_atomically(page, counted(runs, 1))
    real_fingerprint = loader_module._fingerprint
    calls = 0

    def fingerprint_then_replace(path: str) -> Any:
        nonlocal calls
        calls += 1
        result = real_fingerprint(path)
        if calls == 2:  # the check made under the lock, just before the file is read
            write_atomically(page, counted(runs, 2, "# a longer version\n"))
        return result

    monkeypatch.setattr(loader_module, "_fingerprint", fingerprint_then_replace)
    loader = ModuleLoader()

    assert loader.load(str(page), describe).module.VERSION == 2
    assert loader.load(str(page), describe).module.VERSION == 2
    assert runs_of(runs) == [2]


def test_settling_an_old_version_never_replaces_a_newer_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One thread compares the bytes of version 1 (still unsettled) while another thread loads
    # version 2; the first must not put version 1 back as the current one.
    runs = tmp_path / "runs"
    page = tmp_path / "page.ex.get.py"
    write(page, counted(runs, 1))
    clock = use_clock(monkeypatch, page, now=0.001)
    loader = ModuleLoader(racy_window_ns=1_000_000_000)
    assert not loader.load(str(page), describe).settled
    clock.now = 1.5  # version 1 may settle now
    real_read = loader_module._read_file
    calls = 0

    def read_meanwhile_loading_version_2(base: str, path: str) -> Any:
        nonlocal calls
        calls += 1
        if calls > 1:
            return real_read(base, path)
        version_1 = real_read(base, path)
        write_atomically(page, counted(runs, 2, "# a longer version\n"))
        assert loader.load(str(page), describe).module.VERSION == 2  # "another thread"
        return version_1

    monkeypatch.setattr(loader_module, "_read_file", read_meanwhile_loading_version_2)

    assert loader.load(str(page), describe).module.VERSION == 1  # current when it looked
    assert loader.load(str(page), describe).module.VERSION == 2
    assert runs_of(runs) == [1, 2]


# --- with a folder watch (inotify): trusted without a stat while the folder is unchanged -----


@pytest.fixture
def watch() -> Any:
    if not sys.platform.startswith("linux"):
        pytest.skip("inotify is Linux's")
    made = FolderWatch()
    yield made
    made.close()


def stats_of(monkeypatch: pytest.MonkeyPatch, path: Path) -> list[str]:
    """The `os.stat` calls on ``path`` from now on (the list grows as they happen)."""
    calls: list[str] = []
    real = os.stat

    def counting(target: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if str(target) == str(path):
            calls.append(str(target))
        return real(target, *args, **kwargs)

    monkeypatch.setattr(os, "stat", counting)
    return calls


def test_watched_file_is_trusted_without_a_stat_until_its_folder_changes(
    tmp_path: Path, watch: FolderWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"
    site = tmp_path / "site"
    site.mkdir()
    page = site / "page.ex.get.py"
    write(page, counted(runs, 1))
    loader = ModuleLoader(watch=watch)
    assert loader.load(str(page), describe).module.VERSION == 1
    stats = stats_of(monkeypatch, page)

    watch.poll()
    assert loader.load(str(page), describe).module.VERSION == 1
    assert stats == []

    (site / "sibling.txt").write_text("a neighbour changed")  # the folder's stamp moves
    watch.poll()
    assert loader.load(str(page), describe).module.VERSION == 1  # checked by stat: the same
    assert len(stats) == 1
    watch.poll()
    assert loader.load(str(page), describe).module.VERSION == 1  # trusted again
    assert len(stats) == 1

    write(page, counted(runs, 2))
    watch.poll()
    assert loader.load(str(page), describe).module.VERSION == 2
    assert runs_of(runs) == [1, 2]


@pytest.mark.parametrize("link", ["symbolic", "hard"])
def test_file_changed_through_another_path_is_seen(
    tmp_path: Path, watch: FolderWatch, link: str
) -> None:
    # Written through a path in another folder, the event is raised there, not in the site.
    runs = tmp_path / "runs"
    site = tmp_path / "site"
    elsewhere = tmp_path / "elsewhere"
    site.mkdir()
    elsewhere.mkdir()
    target = elsewhere / "shared.py"
    write(target, counted(runs, 1))
    page = site / "page.ex.get.py"
    if link == "symbolic":
        page.symlink_to(target)
    else:
        os.link(target, page)
    loader = ModuleLoader(watch=watch)
    first = loader.load(str(page), describe, str(tmp_path))  # the link stays inside tmp_path
    assert first.module.VERSION == 1
    assert not first.watchable
    assert first.stamp is None

    with target.open("r+", encoding="utf-8") as file:  # in place: same inode, links intact
        file.seek(0)
        file.write(counted(runs, 2))
    watch.poll()
    assert loader.load(str(page), describe, str(tmp_path)).module.VERSION == 2


# --- a file being written (modified, not yet closed) is never loaded ---------------------------

#: A handler in two halves: the first alone answers without checking anything; the second adds
#: the access check. Run half-written, it would skip the check.
GUARDED_FIRST_HALF = """
VERSION = 2
CHECKED = False


def main(response):
    return response
"""
GUARDED_SECOND_HALF = """

CHECKED = True
"""


@pytest.mark.parametrize("how", ["truncate on open", "in place"])
def test_half_written_file_keeps_the_version_before_until_closed(
    tmp_path: Path, watch: FolderWatch, how: str
) -> None:
    runs = tmp_path / "runs"
    site = tmp_path / "site"
    site.mkdir()
    page = site / "page.ex.get.py"
    write(page, counted(runs, 1))
    loader = ModuleLoader(watch=watch)
    watch.poll()
    assert loader.load(str(page), describe).module.VERSION == 1

    with page.open("w" if how == "truncate on open" else "r+", encoding="utf-8") as writer:
        writer.write(GUARDED_FIRST_HALF)
        writer.flush()
        watch.poll()
        assert loader.load(str(page), describe).module.VERSION == 1
        watch.poll()
        assert loader.load(str(page), describe).module.VERSION == 1  # as long as it is open
        writer.write(GUARDED_SECOND_HALF)
        writer.truncate()  # (in place: what is left of the longer old version goes)
    watch.poll()
    module = loader.load(str(page), describe).module
    assert (module.VERSION, module.CHECKED) == (2, True)
    assert runs_of(runs) == [1]


def test_half_written_file_never_loaded_is_a_503_with_retry_after_and_a_log_line(
    tmp_path: Path, watch: FolderWatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    page = site / "page.ex.get.py"
    records: list[logging.LogRecord] = []
    log = logging.getLogger(f"test.loader.{id(records):x}")
    log.propagate = False
    log.addHandler(Collect(records))
    loader = ModuleLoader(watch=watch, log=log)
    watch.watch(str(site))  # the router lists (and so watches) the folder before anything loads

    with page.open("w", encoding="utf-8") as writer:
        writer.write(GUARDED_FIRST_HALF)
        writer.flush()
        watch.poll()
        started = time.monotonic()
        with pytest.raises(FileBeingWritten) as raised:
            loader.load(str(page), describe)
        assert time.monotonic() - started < 1.0  # at once, never a wait for the writer
        writer.write(GUARDED_SECOND_HALF)
    assert raised.value.code == 503
    assert raised.value.path == str(page)
    response = raised.value.get_response()
    assert response.headers["Retry-After"] == str(RETRY_AFTER)
    assert str(page) not in response.get_data(as_text=True)  # the client is not told the path
    assert [record.levelno for record in records] == [logging.WARNING]
    assert f"`{page}` is being written" in records[0].getMessage()

    watch.poll()
    module = loader.load(str(page), describe).module
    assert (module.VERSION, module.CHECKED) == (2, True)


class Collect(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__()
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_write_during_the_read_is_not_executed(
    tmp_path: Path, watch: FolderWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file was edited; then, between the request's poll and the loader's read, a writer
    # opens it and writes the first half of the next version: what was read is not executed,
    # the version before answers.
    runs = tmp_path / "runs"
    site = tmp_path / "site"
    site.mkdir()
    page = site / "page.ex.get.py"
    write(page, counted(runs, 1))
    loader = ModuleLoader(watch=watch)
    watch.poll()
    assert loader.load(str(page), describe).module.VERSION == 1
    real_read = loader_module._read_file
    writer = None

    def read_while_a_writer_starts(base: str, path: str) -> Any:
        nonlocal writer
        if writer is None:
            writer = page.open("w", encoding="utf-8")
            writer.write(GUARDED_FIRST_HALF)
            writer.flush()
        return real_read(base, path)

    monkeypatch.setattr(loader_module, "_read_file", read_while_a_writer_starts)
    try:
        write(page, counted(runs, 1, "# an edit, closed: read by the next load\n"))
        watch.poll()
        assert loader.load(str(page), describe).module.VERSION == 1
    finally:
        assert writer is not None
        writer.write(GUARDED_SECOND_HALF)
        writer.close()
    watch.poll()
    module = loader.load(str(page), describe).module
    assert (module.VERSION, module.CHECKED) == (2, True)
    assert runs_of(runs) == [1]


def test_write_finished_during_the_read_is_read_again(
    tmp_path: Path, watch: FolderWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first read sees half of the file; by the time it is checked the writer has closed
    # it: the loader reads again and executes the whole new version, once.
    site = tmp_path / "site"
    site.mkdir()
    page = site / "page.ex.get.py"
    page.write_text("VERSION = 1\ndef main(response):\n    return response\n")
    loader = ModuleLoader(watch=watch)
    watch.poll()
    assert loader.load(str(page), describe).module.VERSION == 1
    real_read = loader_module._read_file
    reads: list[bytes] = []

    def read_half_then_finish(base: str, path: str) -> Any:
        if not reads:
            with page.open("w", encoding="utf-8") as writer:
                writer.write(GUARDED_FIRST_HALF)
                writer.flush()
                half = real_read(base, path)
                writer.write(GUARDED_SECOND_HALF)
            reads.append(half[1])
            return half
        whole = real_read(base, path)
        reads.append(whole[1])
        return whole

    monkeypatch.setattr(loader_module, "_read_file", read_half_then_finish)
    page.write_text("VERSION = 1.5\ndef main(response):\n    return response\n")  # closed
    watch.poll()
    module = loader.load(str(page), describe).module
    assert (module.VERSION, module.CHECKED) == (2, True)
    whole = GUARDED_FIRST_HALF + GUARDED_SECOND_HALF
    assert reads == [GUARDED_FIRST_HALF.encode(), whole.encode()]


def test_file_that_keeps_changing_while_read_is_answered_as_being_written(
    tmp_path: Path, watch: FolderWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    page = site / "page.ex.get.py"
    page.write_text("def main(response):\n    return response\n")
    watch.watch(str(site))
    loader = ModuleLoader(watch=watch)
    real_read = loader_module._read_file
    reads = 0

    def read_and_touch(base: str, path: str) -> Any:
        nonlocal reads
        reads += 1
        result = real_read(base, path)
        page.write_text(f"def main(response):\n    return response\n# edit {reads}\n")
        return result

    monkeypatch.setattr(loader_module, "_read_file", read_and_touch)
    watch.poll()
    with pytest.raises(FileBeingWritten):
        loader.load(str(page), describe)
    assert reads == loader_module.READ_ATTEMPTS


def test_without_a_watch_what_is_on_disk_is_loaded(tmp_path: Path) -> None:
    # `stat` only (no watch, or a folder it cannot watch): the half on disk is what runs, as
    # docs/reload.md says; atomic renames are the way to save there.
    page = tmp_path / "page.ex.get.py"
    page.write_text("VERSION = 1\ndef main(response):\n    return response\n")
    loader = ModuleLoader()
    assert loader.load(str(page), describe).module.VERSION == 1
    with page.open("w", encoding="utf-8") as writer:
        writer.write(GUARDED_FIRST_HALF)
        writer.flush()
        module = loader.load(str(page), describe).module
        assert (module.VERSION, module.CHECKED) == (2, False)


def test_file_created_and_still_empty_is_being_written(tmp_path: Path, watch: FolderWatch) -> None:
    site = tmp_path / "site"
    site.mkdir()
    page = site / "page.ex.get.py"
    loader = ModuleLoader(watch=watch)
    watch.watch(str(site))
    with page.open("w", encoding="utf-8") as writer:
        watch.poll()
        with pytest.raises(FileBeingWritten):
            loader.load(str(page), describe)
        writer.write("VERSION = 1\ndef main(response):\n    return response\n")
    watch.poll()
    assert loader.load(str(page), describe).module.VERSION == 1


@pytest.mark.parametrize("link", ["symbolic", "hard"])
def test_file_linked_in_is_loaded_though_nobody_closes_it(
    tmp_path: Path, watch: FolderWatch, link: str
) -> None:
    # A link raises the same creation event as a file opened to be written, and no close
    # follows: it is loaded all the same, being complete.
    site = tmp_path / "site"
    site.mkdir()
    target = site / "shared.py"
    target.write_text("VERSION = 1\ndef main(response):\n    return response\n")
    watch.watch(str(site))
    page = site / "page.ex.get.py"
    if link == "symbolic":
        page.symlink_to(target)
    else:
        os.link(target, page)
    loader = ModuleLoader(watch=watch)
    watch.poll()
    assert loader.load(str(page), describe).module.VERSION == 1


# --- what was checked is what is read: opened once, below the folder of sites, never waiting ---


def make_special(path: Path, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Put a FIFO, a socket or a device node at ``path``."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        monkeypatch.chdir(path.parent)  # a socket's path is limited to about 100 bytes
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(path.name)
        listener.close()  # the socket file stays
    else:
        try:
            os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # what /dev/null is
        except PermissionError:
            pytest.skip("making a device node needs CAP_MKNOD")


def release(path: Path) -> None:
    """Let a reader blocked on the FIFO at ``path`` go (a failing test must not hang)."""
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


def load_within(loader: ModuleLoader, path: Path, base: Path) -> BaseException | LoadedFile:
    """Load ``path`` in a thread: what it returned or raised, which must come at once."""
    outcome: list[BaseException | LoadedFile] = []

    def run() -> None:
        try:
            outcome.append(loader.load(str(path), describe, str(base)))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    if thread.is_alive():
        release(path)
        thread.join(TIMEOUT)
        pytest.fail(f"loading {path} blocked")
    return outcome[0]


@pytest.mark.parametrize("kind", ["fifo", "socket", "device"])
def test_fifo_socket_or_device_at_a_handler_path_is_refused_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    page = tmp_path / "page.ex.get.py"
    make_special(page, kind, monkeypatch)
    started = time.monotonic()
    outcome = load_within(ModuleLoader(), page, tmp_path)
    assert time.monotonic() - started < 2.0
    assert isinstance(outcome, HandlerLoadError)
    assert str(page) in str(outcome)
    assert "not a regular file" in str(outcome)


@pytest.mark.parametrize("kind", ["fifo", "socket", "device"])
def test_loaded_file_replaced_by_a_fifo_socket_or_device_is_refused_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    runs = tmp_path / "runs"
    page = tmp_path / "page.ex.get.py"
    write(page, counted(runs, 1))
    loader = ModuleLoader()
    assert loader.load(str(page), describe, str(tmp_path)).module.VERSION == 1
    page.unlink()
    make_special(page, kind, monkeypatch)
    outcome = load_within(loader, page, tmp_path)
    assert isinstance(outcome, HandlerLoadError)
    assert "not a regular file" in str(outcome)


def test_symbolic_link_out_of_the_folder_of_sites_is_refused(tmp_path: Path) -> None:
    sites = tmp_path / "sites"
    sites.mkdir()
    runs = tmp_path / "runs"
    outside = tmp_path / "outside.py"
    write(outside, counted(runs, 1))
    page = sites / "page.ex.get.py"
    page.symlink_to(outside)
    with pytest.raises(HandlerLoadError, match="leads outside") as raised:
        ModuleLoader().load(str(page), describe, str(sites))
    assert str(page) in str(raised.value)
    assert runs_of(runs) == []


def test_symbolic_link_inside_the_folder_of_sites_is_followed(tmp_path: Path) -> None:
    sites = tmp_path / "sites"
    (sites / "webapp1" / "lib").mkdir(parents=True)
    runs = tmp_path / "runs"
    write(sites / "webapp1" / "lib" / "page.py", counted(runs, 1))
    page = sites / "webapp1.ex.get.py"
    page.symlink_to(Path("webapp1", "lib", "page.py"))
    assert ModuleLoader().load(str(page), describe, str(sites)).module.VERSION == 1


def test_file_swapped_for_a_link_after_its_check_is_never_read_through_the_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Checked by `stat` as a regular file inside the site, then swapped for a symbolic link to
    # a file outside before it is opened: what is opened is checked again, on the descriptor.
    sites = tmp_path / "sites"
    sites.mkdir()
    runs = tmp_path / "runs"
    secret = tmp_path / "secret.py"
    write(secret, counted(runs, 666))
    page = sites / "page.ex.get.py"
    write(page, counted(runs, 1))
    real_fingerprint = loader_module._fingerprint

    def fingerprint_then_swap(path: str) -> Any:
        result = real_fingerprint(path)
        swapped = page.with_name(".swap")
        swapped.symlink_to(secret)
        os.replace(swapped, page)
        return result

    monkeypatch.setattr(loader_module, "_fingerprint", fingerprint_then_swap)
    with pytest.raises(HandlerLoadError, match="leads outside"):
        ModuleLoader().load(str(page), describe, str(sites))
    assert runs_of(runs) == []
