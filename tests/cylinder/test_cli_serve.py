"""`cylinder serve`, run as a subprocess on a free port, asked over HTTP, then stopped.

Every server is started with `--port 0`, waited for a bounded time, and killed in a `finally`
if it did not stop by itself.
"""

from __future__ import annotations

import http.client
import importlib.util
import signal
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import pytest
from cli_support import cylinder, serving, stop

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="stops servers with POSIX signals")


SITE = {
    "webapp1.ex.get.py": (
        "def main(request, response):\n"
        "    response.data = f'Hello from {request.path}'\n"
        "    return response\n"
    ),
    "webapp1/hello.txt": "static hello\n",
}


def write(root: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """The folder of a small site, `my_webapps/webapp1`."""
    return write(tmp_path / "my_webapps", SITE) / "webapp1"


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def test_serve_site_folder_answers_and_stops_on_sigint(site: Path, tmp_path: Path) -> None:
    log = tmp_path / "stderr.txt"
    with serving(site, log=log) as (process, url):
        assert get(url + "/some/page") == (200, b"Hello from /some/page")
        assert get(url + "/hello.txt") == (200, b"static hello\n")

        assert stop(process, signal.SIGINT) == 0
        assert process.stdout is not None
        assert process.stdout.read() == ""
    assert "GET /some/page 200" in log.read_text()  # the app's logs were flushed on close


def test_serve_prints_the_target_and_the_real_port(site: Path, tmp_path: Path) -> None:
    with serving(site, log=tmp_path / "stderr.txt") as (process, url):
        port = int(url.rsplit(":", 1)[1])
        assert port != 0
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass
        assert stop(process, signal.SIGINT) == 0


def test_serve_stops_on_sigterm(site: Path, tmp_path: Path) -> None:
    with serving(site, log=tmp_path / "stderr.txt") as (process, url):
        assert get(url)[0] == 200

        assert stop(process, signal.SIGTERM) == 0


def test_serve_module_factory(tmp_path: Path, site: Path) -> None:
    write(
        tmp_path,
        {
            "myapp.py": (
                "import cylinder\n"
                f"SITE_DIR = {str(site.parent)!r}\n"
                "def app_map(request):\n"
                "    return SITE_DIR, 'webapp1', {}\n"
                "def create_app():\n"
                "    return cylinder.get_app(app_map)\n"
            )
        },
    )
    with serving("myapp:create_app", cwd=tmp_path, log=tmp_path / "stderr.txt") as (process, url):
        assert get(url + "/x") == (200, b"Hello from /x")
        assert stop(process, signal.SIGINT) == 0


def test_serve_module_application_object(tmp_path: Path, site: Path) -> None:
    write(
        tmp_path,
        {
            "project/__init__.py": "",
            "project/web.py": (
                "import cylinder\n"
                f"app = cylinder.get_app(lambda: ({str(site.parent)!r}, 'webapp1'))\n"
            ),
        },
    )
    with serving("project.web:app", cwd=tmp_path, log=tmp_path / "stderr.txt") as (process, url):
        assert get(url + "/y") == (200, b"Hello from /y")
        assert stop(process, signal.SIGINT) == 0


def test_serve_missing_site_is_a_usage_error(tmp_path: Path) -> None:
    result = cylinder("serve", tmp_path / "nowhere" / "webapp1", "--port", "0")

    assert result.returncode == 2
    assert result.stdout == ""
    assert f"no site at `{tmp_path / 'nowhere' / 'webapp1'}`" in result.stderr


def test_serve_site_of_root_files_only(tmp_path: Path) -> None:
    write(tmp_path, {"solo.ex.get.py": SITE["webapp1.ex.get.py"]})

    with serving("solo", cwd=tmp_path, log=tmp_path / "stderr.txt") as (process, url):
        assert get(url + "/z") == (200, b"Hello from /z")
        assert stop(process, signal.SIGINT) == 0


def test_serve_unknown_module_is_a_usage_error(tmp_path: Path) -> None:
    result = cylinder("serve", "nonexistent:app", "--port", "0", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr == (
        "cylinder serve: error: TARGET `nonexistent:app`: no module `nonexistent` "
        f"in `{tmp_path}` or on `sys.path`\n"
    )


def test_serve_missing_attribute_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path, {"myapp.py": "VALUE = 1\n"})

    result = cylinder("serve", "myapp:app", cwd=tmp_path)

    assert result.returncode == 2
    assert "TARGET `myapp:app`: `myapp` has no attribute `app`" in result.stderr


def test_serve_target_that_is_not_an_application_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path, {"myapp.py": "VALUE = 1\n"})

    result = cylinder("serve", "myapp:VALUE", cwd=tmp_path)

    assert result.returncode == 2
    assert "TARGET `myapp:VALUE` is int, not an application" in result.stderr


def test_serve_module_that_fails_to_import_is_a_failure(tmp_path: Path) -> None:
    write(tmp_path, {"myapp.py": "import missing_dependency\n"})

    result = cylinder("serve", "myapp:app", cwd=tmp_path)

    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "TARGET `myapp:app`: importing `myapp` failed" in result.stderr


def test_serve_port_in_use_is_a_failure(site: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = cylinder("serve", site, "--port", str(port))

    assert result.returncode == 1
    assert f"cylinder serve: error: cannot listen on `127.0.0.1` port {port}" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "argument --port: `70000` is not a port: expected 0 to 65535"),
        (["--port", "http"], "argument --port: `http` is not a port"),
        (["--threads", "0"], "argument --threads: `0` is not a thread count"),
        (["--server", "uwsgi"], "argument --server: invalid choice: 'uwsgi'"),
    ],
)
def test_serve_bad_options_are_usage_errors(site: Path, args: list[str], message: str) -> None:
    result = cylinder("serve", site, *args)

    assert result.returncode == 2
    assert message in result.stderr


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


#: Every server `--server` offers, each skipped when not installed in this environment.
SERVERS = [
    pytest.param(name, marks=pytest.mark.skipif(not _installed(name), reason=f"no {name}"))
    for name in ("waitress", "gunicorn", "granian")
]


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_serve_with_each_server(server: str, signum: int, site: Path, tmp_path: Path) -> None:
    log = tmp_path / "stderr.txt"
    with serving(site, "--server", server, log=log) as (process, url):
        host, port = url.removeprefix("http://").rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            # two requests on one keep-alive connection, a handler then a static file
            connection.request("GET", "/some/page")
            answer = connection.getresponse()
            assert (answer.status, answer.read()) == (200, b"Hello from /some/page")
            assert server in (answer.getheader("Server") or "").lower()  # the one chosen
            connection.request("GET", "/hello.txt")
            answer = connection.getresponse()
            assert (answer.status, answer.read()) == (200, b"static hello\n")
        finally:
            connection.close()

        assert stop(process, signum) == 0
        assert process.stdout is not None
        assert process.stdout.read() == ""  # the server's own logs go to stderr
    assert "GET /some/page 200" in log.read_text()  # the app's records were written


@pytest.mark.parametrize("server", ["gunicorn", "granian"])
def test_serve_with_a_server_not_installed_names_the_extra(server: str, tmp_path: Path) -> None:
    site = write(tmp_path / "my_webapps", SITE) / "webapp1"
    # `python -m` puts the working folder first on `sys.path`: this module hides the real one.
    (tmp_path / f"{server}.py").write_text(f"raise ImportError('no {server} here')\n")

    result = cylinder("serve", site, "--server", server, "--port", "0", cwd=tmp_path)

    assert result.returncode == 1
    assert (
        f"cylinder serve: error: `--server {server}` needs {server}, which is not installed: "
        f"`pip install cylinder[{server}]`"
    ) in result.stderr


@pytest.mark.parametrize("server", [p for p in SERVERS if p.values[0] != "waitress"])
def test_serve_with_a_server_on_a_port_in_use_is_a_failure(server: str, site: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = cylinder("serve", site, "--server", server, "--port", str(port))

    assert result.returncode == 1
    assert f"cylinder serve: error: cannot listen on `127.0.0.1` port {port}" in result.stderr
