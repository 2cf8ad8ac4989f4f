"""Debug mode from the outside: `get_app(debug=...)`, `CYLINDER_DEBUG`, the examples, and
`cylinder serve --debug` with its refusal to face a public address, over real sockets."""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import cylinder, serving, stop
from records_support import Records
from server_support import free_port
from site_support import write_files

import cylinder as cylinder_package
from cylinder.cli.serve import is_loopback, refuse_public_debug
from cylinder_runtime.debugpage import WARNING_TEXT

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

BOOM = {
    "webapp1.ex.get.py": (
        "def main(response):\n    response.set_data('home')\n    return response\n"
    ),
    "webapp1/boom.ex.get.py": "def main(response):\n    return {}['no such key']\n",
}

#: What `cylinder serve --debug --host H` says for a host H that is not a loopback address.
REFUSAL = (
    "cylinder serve: error: `--host {host}` is not a loopback address, and debug mode ({why}) "
    "shows tracebacks and source code to anyone who can connect: serve on 127.0.0.1, or add "
    "`--debug-public` if you accept that\n"
)

#: An address from TEST-NET-1 (RFC 5737): never this machine's, so it cannot be listened on,
#: which shows that the debug check let it through without binding anything public.
NOT_OURS = "192.0.2.1"


@pytest.fixture
def apps() -> Iterator[list[cylinder_package.Application]]:
    made: list[cylinder_package.Application] = []
    yield made
    for app in made:
        app.close()


def build(
    sites: Path, apps: list[cylinder_package.Application], debug: bool | None = None
) -> cylinder_package.Application:
    write_files(sites, BOOM)

    def app_map() -> tuple[str, str]:
        return str(sites), "webapp1"

    app = cylinder_package.get_app(app_map, log_handler=Records(), debug=debug)
    app.wait_for_logs = True
    apps.append(app)
    return app


# -- get_app and CYLINDER_DEBUG ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "on"),
    [(None, False), ("", False), ("0", False), ("1", True), (" 1 ", True), ("off", False)],
)
def test_cylinder_debug_variable_turns_debug_on_or_off(
    sites: Path,
    apps: list[cylinder_package.Application],
    monkeypatch: pytest.MonkeyPatch,
    value: str | None,
    on: bool,
) -> None:
    if value is None:
        monkeypatch.delenv("CYLINDER_DEBUG", raising=False)
    else:
        monkeypatch.setenv("CYLINDER_DEBUG", value)
    app = build(sites, apps)
    assert app.debug is on
    body = app.test_client().get("/boom").get_data(as_text=True)
    assert ("KeyError" in body) is on
    assert ("boom.ex.get.py" in body) is on


@pytest.mark.parametrize("value", ["2", "debug", "enabled"])
def test_unknown_cylinder_debug_value_is_refused_naming_the_variable(
    sites: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CYLINDER_DEBUG", value)
    with pytest.raises(ValueError, match=f"^`CYLINDER_DEBUG` must be 0 or 1 .*got {value!r}$"):
        cylinder_package.get_app(lambda: (str(sites), "webapp1"))


@pytest.mark.parametrize(("variable", "argument"), [("1", False), ("0", True)])
def test_an_explicit_debug_argument_wins_over_the_variable(
    sites: Path,
    apps: list[cylinder_package.Application],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    argument: bool,
) -> None:
    monkeypatch.setenv("CYLINDER_DEBUG", variable)
    assert build(sites, apps, debug=argument).debug is argument


def test_get_app_logs_the_warning_in_debug_mode(
    sites: Path, apps: list[cylinder_package.Application]
) -> None:
    write_files(sites, BOOM)
    records = Records()
    app = cylinder_package.get_app(lambda: (str(sites), "webapp1"), log_handler=records, debug=True)
    apps.append(app)
    assert app.drain_logs()
    assert [(r.levelno, r.getMessage()) for r in records.records] == [
        (logging.WARNING, WARNING_TEXT)
    ]


def test_examples_turn_debug_on_from_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every example builds its application with `get_app` and no `debug=`, so that
    `CYLINDER_DEBUG=1` reaches it; one is built here to show it."""
    for main in sorted(EXAMPLES.glob("*/cylinder_main.py")):
        source = main.read_text(encoding="utf-8")
        assert "get_app(" in source, main
        assert "debug=" not in source, main
    monkeypatch.setenv("CYLINDER_DEBUG", "1")
    monkeypatch.syspath_prepend(str(EXAMPLES / "abort_extra"))
    spec = importlib.util.spec_from_file_location(
        "examples_abort_extra_debug", EXAMPLES / "abort_extra" / "cylinder_main.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    app = module.create_app(log_handler=Records())
    try:
        assert app.debug
    finally:
        app.close()


def test_hello_world_program_warns_under_cylinder_debug(tmp_path: Path) -> None:
    """`CYLINDER_DEBUG=1 python examples/hello_world/cylinder_main.py` starts in debug mode."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), "CYLINDER_DEBUG": "1", "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [sys.executable, str(EXAMPLES / "hello_world" / "cylinder_main.py")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as server:
        try:
            deadline = time.monotonic() + 20
            while True:
                assert server.poll() is None, "the example exited"
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as reply:
                        assert reply.read() == b"Hello, world!"
                        break
                except (urllib.error.URLError, ConnectionError):
                    assert time.monotonic() < deadline, "the example did not start"
                    time.sleep(0.1)
        finally:
            # Ctrl-C: a normal exit, which writes out the log queue. A SIGTERM kills Python on
            # the spot, with the warning maybe still queued (docs/logging.md).
            server.send_signal(signal.SIGINT)
            try:
                output, _ = server.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                output, _ = server.communicate(timeout=10)
    assert WARNING_TEXT in output


# -- cylinder serve --debug -------------------------------------------------------------------


def get(url: str, accept: str | None) -> tuple[int, str, str]:
    """Status, content type and body of a GET."""
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.headers["Content-Type"], reply.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["Content-Type"], error.read().decode()


def test_serve_debug_shows_the_page_over_a_real_socket(sites: Path, tmp_path: Path) -> None:
    write_files(sites, BOOM)
    log = tmp_path / "stderr.txt"
    with serving(sites / "webapp1", "--debug", log=log) as (process, url):
        status, content_type, body = get(url + "/boom", "text/html,*/*;q=0.8")
        assert status == 500
        assert content_type == "text/html; charset=utf-8"
        assert '<mark class="spot">webapp1/boom.ex.get.py</mark>' in body
        assert "return {}[&#39;no such key&#39;]" in body
        status, content_type, body = get(url + "/boom", None)
        assert status == 500
        assert content_type == "text/plain; charset=utf-8"
        assert "error:   handler `webapp1/boom.ex.get.py` raised `KeyError` at line 2" in body
        assert get(url + "/", None)[::2] == (200, "home")
        assert stop(process, signal.SIGINT) == 0
    assert WARNING_TEXT in log.read_text()


def test_serve_without_debug_shows_nothing(sites: Path, tmp_path: Path) -> None:
    write_files(sites, BOOM)
    with serving(sites / "webapp1", log=tmp_path / "stderr.txt") as (process, url):
        status, _, body = get(url + "/boom", "text/html")
        assert status == 500
        assert "KeyError" not in body
        assert "boom.ex.get.py" not in body
        assert stop(process, signal.SIGINT) == 0
    assert WARNING_TEXT not in (tmp_path / "stderr.txt").read_text()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", NOT_OURS])
def test_serve_debug_refuses_a_public_host(sites: Path, host: str) -> None:
    """Refused before TARGET is even read: the site named does not exist, so that a missing
    check could never get as far as listening on a public address."""
    result = cylinder("serve", sites / "missing", "--debug", "--host", host, "--port", "0")
    assert result.returncode == 2
    assert result.stderr == REFUSAL.format(host=host, why="`--debug`")
    assert result.stdout == ""


def test_serve_debug_refuses_a_public_host_for_a_real_site(sites: Path) -> None:
    write_files(sites, BOOM)
    result = cylinder("serve", sites / "webapp1", "--debug", "--host", NOT_OURS, "--port", "0")
    assert result.returncode == 2
    assert result.stderr == REFUSAL.format(host=NOT_OURS, why="`--debug`")


def test_serve_refuses_a_public_host_when_the_variable_turns_debug_on(
    sites: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_files(sites, BOOM)
    monkeypatch.setenv("CYLINDER_DEBUG", "1")
    result = cylinder("serve", sites / "webapp1", "--host", NOT_OURS, "--port", "0")
    assert result.returncode == 2
    assert result.stderr.endswith(REFUSAL.format(host=NOT_OURS, why="`CYLINDER_DEBUG=1`"))


def test_serve_debug_public_lets_a_public_host_through(sites: Path) -> None:
    """With `--debug-public` the check passes; listening then fails only because the address
    is not this machine's (exit 1, not the refusal's 2)."""
    write_files(sites, BOOM)
    result = cylinder(
        "serve", sites / "webapp1", "--debug", "--debug-public", "--host", NOT_OURS, "--port", "0"
    )
    assert result.returncode == 1
    assert f"cylinder serve: error: cannot listen on `{NOT_OURS}` port 0" in result.stderr
    assert "not a loopback address" not in result.stderr


def test_serve_debug_public_on_loopback_serves(sites: Path, tmp_path: Path) -> None:
    write_files(sites, BOOM)
    log = tmp_path / "stderr.txt"
    args = ("--debug", "--debug-public", "--host", "127.0.0.1")
    with serving(sites / "webapp1", *args, log=log) as (process, url):
        assert get(url + "/boom", None)[0] == 500
        assert stop(process, signal.SIGTERM) == 0


def test_serve_debug_public_alone_is_a_usage_error(sites: Path) -> None:
    write_files(sites, BOOM)
    result = cylinder("serve", sites / "webapp1", "--debug-public")
    assert result.returncode == 2
    assert result.stderr == "cylinder serve: error: `--debug-public` only goes with `--debug`\n"


def test_serve_debug_refuses_an_application_built_without_debug(tmp_path: Path) -> None:
    write_files(tmp_path / "my_webapps", BOOM)
    (tmp_path / "myapp.py").write_text(
        "import cylinder\napp = cylinder.get_app(lambda: ('my_webapps', 'webapp1'), debug=False)\n"
    )
    result = cylinder("serve", "myapp:app", "--debug", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.endswith(
        "cylinder serve: error: TARGET `myapp:app` builds its application with `debug=False`, "
        "which `--debug` cannot change: call `get_app` without `debug` (it then reads "
        "`CYLINDER_DEBUG`) or with `debug=True`\n"
    )


def test_serve_debug_reaches_an_application_built_by_a_module(
    tmp_path: Path,
) -> None:
    write_files(tmp_path / "my_webapps", BOOM)
    (tmp_path / "myapp.py").write_text(
        "import cylinder\n"
        "def create_app():\n"
        "    return cylinder.get_app(lambda: ('my_webapps', 'webapp1'))\n"
    )
    log = tmp_path / "stderr.txt"
    with serving("myapp:create_app", "--debug", cwd=tmp_path, log=log) as (process, url):
        status, _, body = get(url + "/boom", None)
        assert status == 500
        assert "file at fault: webapp1/boom.ex.get.py, line 2" in body
        assert stop(process, signal.SIGINT) == 0


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        (NOT_OURS, False),
        ("", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_refusal_checks_nothing_when_public_is_accepted() -> None:
    refuse_public_debug("0.0.0.0", True, "`--debug`")  # no error
    refuse_public_debug("127.0.0.1", False, "`--debug`")  # no error
