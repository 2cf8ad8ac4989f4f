"""Spec: "Import caching and reload behavior"; DECISIONS.md "Reload".

Every test runs twice: with inotify events (the default on Linux) and with `stat` checks
(`CYLINDER_WATCH_FILES=0`), the way other systems and network filesystems work.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import socket
import stat
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from site_support import write_files
from werkzeug.test import Client

import cylinder


@pytest.fixture(autouse=True, params=["1", "0"], ids=["events", "stat"])
def freshness(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CYLINDER_WATCH_FILES", request.param)
    return str(request.param)


def inotify_descriptors() -> int:
    count = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{name}") == "anon_inode:inotify"
        except OSError:
            continue
    return count


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")
def test_watch_files_variable_chooses_events_or_stat(
    client_for: Callable[..., Client], answer: Callable[[str], str], freshness: str
) -> None:
    before = inotify_descriptors()
    client = client_for({"webapp1.ex.get.py": answer("root")})
    assert client.get("/").text == "root"
    assert inotify_descriptors() == before + (freshness == "1")


@pytest.mark.parametrize("value", ["maybe", "2", "disabled"])
def test_unknown_watch_files_value_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CYLINDER_WATCH_FILES", value)
    with pytest.raises(ValueError, match=f"`CYLINDER_WATCH_FILES` must be 0 or 1.*{value!r}"):
        cylinder.get_app(lambda: ("sites", "webapp1"), log_handler=logging.NullHandler())


COUNTING = """
import itertools
_runs = itertools.count(1)

def main(response):
    response.data = "{label} " + str(next(_runs))
    return response
"""


def test_unchanged_module_is_not_executed_again(client_for: Callable[..., Client]) -> None:
    client = client_for({"webapp1.ex.get.py": COUNTING.format(label="v1")})
    assert [client.get("/").text for _ in range(3)] == ["v1 1", "v1 2", "v1 3"]


def test_edit_is_seen_by_the_next_request(client_for: Callable[..., Client], sites: Path) -> None:
    client = client_for({"webapp1.ex.get.py": COUNTING.format(label="v1")})
    assert client.get("/").text == "v1 1"
    (sites / "webapp1.ex.get.py").write_text(COUNTING.format(label="v2"))
    assert client.get("/").text == "v2 1"
    assert client.get("/").text == "v2 2"


def test_same_size_edit_in_the_same_instant_is_seen(
    client_for: Callable[..., Client], sites: Path
) -> None:
    path = sites / "webapp1.ex.get.py"
    client = client_for({"webapp1.ex.get.py": COUNTING.format(label="v1")})
    assert client.get("/").text == "v1 1"
    stat = path.stat()
    path.write_text(COUNTING.format(label="v2"))  # same length as v1
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same mtime
    assert client.get("/").text == "v2 1"


def test_added_and_removed_handlers_are_seen(
    client_for: Callable[..., Client], sites: Path, answer: Callable[[str], str]
) -> None:
    client = client_for({"webapp1.ex.get.py": answer("root")})
    assert client.get("/new").text == "root"
    (sites / "webapp1").mkdir()
    (sites / "webapp1" / "new.ex.get.py").write_text(answer("new"))
    assert client.get("/new").text == "new"
    (sites / "webapp1" / "new.ex.get.py").unlink()
    assert client.get("/new").text == "root"


def test_hooks_and_error_handlers_reload_too(
    client_for: Callable[..., Client], sites: Path
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": "def main(abort):\n    abort(404)\n",
            "webapp1.404.py": "def main(response):\n    response.data = 'e1'\n    return response",
            "webapp1.lh.get.py": "def main(response):\n    response.headers['X'] = 'h1'\n"
            "    return response\n",
        }
    )
    first = client.get("/")
    assert (first.text, first.headers["X"]) == ("e1", "h1")
    (sites / "webapp1.404.py").write_text(
        "def main(response):\n    response.data = 'e2!'\n    return response\n"
    )
    (sites / "webapp1.lh.get.py").write_text(
        "def main(response):\n    response.headers['X'] = 'h2!'\n    return response\n"
    )
    second = client.get("/")
    assert (second.text, second.headers["X"]) == ("e2!", "h2!")


def test_static_file_changes_are_seen(client_for: Callable[..., Client], sites: Path) -> None:
    client = client_for({"webapp1/a.txt": "one"})
    assert client.get("/a.txt").data == b"one"
    (sites / "webapp1" / "a.txt").write_text("two!")
    assert client.get("/a.txt").data == b"two!"


SHOW_500 = """
def main(response, e):
    response.data = str(e.original_exception)
    return response
"""


def test_syntax_error_is_a_500_naming_file_and_line_and_the_site_keeps_serving(
    client_for: Callable[..., Client], answer: Callable[[str], str]
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": answer("fine"),
            "webapp1/broken.ex.get.py": "import os\n\ndef main(response:\n",
            "webapp1.500.py": SHOW_500,
        }
    )
    response = client.get("/broken")
    assert response.status_code == 500
    assert "broken.ex.get.py`, line 3: SyntaxError" in response.text
    assert client.get("/fine").text == "fine"


def test_import_error_is_a_500_naming_file_and_line(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": "import os\nimport no_such_module_here\n",
            "webapp1.500.py": SHOW_500,
        }
    )
    response = client.get("/")
    assert response.status_code == 500
    assert "webapp1.ex.get.py`, line 2: ModuleNotFoundError" in response.text


def test_missing_main_is_a_500_naming_the_file(client_for: Callable[..., Client]) -> None:
    client = client_for({"webapp1.ex.get.py": "main = 42\n", "webapp1.500.py": SHOW_500})
    response = client.get("/")
    assert response.status_code == 500
    assert "webapp1.ex.get.py`: its `main` is not callable" in response.text


def test_a_fixed_file_serves_again(
    client_for: Callable[..., Client], sites: Path, answer: Callable[[str], str]
) -> None:
    client = client_for({"webapp1.ex.get.py": "def main(:\n"})
    assert client.get("/").status_code == 500
    (sites / "webapp1.ex.get.py").write_text(answer("fixed"))
    assert client.get("/").text == "fixed"


# --- the folder of sites swapped for another: seen by the next request --------------------------


def switch(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` at once, as a deploy does: a new link renamed over it."""
    new = link.with_name(link.name + ".new")
    new.symlink_to(target)
    os.replace(new, link)


ANSWER = """
def main(response):
    response.data = "{text}"
    return response
"""


def releases(root: Path, *versions: str) -> Path:
    """``root/srv/releases/<n>/sites`` for each version ``n``, whose ``webapp1`` answers
    ``v<n>`` at ``/`` and at ``/deep/page``, and the link ``root/current`` to the first release;
    returns the folder of sites as ``app_map`` names it, through the link."""
    for version in versions:
        write_files(
            root / "srv" / "releases" / version / "sites",
            {
                "webapp1.ex.get.py": ANSWER.format(text=f"v{version}"),
                "webapp1/deep/page.ex.get.py": ANSWER.format(text=f"v{version} deep"),
            },
        )
    (root / "current").symlink_to(Path("srv", "releases", versions[0]))
    return root / "current" / "sites"


def swap_release(root: Path, swap: str, version: str) -> None:
    """Make ``root/current/sites`` lead to release ``version`` the way ``swap`` says."""
    srv = root / "srv"
    if swap == "link switched":
        switch(root / "current", Path("srv", "releases", version))
    elif swap == "ancestor renamed":  # and a new one of the same name made, holding `version`
        srv.rename(root / "srv-old")
        (srv / "releases").mkdir(parents=True)
        (root / "srv-old" / "releases" / version).rename(srv / "releases" / "1")
    else:
        assert swap == "ancestor replaced by another of the same name"
        (srv / "releases" / "1").rename(root / "old-1")
        (srv / "releases" / version).rename(srv / "releases" / "1")


class Calls:
    """Counts calls of ``os.<name>`` while installed (with ``path`` as first argument, only
    those about it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str, path: str | None = None):
        self.count = 0
        real = getattr(os, name)

        def counting(*args: Any, **kwargs: Any) -> Any:
            if path is None or str(args[0]) == path:
                self.count += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(os, name, counting)


SWAPS = ["link switched", "ancestor renamed", "ancestor replaced by another of the same name"]


@pytest.mark.parametrize("swap", SWAPS)
def test_a_folder_of_sites_swapped_for_another_is_seen_by_the_next_request(
    make_app: Callable[..., cylinder.Application],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    swap: str,
    freshness: str,
) -> None:
    site_dir = str(releases(tmp_path / "deploy", "1", "2"))
    client = make_app(app_map=lambda request: (site_dir, "webapp1")).test_client()
    assert (client.get("/").text, client.get("/deep/page").text) == ("v1", "v1 deep")
    with monkeypatch.context() as patching:
        stats = Calls(patching, "stat", site_dir)
        for _ in range(3):
            assert (client.get("/").text, client.get("/deep/page").text) == ("v1", "v1 deep")
    # with events, the folders on its way are watched: no request `stat`s it
    assert (stats.count == 0) == (freshness == "1")

    swap_release(tmp_path / "deploy", swap, "2")
    assert (client.get("/").text, client.get("/deep/page").text) == ("v2", "v2 deep")


@pytest.mark.skipif(not getattr(sys, "_is_gil_enabled", lambda: True)(), reason="no GIL")
@pytest.mark.usefixtures("events_only")
def test_a_settled_sites_request_keeps_the_gil_and_makes_no_stat(
    make_app: Callable[..., cylinder.Application],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A request that lets go of the GIL (a blocking system call: `stat`, an `ioctl` through
    # fcntl) hands it to a thread waiting for it, on a server a switch across cores. With the
    # switch interval out of reach, the waiting thread below runs only then.
    site_dir = str(releases(tmp_path / "deploy", "1"))
    app = make_app(
        app_map=lambda request: (site_dir, "webapp1"),
        log_level=logging.WARNING,
        log_handler=logging.NullHandler(),
    )
    app.wait_for_logs = False
    client = app.test_client()
    for _ in range(3):
        assert (client.get("/").text, client.get("/deep/page").text) == ("v1", "v1 deep")
    stats = Calls(monkeypatch, "stat")
    pids = Calls(monkeypatch, "getpid")
    reads = Calls(monkeypatch, "read")  # the events read, when a folder on the way saw some
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
        for number in range(300):
            read, turned = reads.count, turns[0]
            assert client.get("/deep/page" if number % 2 else "/").status_code == 200
            if reads.count == read:
                settled += 1
                assert turns[0] == turned, "a settled request let go of the GIL"
    finally:
        stop.set()
        sys.setswitchinterval(interval)
        thread.join(timeout=10)
    assert settled >= 150
    assert (stats.count, pids.count) == (0, 0)


SWAPPED_APP = """
import logging
import os

import cylinder

SITE_DIR = {site_dir!r}
ROOT_STATS = []  # `stat` calls of the folder of sites, in this process
_stat = os.stat


def counting_stat(path, *args, **kwargs):
    if str(path) == SITE_DIR:
        ROOT_STATS.append(1)
    return _stat(path, *args, **kwargs)


os.stat = counting_stat
app = cylinder.get_app(
    lambda request: (SITE_DIR, "webapp1", {{"root_stats": lambda: len(ROOT_STATS)}}),
    log_level=logging.WARNING,
)
"""

#: Answers its release, the process and how often that process `stat`ed the folder of sites.
REPORTING = """
import os


def main(response, root_stats):
    response.data = f"{version} {{os.getpid()}} {{root_stats()}}"
    return response
"""


@pytest.mark.parametrize("kind", ["waitress", "gunicorn"])
def test_a_folder_of_sites_swapped_on_a_real_server(
    tmp_path: Path, kind: str, freshness: str
) -> None:
    from server_support import serve

    deploy = tmp_path / "deploy"
    for version in ("1", "2", "3"):
        write_files(
            deploy / "srv" / "releases" / version / "sites",
            {"webapp1.ex.get.py": REPORTING.format(version=f"v{version}")},
        )
    (deploy / "current").symlink_to(Path("srv", "releases", "1"))
    site_dir = deploy / "current" / "sites"
    (tmp_path / "served_app.py").write_text(SWAPPED_APP.format(site_dir=str(site_dir)))
    workers = 2 if kind == "gunicorn" else 1

    with serve(kind, tmp_path, workers=workers) as server:

        def replies(count: int) -> list[tuple[str, int, int]]:
            """``count`` answers of ``/`` (release, process, stats), each on a new connection."""
            answered = []
            for _ in range(count):
                status, body = server.get("/")
                assert status == 200, body
                version, pid, stats = body.decode().split()
                answered.append((version, int(pid), int(stats)))
            return answered

        warm: dict[int, int] = {}
        for _ in range(200):  # until every worker has answered twice (watched, then settled)
            for _, pid, _ in replies(1):
                warm[pid] = warm.get(pid, -1) + 1
            if len(warm) == workers and min(warm.values()) >= 1:
                break
        first = {pid: stats for _, pid, stats in replies(workers * 8)}
        settled = replies(workers * 8)
        assert {version for version, _, _ in settled} == {"v1"}
        if freshness == "1":  # no `stat` of the folder of sites by a settled request
            assert all(stats == first.get(pid, stats) for _, pid, stats in settled)

        switch(deploy / "current", Path("srv", "releases", "2"))
        assert {version for version, _, _ in replies(workers * 4)} == {"v2"}

        (deploy / "srv").rename(deploy / "srv-old")
        (deploy / "srv" / "releases").mkdir(parents=True)
        (deploy / "srv-old" / "releases" / "3").rename(deploy / "srv" / "releases" / "2")
        assert {version for version, _, _ in replies(workers * 4)} == {"v3"}


# --- a handler being written (modified, not yet closed) is never run half-written ------------

#: Version A: answers only a request with the token.
GUARDED_A = """
def main(request, response, abort):
    if request.headers.get("X-Token") != "secret":
        abort(403)
    response.data = "A"
    return response
"""
#: Version B, first half: `check` lets everyone through until the second half redefines it.
GUARDED_B_FIRST_HALF = """
def main(request, response, abort):
    check(request, abort)
    response.data = "B"
    return response


def check(request, abort):
    return None  # redefined below
"""
GUARDED_B_SECOND_HALF = """

def check(request, abort):
    if request.headers.get("X-Token") != "secret":
        abort(403)
"""
TOKEN = {"X-Token": "secret"}


def answers(client: Client, path: str = "/") -> tuple[tuple[int, str], tuple[int, str]]:
    """What ``path`` answers without and with the token, each at once (under two seconds)."""
    replies = []
    for headers in ({}, TOKEN):
        started = time.monotonic()
        response = client.get(path, headers=headers)
        assert time.monotonic() - started < 2.0
        replies.append((response.status_code, response.text if response.status_code == 200 else ""))
    return replies[0], replies[1]


@pytest.fixture
def events_only(freshness: str) -> None:
    if freshness == "0" or not sys.platform.startswith("linux"):
        pytest.skip("a writer is seen in the middle of a file through inotify events only")


@pytest.mark.usefixtures("events_only")
def test_half_written_handler_keeps_answering_with_the_version_before_until_closed(
    client_for: Callable[..., Client], sites: Path
) -> None:
    client = client_for({"webapp1.ex.get.py": GUARDED_A})
    assert answers(client) == ((403, ""), (200, "A"))

    with (sites / "webapp1.ex.get.py").open("w") as writer:
        writer.write(GUARDED_B_FIRST_HALF)
        writer.flush()  # on disk, run alone it would skip the check
        assert answers(client) == ((403, ""), (200, "A"))
        assert answers(client) == ((403, ""), (200, "A"))
        writer.write(GUARDED_B_SECOND_HALF)
    assert answers(client) == ((403, ""), (200, "B"))


@pytest.mark.usefixtures("events_only")
def test_hooks_and_error_handlers_being_written_keep_the_version_before(
    client_for: Callable[..., Client], sites: Path
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": "def main(abort):\n    abort(404)\n",
            "webapp1.404.py": "def main(response):\n    response.data = 'e1'\n    return response",
            "webapp1.lh.get.py": "def main(response):\n    response.headers['X'] = 'h1'\n"
            "    return response\n",
        }
    )
    first = client.get("/")
    assert (first.status_code, first.text, first.headers["X"]) == (404, "e1", "h1")
    with (sites / "webapp1.404.py").open("w") as error_handler:
        error_handler.write("def main(response):\n    response.data = 'e2'\n")
        error_handler.flush()
        with (sites / "webapp1.lh.get.py").open("w") as late_hook:
            late_hook.write("def main(response):\n")
            late_hook.flush()
            second = client.get("/")
            assert (second.status_code, second.text, second.headers["X"]) == (404, "e1", "h1")
            late_hook.write("    response.headers['X'] = 'h2'\n    return response\n")
        error_handler.write("    return response\n")
    third = client.get("/")
    assert (third.status_code, third.text, third.headers["X"]) == (404, "e2", "h2")


@pytest.mark.usefixtures("events_only")
def test_half_written_handler_never_loaded_is_a_503_with_retry_after_then_the_whole_file(
    make_app: Callable[..., cylinder.Application],
    sites: Path,
    records: Any,
    answer: Callable[[str], str],
) -> None:
    client = make_app({"webapp1/other.ex.get.py": answer("other")}).test_client()
    assert client.get("/other").text == "other"  # its folder is listed, so watched
    new = sites / "webapp1" / "new.ex.get.py"

    with new.open("w") as writer:
        writer.write(GUARDED_B_FIRST_HALF)
        writer.flush()
        for headers in ({}, TOKEN):
            started = time.monotonic()
            response = client.get("/new", headers=headers)
            assert time.monotonic() - started < 2.0  # at once: never waits for the writer
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "1"
            assert str(new) not in response.text
        writer.write(GUARDED_B_SECOND_HALF)
    warnings = [r.getMessage() for r in records.records if r.levelno == logging.WARNING]
    assert (
        warnings
        == [
            f"`{new}` is being written (modified, not yet closed): "
            "answering 503 until its writer closes it"
        ]
        * 2
    )
    assert answers(client, "/new") == ((403, ""), (200, "B"))


@pytest.mark.usefixtures("events_only")
def test_handler_saved_by_rename_is_seen_by_the_next_request(
    client_for: Callable[..., Client], sites: Path
) -> None:
    client = client_for({"webapp1.ex.get.py": GUARDED_A})
    assert answers(client) == ((403, ""), (200, "A"))
    temporary = sites / ".webapp1.ex.get.py.tmp"
    with temporary.open("w") as writer:
        writer.write(GUARDED_B_FIRST_HALF + GUARDED_B_SECOND_HALF)
    os.replace(temporary, sites / "webapp1.ex.get.py")
    assert answers(client) == ((403, ""), (200, "B"))


def test_with_stat_only_what_is_on_disk_is_loaded(
    client_for: Callable[..., Client], sites: Path, freshness: str
) -> None:
    # What docs/reload.md says of `stat` checks (no inotify, network filesystems): the half on
    # disk runs; save by renaming a whole new file over the old one.
    if freshness == "1":
        pytest.skip("with events a file being written is not loaded")
    client = client_for({"webapp1.ex.get.py": GUARDED_A})
    assert answers(client) == ((403, ""), (200, "A"))
    with (sites / "webapp1.ex.get.py").open("w") as writer:
        writer.write(GUARDED_B_FIRST_HALF)
        writer.flush()
        assert answers(client) == ((200, "B"), (200, "B"))


def by_process(source: str) -> str:
    """``source`` answering its text followed by the id of the process that ran it."""
    return "import os\n" + source.replace('response.data = "', 'response.data = f"{os.getpid()} ')


@pytest.mark.usefixtures("events_only")
@pytest.mark.parametrize("kind", ["waitress", "gunicorn"])
def test_half_written_handler_on_a_real_server(tmp_path: Path, kind: str) -> None:
    from test_reliability_servers import publish, request, serve, write_site

    with serve(kind, write_site(tmp_path / "site")) as server:
        page = server.webapp / "guarded.ex.get.py"
        publish(page, by_process(GUARDED_A))
        # Every process loads version A (so it watches the folder) before the writer starts: a
        # process knows nothing of a save begun before it watched (docs/reload.md).
        workers = server.worker_pids()
        loaded: set[int] = set()
        for _ in range(100):
            # A connection held open without a request keeps one sync worker waiting on it, so
            # the request in between goes to another: both workers answer, however the machine
            # schedules them (left to chance, one busy worker could take every connection).
            held = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            held.connect()
            try:
                reply = request(server, "GET", "/guarded", TOKEN)
                assert reply.status == 200
                loaded.add(int(reply.body.split()[0]))
                held.request("GET", "/guarded", headers=TOKEN)
                answer = held.getresponse()
                assert answer.status == 200
                loaded.add(int(answer.read().split()[0]))
            finally:
                held.close()
            if loaded == workers:
                break
        assert loaded == workers

        def answers() -> set[tuple[int, bytes]]:
            """What 16 pairs of requests (without and with the token) answered."""
            seen = set()
            for _ in range(16):
                for headers in ({}, TOKEN):
                    reply = request(server, "GET", "/guarded", headers)
                    assert reply.ended - reply.started < 2.0
                    body = reply.body.split()[-1] if reply.status == 200 else b""
                    seen.add((reply.status, body))
            return seen

        assert answers() == {(403, b""), (200, b"A")}
        with page.open("w") as writer:
            writer.write(by_process(GUARDED_B_FIRST_HALF))
            writer.flush()
            assert answers() == {(403, b""), (200, b"A")}
            writer.write(GUARDED_B_SECOND_HALF)
        assert answers() == {(403, b""), (200, b"B")}

        new = server.webapp / "fresh.ex.get.py"
        with new.open("w") as writer:
            writer.write(GUARDED_B_FIRST_HALF)
            writer.flush()
            for _ in range(8):
                reply = request(server, "GET", "/fresh")
                assert (reply.status, reply.headers["Retry-After"]) == (503, "1")
            writer.write(GUARDED_B_SECOND_HALF)
        for _ in range(8):
            reply = request(server, "GET", "/fresh", TOKEN)
            assert (reply.status, reply.body) == (200, b"B")
        server.wait_for_log(f"`{new}` is being written")


# --- a FIFO, socket or device where a handler was: a 500 at once, never a hang ----------------


@pytest.mark.parametrize("kind", ["fifo", "socket", "device"])
def test_handler_target_replaced_by_a_fifo_socket_or_device_answers_500_at_once(
    make_app: Callable[..., cylinder.Application],
    sites: Path,
    records: Any,
    answer: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    # The root handler is a link to a file inside the folder of sites; that file becomes a
    # FIFO (socket, device) while the folder holding the link stays settled and unchanged, so
    # the route stands and the loader meets the FIFO.
    lib = sites / "webapp1" / "lib"
    lib.mkdir(parents=True)
    target = lib / "page.py"
    target.write_text(answer("linked"))
    handler = sites / "webapp1.ex.get.py"
    handler.symlink_to(Path("webapp1", "lib", "page.py"))
    long_ago = time.time_ns() - 60 * 10**9
    os.utime(sites, ns=(long_ago, long_ago))  # settled: its listing is trusted, as in production
    client = make_app().test_client()
    assert client.get("/").text == "linked"

    target.unlink()
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "socket":
        monkeypatch.chdir(lib)  # a socket's path is limited to about 100 bytes
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(target.name)
        listener.close()
    else:
        try:
            os.mknod(target, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("making a device node needs CAP_MKNOD")

    outcome: list[Any] = []
    thread = threading.Thread(target=lambda: outcome.append(client.get("/")), daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(10.0)
    if thread.is_alive():  # let a reader blocked on the FIFO go before failing
        with contextlib.suppress(OSError):
            os.close(os.open(target, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(10.0)
        pytest.fail("the request blocked on the FIFO")
    assert time.monotonic() - started < 2.0
    assert outcome[0].status_code == 500
    [failure] = [record for record in records.records if record.exc_info]
    message = str(failure.exc_info[1])
    assert str(handler) in message
    assert "not a regular file" in message


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("how", ["renamed", "link switched", "removed"])
def test_a_site_folder_swapped_for_another_serves_the_new_folder_at_once(
    client_for: Callable[..., Client], sites: Path, how: str
) -> None:
    """A deploy that swaps the whole site folder (a rename, or a `webapp1 -> release` link
    switched atomically) is seen by the next static request: no descriptor of the folder
    before outlives the swap."""
    client = client_for({"webapp1/css/a.css": "old"})
    site = sites / "webapp1"
    if how == "link switched":
        site.rename(sites / "release1")
        site.symlink_to("release1")
    for _ in range(3):
        assert client.get("/css/a.css").data == b"old"
    (sites / "release2" / "css").mkdir(parents=True)
    (sites / "release2" / "css" / "a.css").write_text("new")
    if how == "renamed":
        site.rename(sites / "previous")
        (sites / "release2").rename(site)
    elif how == "link switched":
        (sites / "next").symlink_to("release2")
        (sites / "next").replace(site)
    else:
        site.rename(sites / "previous")
    expected = (404, b"") if how == "removed" else (200, b"new")
    reply = client.get("/css/a.css")
    assert (reply.status_code, reply.data if reply.status_code == 200 else b"") == expected
    if how != "removed":
        assert client.get("/css/a.css").data == b"new"


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc/self/fd")
def test_static_requests_keep_no_descriptor_open_beyond_the_site_folders(
    client_for: Callable[..., Client], sites: Path
) -> None:
    """The site folder's descriptor is kept while nothing changes and let go of when it is
    opened again: many requests, each after a change in the folder, leave no descriptor."""
    client = client_for({"webapp1/a.txt": "one"})
    assert client.get("/a.txt").data == b"one"
    before = open_descriptors()
    for index in range(60):
        (sites / "webapp1" / f"new{index}.txt").write_text("x")
        reply = client.get("/a.txt")
        assert reply.data == b"one"
        reply.close()
    assert open_descriptors() <= before + 1
