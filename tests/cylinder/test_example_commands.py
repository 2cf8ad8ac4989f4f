"""Every example's documented commands, run as written, in a fresh virtual environment.

A reader copies the commands from an example's README into a shell, in the repository's root
folder, after the install command of the top README. So does this test: the repository's
``packages/`` and ``examples/`` are copied into a temporary "clone"; one virtual environment per
session is made there with the README's own install command; then each ```bash block of each
example's README is run line by line from the clone's root, with that environment first on
``PATH`` (as ``. .venv/bin/activate`` would put it):

- a line that starts a server (``python examples/<name>/cylinder_main.py``, ``gunicorn``) runs
  in the background until the next server line or the end of its block. It gets a free port:
  ``PORT`` is set, and ``:8000`` in the block's lines becomes that port (the READMEs say ``PORT``
  picks the port); nothing else of a line is changed;
- every other line must exit with status 0 within its time limit, and the lines in ``EXPECTED``
  must print what their comment in the README promises.

examples/router_only runs in an environment of its own, where its README installs
cylinder-router alone, and the test checks that Werkzeug is absent there.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from server_support import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

#: What a line must print: example -> line as written (comment removed) -> texts in its output.
EXPECTED: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "hello_world": {
        "curl http://127.0.0.1:8000/": ("Hello, world!",),
        "curl http://127.0.0.1:8000/any/path": ("Hello, world!",),
        "curl -i -X POST http://127.0.0.1:8000/": ("HTTP/1.1 405 ", "Allow: GET, HEAD, OPTIONS"),
        "cd examples/hello_world && python -m pytest": ("3 passed",),
    },
    "site": {
        "curl 'http://127.0.0.1:8000/hello?name=Ada'": ("<h1>Hello, Ada!</h1>",),
        "curl -i http://127.0.0.1:8000/api/v1/users": (
            "HTTP/1.1 200 ",
            "X-Content-Type-Options: nosniff",
        ),
        'curl -i http://127.0.0.1:8000/api/v1/users --json \'{"name": "Grace"}\'': (
            "HTTP/1.1 201 ",
            "Location: /api/v1/users/2",
        ),
        "curl -i http://127.0.0.1:8000/api/v1/users/9": ("HTTP/1.1 404 ", '"error": "not_found"'),
        "curl -i -X DELETE http://127.0.0.1:8000/api/v1/users": (
            "HTTP/1.1 405 ",
            "Allow: GET, HEAD, OPTIONS, POST",
        ),
        "cylinder routes examples/site/my_webapps/webapp1": ("/api/v1/users", "POST"),
        "cylinder explain examples/site/my_webapps/webapp1 GET /api/v1/users/1": (
            "webapp1/api/v1/users.ex.get.py",
        ),
    },
    "router_only": {
        "python examples/router_only/list_routes.py examples/site/my_webapps webapp1": (
            "/api/v1/users   handler       post     webapp1/api/v1/users.ex.post.py",
            "/style.css      static file   get      webapp1/style.css",
        ),
        "python examples/router_only/list_routes.py examples/site/my_webapps webapp1"
        " GET /api/v1/users/7": (
            "GET /api/v1/users/7: handler\n",
            "  answered by  webapp1/api/v1/users.ex.get.py\n",
            "  rest of path 7\n",
        ),
        "python examples/router_only/list_routes.py examples/site/my_webapps webapp1"
        " DELETE /hello": (
            "DELETE /hello: method not allowed\n",
            "  allowed      GET, HEAD, OPTIONS",
        ),
    },
    "pages_and_methods": {
        "curl -d name=Ada http://127.0.0.1:8000/contact": ("Thank you, Ada!",),
        "curl -X PUT -d hello http://127.0.0.1:8000/echo": ("PUT /echo with 5 bytes",),
        "curl -X PURGE http://127.0.0.1:8000/cache": ("purged",),
        "curl -i -X DELETE http://127.0.0.1:8000/contact": (
            "HTTP/1.1 405 ",
            "Allow: GET, HEAD, OPTIONS, POST",
        ),
    },
    "hooks": {
        "curl -i -H 'Origin: http://localhost:3000' http://127.0.0.1:8000/api/time": (
            "HTTP/1.1 200 ",
            "Access-Control-Allow-Origin: http://localhost:3000",
        ),
        "curl -i -X OPTIONS -H 'Origin: http://localhost:3000' \\\n"
        "     -H 'Access-Control-Request-Method: GET' http://127.0.0.1:8000/api/time": (
            "HTTP/1.1 204 ",
            "Access-Control-Allow-Methods: GET",
        ),
    },
    "error_handlers": {
        "curl -i http://127.0.0.1:8000/nowhere": ("HTTP/1.1 404 ", "text/html"),
        "curl -i http://127.0.0.1:8000/api/orders/x": ("HTTP/1.1 400 ", '"error": "bad_request"'),
        "curl -i http://127.0.0.1:8000/api/orders/9": ("HTTP/1.1 404 ", '"error": "not_found"'),
        "curl -i http://127.0.0.1:8000/api/boom": ("HTTP/1.1 500 ", '"error": "internal"'),
    },
    "rest_api": {
        "curl -i http://127.0.0.1:8000/api/v1/users --json"
        ' \'{"name": "Ada", "lname": "Lovelace"}\'': ("HTTP/1.1 201 ",),
        "curl http://127.0.0.1:8000/api/v1/users?lname=Lovelace": ('"name": "Ada"',),
        'curl -X PUT http://127.0.0.1:8000/api/v1/users/1 --json \'{"name": "Augusta Ada"}\'': (
            '"name": "Augusta Ada"',
        ),
        "curl -i -X DELETE http://127.0.0.1:8000/api/v1/users/1": ("HTTP/1.1 204 ",),
    },
    "jinja2_templates": {
        "curl 'http://127.0.0.1:8000/?name=Ada'": ("<h1>Hello, Ada!</h1>",),
        "curl http://127.0.0.1:8000/books": ("The Mythical Man-Month",),
    },
    "sqlalchemy_sqlite": {
        'curl -i http://127.0.0.1:8000/notes --json \'{"text": "buy milk"}\'': (
            "HTTP/1.1 201 ",
            "Location: /notes/1",
        ),
        "curl http://127.0.0.1:8000/notes": ('[{"id": 1, "text": "buy milk"}]',),
    },
    "streaming": {
        "curl -N 'http://127.0.0.1:8000/countdown?from=5'": ("5\n4\n3\n2\n1\n0\nliftoff\n",),
        "curl -T big.bin -H 'Transfer-Encoding: chunked' http://127.0.0.1:8000/upload": (
            "50000000 bytes, sha256 ",
        ),
    },
    "abort_extra": {
        "curl -i -X PUT --data-binary 12345678 http://127.0.0.1:8000/files/a": ("HTTP/1.1 201 ",),
        "curl -i -X PUT --data-binary 12345 http://127.0.0.1:8000/files/b": (
            "HTTP/1.1 507 ",
            "text/html",
        ),
        "curl -i -X PUT --data-binary 12345 http://127.0.0.1:8000/api/files/b": (
            "HTTP/1.1 507 ",
            "application/json",
        ),
    },
    "virtual_hosts": {
        "curl -H 'Host: blog.localhost' http://127.0.0.1:8000/about": ("blog",),
        "curl -H 'Host: shop.localhost' http://127.0.0.1:8000/cart": ("Your cart",),
        "curl -i -H 'Host: shop.localhost' http://127.0.0.1:8000/about": ("HTTP/1.1 404 ",),
    },
}

#: Steps a README gives in words rather than as a command line, done before its commands.
PROSE_STEPS: Mapping[str, tuple[str, ...]] = {
    # "gunicorn is not among this repository's dependencies: install it where you deploy."
    "deployment": ("python -m pip install gunicorn",),
}

#: Examples whose README installs what they need into an environment of their own.
OWN_ENVIRONMENT = {"router_only"}

COMMAND_SECONDS = 240  # a pip install from the package index's mirror included
SERVER_START_SECONDS = 60

_FENCE = re.compile(r"^```(\S*)\n(.*?)^```\s*$", re.DOTALL | re.MULTILINE)
_ENV_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=\S*\s+")
_SERVER = re.compile(r"(python3? examples/[^ ]+/cylinder_main\.py$|.*\bgunicorn\b)")


@dataclass(frozen=True)
class Line:
    """One command of a README, as written, and the comment after it."""

    command: str
    comment: str

    @property
    def starts_a_server(self) -> bool:
        rest = self.command.split("&&")[-1].strip()
        while match := _ENV_ASSIGNMENT.match(rest):
            rest = rest[match.end() :]
        return _SERVER.match(rest) is not None


def _split_comment(line: str) -> tuple[str, str]:
    """``line`` without its trailing ``# comment`` (outside quotes), and the comment."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), line[i + 1 :].strip()
    return line.rstrip(), ""


def bash_blocks(readme: Path) -> list[list[Line]]:
    """The ```bash blocks of a README, each as its command lines (continuations joined)."""
    blocks = []
    for fence in _FENCE.finditer(readme.read_text(encoding="utf-8")):
        if fence.group(1) not in {"bash", "sh", "shell", "console"}:
            continue
        lines: list[Line] = []
        pending = ""
        for raw in fence.group(2).splitlines():
            if raw.rstrip().endswith("\\"):
                pending += raw.rstrip() + "\n"
                continue
            command, comment = _split_comment(pending + raw)
            pending = ""
            if command:
                lines.append(Line(command, comment))
        blocks.append(lines)
    return blocks


def documented_examples() -> list[str]:
    return sorted(
        readme.parent.name for readme in EXAMPLES.glob("*/README.md") if bash_blocks(readme)
    )


def _copy_clone(target: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv*", "*.sqlite", "build", "dist")
    for folder in ("packages", "examples"):
        shutil.copytree(ROOT / folder, target / folder, ignore=ignore)
    for file in ROOT.iterdir():
        if file.is_file() and not file.name.startswith("."):  # README.md, pytest.ini, ...
            shutil.copy2(file, target / file.name)
    return target


class Shell:
    """Runs README lines in a clone, in a virtual environment, as a reader's shell would."""

    def __init__(self, clone: Path, venv: Path, scratch: Path) -> None:
        self.clone = clone
        self.venv = venv
        scratch.mkdir(parents=True, exist_ok=True)
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PYTHON", "CYLINDER_")) and key not in {"VIRTUAL_ENV", "PORT"}
        }
        env.update(
            VIRTUAL_ENV=str(venv),
            PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            PIP_DISABLE_PIP_VERSION_CHECK="1",
            TMPDIR=str(scratch),  # examples keep their databases in the temporary folder
        )
        self.env = env

    def run(self, command: str, port: int | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(self.env, PORT=str(port)) if port is not None else self.env
        return subprocess.run(
            ["bash", "-c", command],
            cwd=self.clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_SECONDS,
            check=False,
        )

    def start(self, command: str, port: int, log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as output:
            return subprocess.Popen(
                ["bash", "-c", command],
                cwd=self.clone,
                env=dict(self.env, PORT=str(port)),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: gunicorn's workers end with it
            )


def _new_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    return path


def _readme_install_command() -> str:
    """The install half of the README's first command (``... && python3 examples/site/...``)."""
    for line in bash_blocks(ROOT / "README.md")[0]:
        install, _, serve = line.command.partition(" && ")
        if "pip install" in install:
            assert serve == "python3 examples/site/cylinder_main.py", line.command
            return install
    pytest.fail("README.md: no install command in its first bash block")


@pytest.fixture(scope="session")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy_clone(tmp_path_factory.mktemp("clone"))


@pytest.fixture(scope="session")
def shell(clone: Path, tmp_path_factory: pytest.TempPathFactory) -> Shell:
    """The README's environment: a fresh venv, filled by the README's install command."""
    venv = _new_venv(tmp_path_factory.mktemp("venv") / "venv")
    shell = Shell(clone, venv, tmp_path_factory.mktemp("scratch"))
    installed = shell.run(_readme_install_command())
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return shell


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=15)


def _wait_until_listening(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited with {server.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    waited = f"the server did not listen on {port} in {SERVER_START_SECONDS} s"
    pytest.fail(f"{waited}:\n{log.read_text()}")


def run_readme(shell: Shell, example: str, logs: Path) -> list[str]:
    """Run every bash block of ``examples/<example>/README.md``; the lines run, in order."""
    expected = dict(EXPECTED.get(example, {}))
    ran = []
    for step in PROSE_STEPS.get(example, ()):
        done = shell.run(step)
        assert done.returncode == 0, f"{example}: {step}\n{done.stdout}{done.stderr}"
    for number, block in enumerate(bash_blocks(EXAMPLES / example / "README.md")):
        port = free_port()
        server: subprocess.Popen[bytes] | None = None
        try:
            for line in block:
                command = line.command.replace(":8000", f":{port}")
                command = command.replace("0.0.0.0:", "127.0.0.1:")  # never listen outside
                if line.starts_a_server:
                    if server is not None:
                        _stop(server)  # a reader stops one server before starting the next
                    log = logs / f"{example}-{number}-{len(ran)}.log"
                    server = shell.start(command, port, log)
                    _wait_until_listening(server, port, log)
                else:
                    done = shell.run(command, port)
                    shown = f"{example}: `{line.command}` ->\n{done.stdout}{done.stderr}"
                    assert done.returncode == 0, shown
                    for text in expected.pop(line.command, ()):
                        assert text in done.stdout, f"{shown}\n(wanted {text!r})"
                ran.append(line.command)
        finally:
            if server is not None:
                _stop(server)
    assert not expected, f"{example}: EXPECTED names lines its README no longer has: {expected}"
    return ran


@pytest.mark.parametrize(
    "example", [name for name in documented_examples() if name not in OWN_ENVIRONMENT]
)
def test_example_readme_commands_work_as_written(
    shell: Shell, example: str, tmp_path: Path
) -> None:
    ran = run_readme(shell, example, tmp_path)
    assert ran


def test_router_only_runs_with_cylinder_router_alone(
    clone: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """Its README installs cylinder-router by itself; Werkzeug and the runtime stay out."""
    venv = _new_venv(tmp_path_factory.mktemp("router-venv") / "venv")
    shell = Shell(clone, venv, tmp_path / "scratch")
    ran = run_readme(shell, "router_only", tmp_path)
    assert ran[0] == "python -m pip install ./packages/cylinder-router"
    probe = (
        "import importlib.util as u; "
        "print([n for n in ('werkzeug', 'cylinder_runtime', 'cylinder') if u.find_spec(n)])"
    )
    found = shell.run(f'python -c "{probe}"')
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "[]"
    assert "cylinder_router" in shell.run("python -m pip list").stdout.replace("-", "_")


def test_the_readme_serves_the_example_site(shell: Shell, tmp_path: Path) -> None:
    """The README's first command, after its install: the example site answers."""
    port = free_port()
    log = tmp_path / "site.log"
    server = shell.start("python3 examples/site/cylinder_main.py", port, log)
    try:
        _wait_until_listening(server, port, log)
        page = shell.run(f"curl -s http://127.0.0.1:{port}/")
        assert "Hello from Cylinder" in page.stdout
    finally:
        _stop(server)
    assert f"Serving the example site on http://127.0.0.1:{port}" in log.read_text()


def test_readme_lines_are_read_as_a_shell_reads_them(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "```bash\n"
        "PORT=1 python examples/x/cylinder_main.py   # serves\n"
        "curl -H 'X: a # b' http://127.0.0.1:8000/  # 200, text\n"
        "curl -i -X OPTIONS \\\n     -H 'A: b' http://h/\n"
        "cd examples/d && A=1 gunicorn 'm:app()'\n"
        "```\n"
        "```text\nnot run\n```\n"
    )
    (block,) = bash_blocks(readme)
    assert [line.command for line in block] == [
        "PORT=1 python examples/x/cylinder_main.py",
        "curl -H 'X: a # b' http://127.0.0.1:8000/",
        "curl -i -X OPTIONS \\\n     -H 'A: b' http://h/",
        "cd examples/d && A=1 gunicorn 'm:app()'",
    ]
    assert [line.comment for line in block] == ["serves", "200, text", "", ""]
    assert [line.starts_a_server for line in block] == [True, False, False, True]
