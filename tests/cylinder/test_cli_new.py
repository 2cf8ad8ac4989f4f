"""`cylinder new`, run as a subprocess: the project it writes checks clean and serves at once."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path

import pytest
from cli_support import cylinder, stop
from cli_support import serving as serve

#: The layout the docs use: `my_webapps/webapp1`, named by `app_map` in `cylinder_main.py`.
STARTER_FILES = [
    "cylinder_main.py",
    "my_webapps/webapp1.404.py",
    "my_webapps/webapp1.eh.get.py",
    "my_webapps/webapp1.ex.get.py",
    "my_webapps/webapp1/style.css",
]


@contextmanager
def serving(*args: str | Path, cwd: Path | None = None, log: Path) -> Iterator[str]:
    """Run `cylinder serve ARGS --port 0`, yield its URL, stop it with SIGINT (exit 0)."""
    with serve(*args, cwd=cwd, log=log) as (process, url):
        yield url
        assert stop(process, signal.SIGINT) == 0


def get(url: str) -> tuple[int, Message, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read().decode()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project made by `cylinder new`."""
    folder = tmp_path / "myproject"
    result = cylinder("new", folder)
    assert result.returncode == 0, result.stderr
    return folder


def test_new_writes_the_starter_files_and_says_how_to_run_them(tmp_path: Path) -> None:
    result = cylinder("new", "myproject", cwd=tmp_path)

    assert result.returncode == 0
    assert result.stderr == ""
    written = sorted(
        path.relative_to(tmp_path / "myproject").as_posix()
        for path in (tmp_path / "myproject").rglob("*")
        if path.is_file()
    )
    assert written == STARTER_FILES
    assert result.stdout.splitlines()[: len(STARTER_FILES) + 1] == [
        "created `myproject`:",
        *(f"  myproject/{name}" for name in STARTER_FILES),
    ]
    assert "cylinder serve myproject/my_webapps/webapp1" in result.stdout
    assert "python myproject/cylinder_main.py" in result.stdout


def test_new_project_checks_clean(project: Path) -> None:
    result = cylinder("check", project / "my_webapps" / "webapp1")

    assert result.returncode == 0
    assert result.stdout == (
        f"no problems in `{project / 'my_webapps' / 'webapp1'}`: "
        "3 route files and 1 static file checked\n"
    )


def test_new_project_checks_clean_through_its_application(project: Path) -> None:
    result = cylinder("check", "cylinder_main:create_app", cwd=project)

    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "`app_map` of `cylinder_main:create_app` names site `webapp1` in "
        f"`{project / 'my_webapps'}` for `http://localhost/`, with no extras",
        "no problems in `cylinder_main:create_app`: 3 route files and 1 static file checked",
    ]


def test_new_project_module_given_as_a_site_names_its_factory(project: Path) -> None:
    result = cylinder("serve", "cylinder_main", cwd=project)

    assert result.returncode == 2
    assert result.stderr == (
        "cylinder serve: error: `cylinder_main` is a Python module, not a site folder: "
        "did you mean `cylinder_main:create_app` or `cylinder_main:app_map`?\n"
    )


def test_new_project_routes(project: Path) -> None:
    result = cylinder("routes", project / "my_webapps" / "webapp1")

    assert result.returncode == 0
    cells = [line.split() for line in result.stdout.splitlines() if line.startswith("/")]
    assert cells == [
        ["/", "GET", "webapp1.ex.get.py", "webapp1.eh.get.py", "-", "404", "webapp1.404.py"],
        ["/style.css", "webapp1/style.css", "webapp1.eh.get.py", "-", "404", "webapp1.404.py"],
    ]


def test_new_project_serves_its_site_folder(project: Path, tmp_path: Path) -> None:
    with serving(project / "my_webapps" / "webapp1", log=tmp_path / "stderr.txt") as url:
        status, headers, body = get(url + "/")
        assert status == 200
        assert "<h1>Hello from Cylinder!</h1>" in body
        assert headers["X-Content-Type-Options"] == "nosniff"

        status, headers, body = get(url + "/style.css")
        assert status == 200
        assert headers["Content-Type"] == "text/css; charset=utf-8"

        status, headers, body = get(url + "/no/such/page")
        assert status == 404
        assert "Nothing answers <code>/no/such/page</code> (404)" in body
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_new_project_serves_through_its_main_module(project: Path, tmp_path: Path) -> None:
    with serving("cylinder_main:create_app", cwd=project, log=tmp_path / "stderr.txt") as url:
        status, _, body = get(url + "/")
        assert status == 200
        assert "Hello from Cylinder!" in body


def test_new_main_module_finds_its_sites_from_anywhere(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(project)!r})\n"
        "import cylinder_main\n"
        "site_dir, site_name, extras = cylinder_main.app_map(None)\n"
        "print(site_dir, site_name, extras)\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{project / 'my_webapps'} webapp1 {{}}\n"


def test_new_into_an_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()

    result = cylinder("new", tmp_path / "empty")

    assert result.returncode == 0
    assert (tmp_path / "empty" / "cylinder_main.py").is_file()


def test_new_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")

    result = cylinder("new", tmp_path / "busy")

    assert result.returncode == 2
    assert result.stderr == (
        f"cylinder new: error: `{tmp_path / 'busy'}` is not empty: give a new or empty folder\n"
    )
    assert sorted(path.name for path in (tmp_path / "busy").iterdir()) == ["notes.txt"]


def test_new_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("mine")

    result = cylinder("new", tmp_path / "taken")

    assert result.returncode == 2
    assert f"`{tmp_path / 'taken'}` is a file" in result.stderr
