"""open_beneath: what was checked is what is read, never outside the folder, never blocking."""

from __future__ import annotations

import errno
import os
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cylinder_router import (
    LeavesBaseError,
    MissingFileError,
    NotRegularFileError,
    OpenBeneathError,
    RefusedFileError,
    RouterError,
    open_beneath,
    opening,
)
from cylinder_router.opening import MAX_LINKS, _open_by_name

#: Longest any single call may take before the test calls it hung.
BOUND = 5.0


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """``tmp_path/site`` with a file, a nested file, and a secret beside the site."""
    site = tmp_path / "site"
    (site / "css").mkdir(parents=True)
    (site / "hello.txt").write_bytes(b"hello")
    (site / "css" / "style.css").write_bytes(b"body{}")
    (tmp_path / "secret.txt").write_bytes(b"SECRET")
    return site


def read(base: Path | str, relative: str, **kwargs: object) -> bytes:
    """Open through `open_beneath`, read everything, close."""
    fd, st = open_beneath(str(base), relative, **kwargs)  # type: ignore[arg-type]
    try:
        assert stat.S_ISREG(st.st_mode)
        assert os.fstat(fd).st_ino == st.st_ino
        return os.read(fd, 1 << 16)
    finally:
        os.close(fd)


def bounded(call: Callable[[], object], unblock: Path | None = None) -> object:
    """Run ``call`` in a thread; fail if it takes longer than :data:`BOUND` seconds. A FIFO
    named by ``unblock`` is opened for writing afterwards, so a hung reader always ends."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # handed to the test below
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(BOUND)
    hung = thread.is_alive()
    if hung and unblock is not None:
        os.close(os.open(unblock, os.O_RDWR | os.O_NONBLOCK))
        thread.join(BOUND)
    assert not hung, f"the call blocked for more than {BOUND} s"
    assert time.monotonic() - started < BOUND
    return outcome[0]


@contextmanager
def no_fd_leak() -> Iterator[None]:
    before = set(os.listdir("/proc/self/fd"))
    yield
    assert set(os.listdir("/proc/self/fd")) <= before


def test_a_file_and_a_nested_file_open_for_reading(base: Path) -> None:
    with no_fd_leak():
        assert read(base, "hello.txt") == b"hello"
        assert read(base, "css/style.css") == b"body{}"
        assert read(base, "css//./style.css") == b"body{}"


def test_the_descriptor_is_non_blocking_close_on_exec_and_read_only(base: Path) -> None:
    fd, _ = open_beneath(str(base), "hello.txt")
    try:
        assert not os.get_inheritable(fd)
        assert not os.get_blocking(fd)
        with pytest.raises(OSError, match="Bad file descriptor"):
            os.write(fd, b"x")
    finally:
        os.close(fd)


def test_symlinks_that_stay_inside_work(base: Path) -> None:
    (base / "link.txt").symlink_to("hello.txt")
    (base / "styles").symlink_to("css")
    (base / "css" / "up.txt").symlink_to("../hello.txt")
    (base / "chain.txt").symlink_to("link.txt")
    (base / "absolute.txt").symlink_to(base / "css" / "style.css")
    with no_fd_leak():
        assert read(base, "link.txt") == b"hello"
        assert read(base, "styles/style.css") == b"body{}"
        assert read(base, "css/up.txt") == b"hello"
        assert read(base, "styles/up.txt") == b"hello"
        assert read(base, "chain.txt") == b"hello"
        assert read(base, "absolute.txt") == b"body{}"
        assert read(base, "css/../hello.txt") == b"hello"


def test_a_base_reached_through_a_link_keeps_absolute_links_inside_working(
    tmp_path: Path, base: Path
) -> None:
    current = tmp_path / "current"
    current.symlink_to(base)
    (base / "by-real.txt").symlink_to(base / "hello.txt")
    (base / "by-link.txt").symlink_to(current / "hello.txt")
    assert read(current, "by-real.txt") == b"hello"
    assert read(current, "by-link.txt") == b"hello"
    # Only `base` itself, as given or resolved, is compared, never another alias of it.
    with pytest.raises(LeavesBaseError):
        read(base, "by-link.txt")


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("out.txt", "../secret.txt"),
        ("abs-out.txt", "{tmp}/secret.txt"),
        ("etc", "/etc/passwd"),
        ("css/deep.txt", "../../secret.txt"),
        ("back-in.txt", "../site/hello.txt"),  # leaves, even to come back
        ("outdir", ".."),
    ],
)
def test_a_link_leading_outside_is_refused_naming_the_path(
    tmp_path: Path, base: Path, name: str, target: str
) -> None:
    (base / name).symlink_to(target.format(tmp=tmp_path))
    relative = name if name != "outdir" else "outdir/secret.txt"
    with no_fd_leak(), pytest.raises(LeavesBaseError, match="leads outside") as info:
        read(base, relative)
    assert info.value.errno == errno.EXDEV
    assert info.value.filename == os.path.join(base, relative)
    assert f"`{relative}`" in str(info.value)
    assert f"`{base}`" in str(info.value)


def test_a_folder_link_leading_outside_is_refused(tmp_path: Path, base: Path) -> None:
    (base / "shared").symlink_to(tmp_path)
    with pytest.raises(LeavesBaseError):
        read(base, "shared/secret.txt")


def test_dotdot_climbing_above_base_is_refused(base: Path) -> None:
    with pytest.raises(LeavesBaseError):
        read(base, "../secret.txt")
    with pytest.raises(LeavesBaseError):
        read(base, "css/../../secret.txt")


def test_missing_files_raise_a_file_not_found_error_naming_the_path(base: Path) -> None:
    for relative in ("nope.txt", "nope/x.txt", "hello.txt/x", "dangling.txt"):
        if relative == "dangling.txt":
            (base / relative).symlink_to("gone.txt")
        with no_fd_leak(), pytest.raises(MissingFileError, match="no such file") as info:
            read(base, relative)
        assert isinstance(info.value, FileNotFoundError)
        assert isinstance(info.value, RouterError)
        assert info.value.errno == errno.ENOENT
        assert f"`{relative}`" in str(info.value)


def test_a_missing_base_is_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match="gone"):
        read(tmp_path / "gone", "x.txt")


def test_a_fifo_is_refused_at_once(base: Path) -> None:
    fifo = base / "pipe.txt"
    os.mkfifo(fifo)
    (base / "to-pipe.txt").symlink_to("pipe.txt")
    for relative in ("pipe.txt", "to-pipe.txt"):
        with no_fd_leak():
            outcome = bounded(lambda r=relative: read(base, r), unblock=fifo)  # type: ignore[misc]
        assert isinstance(outcome, NotRegularFileError)
        assert "is a FIFO, not a regular file" in str(outcome)
        assert f"`{relative}`" in str(outcome)


def test_a_fifo_where_a_folder_is_needed_is_refused_at_once(base: Path) -> None:
    os.mkfifo(base / "pipe")
    outcome = bounded(lambda: read(base, "pipe/x.txt"), unblock=base / "pipe")
    assert isinstance(outcome, MissingFileError)


def test_a_socket_file_is_refused(base: Path) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(base / "sock.txt"))
        outcome = bounded(lambda: read(base, "sock.txt"))
    assert isinstance(outcome, NotRegularFileError)
    assert "not a regular file" in str(outcome)


def test_a_device_node_is_refused(base: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    os.mknod(base / "null.txt", 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null
    outcome = bounded(lambda: read(base, "null.txt"))
    assert isinstance(outcome, NotRegularFileError)
    assert "is a device, not a regular file" in str(outcome)


def test_a_folder_is_refused(base: Path) -> None:
    for relative in ("css", "css/..", "", "."):
        with no_fd_leak(), pytest.raises(NotRegularFileError, match="folder") as info:
            read(base, relative)
        assert info.value.errno == errno.EISDIR


def test_a_link_loop_gives_up(base: Path) -> None:
    (base / "a.txt").symlink_to("b.txt")
    (base / "b.txt").symlink_to("a.txt")
    with no_fd_leak(), pytest.raises(OpenBeneathError, match="too many symbolic links") as info:
        read(base, "a.txt")
    assert info.value.errno == errno.ELOOP
    assert MAX_LINKS == 40


def test_the_refusal_rule_sees_the_names_the_file_was_reached_by(base: Path) -> None:
    (base / "app.ex.get.py").write_bytes(b"SOURCE")
    (base / "notes.txt").symlink_to("app.ex.get.py")
    (base / "styles").symlink_to("css")
    seen: list[tuple[str, ...]] = []

    def no_python(names: tuple[str, ...]) -> str | None:
        seen.append(names)
        return "Python files are never served" if names[-1].endswith(".py") else None

    assert read(base, "styles/style.css", refusal=no_python) == b"body{}"
    # Without a link the names are those asked for, judged by the caller already.
    assert read(base, "css/style.css", refusal=no_python) == b"body{}"
    with no_fd_leak(), pytest.raises(RefusedFileError) as info:
        read(base, "notes.txt", refusal=no_python)
    assert seen == [("css", "style.css"), ("app.ex.get.py",)]
    assert str(info.value) == (
        f"cannot open `notes.txt` in `{base}`: it leads to `app.ex.get.py`: "
        "Python files are never served"
    )


def test_bad_relative_paths_are_refused_naming_the_parameter(base: Path) -> None:
    with pytest.raises(ValueError, match="`relative` '/etc/passwd' must be a path relative"):
        open_beneath(str(base), "/etc/passwd")
    with pytest.raises(ValueError, match="must not hold a NUL"):
        open_beneath(str(base), "hello.txt\x00")


def test_swapping_the_file_never_reads_outside_and_never_blocks(tmp_path: Path, base: Path) -> None:
    """A writer swaps `race.txt` between a hard link to an inside file, a link to an outside
    secret and a FIFO while a reader opens it again and again."""
    (base / "inside.txt").write_bytes(b"inside")
    os.link(base / "inside.txt", base / "race.txt")  # there before the first reader comes
    stop = time.monotonic() + 1.5
    spare = base / "spare"

    def writer() -> None:
        kinds = ("hard", "out", "fifo")
        n = 0
        while time.monotonic() < stop:
            if spare.exists() or spare.is_symlink():
                spare.unlink()
            kind = kinds[n % len(kinds)]
            if kind == "hard":
                os.link(base / "inside.txt", spare)
            elif kind == "out":
                spare.symlink_to(tmp_path / "secret.txt")
            else:
                os.mkfifo(spare)
            os.replace(spare, base / "race.txt")
            n += 1
        os.replace(base / "inside.txt", base / "race.txt")

    outcomes: dict[str, int] = {}

    def reader() -> None:
        while time.monotonic() < stop:
            try:
                data = read(base, "race.txt")
            except (LeavesBaseError, NotRegularFileError, MissingFileError) as exc:
                key = type(exc).__name__
            else:
                assert data == b"inside", data
                key = "inside"
            outcomes[key] = outcomes.get(key, 0) + 1

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    with no_fd_leak():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(BOUND)
            assert not thread.is_alive(), "a thread hung"
    # How often each state was met depends on the scheduler; which states may be met does not.
    assert set(outcomes) <= {"inside", "LeavesBaseError", "NotRegularFileError"}
    assert read(base, "race.txt") == b"inside"


def test_without_dir_fd_the_file_opened_is_the_one_checked(tmp_path: Path, base: Path) -> None:
    """The fallback for systems whose ``os.open`` takes no ``dir_fd``."""
    (base / "link.txt").symlink_to("css/style.css")
    (base / "out.txt").symlink_to(tmp_path / "secret.txt")
    os.mkfifo(base / "pipe.txt")
    fd, st = _open_by_name(str(base), "link.txt", None)
    try:
        assert os.read(fd, 100) == b"body{}"
        assert stat.S_ISREG(st.st_mode)
    finally:
        os.close(fd)
    with pytest.raises(LeavesBaseError):
        _open_by_name(str(base), "out.txt", None)
    with pytest.raises(MissingFileError):
        _open_by_name(str(base), "nope.txt", None)
    outcome = bounded(lambda: _open_by_name(str(base), "pipe.txt", None), base / "pipe.txt")
    assert isinstance(outcome, NotRegularFileError)
    with pytest.raises(RefusedFileError, match=r"leads to `css/style\.css`: no"):
        _open_by_name(str(base), "link.txt", lambda names: "no")


@pytest.mark.skipif(opening._OPENAT2 is None, reason="this system has no openat2")
def test_the_one_call_fast_path_refuses_links_and_climbs(tmp_path: Path, base: Path) -> None:
    """openat2 takes only the usual case; a link or a climb fails it, and the walk decides."""
    openat2 = opening._OPENAT2
    assert openat2 is not None
    (base / "link.txt").symlink_to("hello.txt")
    (base / "out.txt").symlink_to(tmp_path / "secret.txt")
    folder = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fd = openat2(folder, b"css/style.css")
        assert fd >= 0
        assert os.read(fd, 100) == b"body{}"
        os.close(fd)
        assert openat2(folder, b"link.txt") == -1
        assert openat2(folder, b"out.txt") == -1
        assert openat2(folder, b"../secret.txt") == -1
    finally:
        os.close(folder)
    assert read(base, "link.txt") == b"hello"  # the walk still follows a link inside
    with pytest.raises(LeavesBaseError):
        read(base, "out.txt")
