"""Spec: "Import caching and reload behavior"; DECISIONS.md "Reload".

Every test runs twice: with inotify events (the default on Linux) and with `stat` checks
(`CYLINDER_WATCH_FILES=0`), the way other systems and network filesystems work.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
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
