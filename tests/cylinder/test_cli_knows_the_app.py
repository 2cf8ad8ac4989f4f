"""Issue 13, "The `cylinder` command knows the application": a module given as a site, SITE as
`module:name` asking `app_map`, extras for `check`, `explain` and its query and method case,
bare `cylinder` and a closed pipe. Every case runs `python -m cylinder` as a subprocess."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from cli_support import build, cylinder, serving, stop

EXAMPLE_SITE = Path(__file__).resolve().parents[2] / "examples" / "site"

#: A project as `cylinder new` makes it, with two sites chosen by host and an extra each.
MAIN = """\
import os

import cylinder

SITES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "my_webapps")


def app_map(request):
    if request.host.startswith("admin."):
        return SITES, "admin", {"audit": [], "database": "admin db"}
    return SITES, "webapp1", {"database": "main db"}


def create_app():
    return cylinder.get_app(app_map)


app = cylinder.get_app(app_map)


def main():
    create_app()
"""

ASKS_FOR_DATABASE = "def main(response, database):\n    return response\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    build(folder, ["my_webapps/webapp1.ex.get.py", "my_webapps/admin.ex.get.py"])
    (folder / "cylinder_main.py").write_text(MAIN)
    (folder / "my_webapps" / "webapp1" / "hello.ex.get.py").parent.mkdir()
    (folder / "my_webapps" / "webapp1" / "hello.ex.get.py").write_text(ASKS_FOR_DATABASE)
    (folder / "my_webapps" / "admin" / "log.ex.get.py").parent.mkdir()
    (folder / "my_webapps" / "admin" / "log.ex.get.py").write_text(
        "def main(response, database, audit):\n    return response\n"
    )
    return folder


# A module where a site is expected ----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("serve", "cylinder_main"),
        ("serve", "cylinder_main.py"),
        ("routes", "cylinder_main"),
        ("check", "cylinder_main.py"),
        ("explain", "cylinder_main", "GET", "/"),
    ],
)
def test_a_module_given_as_a_site_names_the_fix(project: Path, args: tuple[str, ...]) -> None:
    result = cylinder(*args, cwd=project)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"cylinder {args[0]}: error: `{args[1]}` is a Python module, not a site folder: "
        "did you mean `cylinder_main:create_app` or `cylinder_main:app` or "
        "`cylinder_main:app_map`?\n"
    )


def test_a_module_file_elsewhere_says_where_to_run_from(project: Path) -> None:
    result = cylinder("check", "project/cylinder_main.py", cwd=project.parent)

    assert result.returncode == 2
    assert result.stderr == (
        "cylinder check: error: `project/cylinder_main.py` is a Python module, not a site "
        "folder: did you mean `cylinder_main:create_app` or `cylinder_main:app` or "
        "`cylinder_main:app_map` (run from `project`)?\n"
    )


def test_a_module_without_an_application_names_what_to_give(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("def helper(x):\n    return x\n")

    result = cylinder("routes", "helpers", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr == (
        "cylinder routes: error: `helpers` is a Python module, not a site folder: give "
        "`helpers:NAME`, NAME being the application it builds (`cylinder.get_app(app_map)`), "
        "a function that returns one, or its `app_map`\n"
    )


def test_an_importable_module_given_as_a_site_is_refused(tmp_path: Path) -> None:
    result = cylinder("check", "json", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.startswith(
        "cylinder check: error: `json` is a Python module, not a site folder: give `json:NAME`"
    )


def test_a_site_folder_beside_a_module_of_its_name_is_still_the_site(tmp_path: Path) -> None:
    build(tmp_path, ["webapp1.ex.get.py", "webapp1/x.txt"])
    (tmp_path / "webapp1.py").write_text("app = None\n")

    result = cylinder("routes", "webapp1", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "/x.txt" in result.stdout


def test_a_site_of_root_files_beside_a_module_of_its_name_is_still_the_site(
    tmp_path: Path,
) -> None:
    build(tmp_path, ["webapp1.ex.get.py"])
    (tmp_path / "webapp1.py").write_text("app = None\n")

    result = cylinder("routes", "webapp1", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "webapp1.ex.get.py" in result.stdout


# SITE as `module:name` ------------------------------------------------------------------------


def test_routes_asks_app_map_which_site_answers_the_host(project: Path) -> None:
    main = cylinder("routes", "cylinder_main:create_app", cwd=project)
    admin = cylinder(
        "routes", "cylinder_main:create_app", "--host", "admin.example.com", cwd=project
    )
    as_json = cylinder("routes", "cylinder_main:app", "--json", cwd=project)

    assert main.returncode == admin.returncode == as_json.returncode == 0
    sites = project / "my_webapps"
    assert main.stdout.splitlines()[:2] == [
        "routes of `cylinder_main:create_app`",
        f"`app_map` of `cylinder_main:create_app` names site `webapp1` in `{sites}` for "
        "`http://localhost/`, with extras: database",
    ]
    assert "webapp1/hello.ex.get.py" in main.stdout
    assert admin.stdout.splitlines()[1] == (
        f"`app_map` of `cylinder_main:create_app` names site `admin` in `{sites}` for "
        "`http://admin.example.com/`, with extras: audit, database"
    )
    assert "admin/log.ex.get.py" in admin.stdout
    table = json.loads(as_json.stdout)
    assert table["site"] == "webapp1"


def test_check_knows_the_extras_of_the_application(project: Path) -> None:
    folder = cylinder("check", "my_webapps/webapp1", cwd=project)
    app = cylinder("check", "cylinder_main:create_app", cwd=project)
    admin = cylinder("check", "cylinder_main:app_map", "--host", "admin.localhost", cwd=project)

    assert folder.returncode == 0
    assert folder.stdout.splitlines()[0].startswith(
        "warning: webapp1/hello.ex.get.py: `main` asks for `database`, which no built-in provides"
    )
    assert app.returncode == 0
    assert app.stdout.splitlines()[1:] == [
        "no problems in `cylinder_main:create_app`: 2 route files and 0 static files checked"
    ]
    assert admin.returncode == 0
    assert admin.stdout.splitlines()[1:] == [
        "no problems in `cylinder_main:app_map`: 2 route files and 0 static files checked"
    ]


def test_check_of_an_application_names_a_parameter_no_extra_provides(project: Path) -> None:
    (project / "my_webapps" / "webapp1" / "typo.ex.get.py").write_text(
        "def main(response, databse):\n    return response\n"
    )

    result = cylinder("check", "cylinder_main:create_app", cwd=project)

    assert result.returncode == 0
    assert result.stdout.splitlines()[1:] == [
        "warning: webapp1/typo.ex.get.py: `main` asks for `databse`, which neither a built-in "
        "nor an extra provides (did you mean `database`?): a request that runs this handler "
        "fails; available: request, response, log, abort, g, database",
        "0 errors, 1 warning in `cylinder_main:create_app`",
    ]


def test_check_knows_the_parameters_the_application_provides(tmp_path: Path) -> None:
    build(tmp_path, ["sites/webapp1.ex.get.py"])
    (tmp_path / "sites" / "webapp1.ex.get.py").write_text(
        "def main(response, session):\n    return response\n"
    )
    (tmp_path / "with_session.py").write_text(
        "import cylinder\n"
        "def app_map():\n"
        "    return 'sites', 'webapp1'\n"
        "app = cylinder.get_app(app_map)\n"
        "app.provide('session', lambda request, response: {})\n"
    )

    result = cylinder("check", "with_session:app", cwd=tmp_path)

    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        f"`app_map` of `with_session:app` names site `webapp1` in `{tmp_path / 'sites'}` for "
        "`http://localhost/`, with no extras; the application provides: session",
        "no problems in `with_session:app`: 1 route file and 0 static files checked",
    ]


def test_check_extra_declares_extras_of_a_site_folder(project: Path) -> None:
    result = cylinder(
        "check", "my_webapps/admin", "--extra", "database", "--extra", "audit", cwd=project
    )

    assert result.returncode == 0
    assert result.stdout == (
        "no problems in `my_webapps/admin`: 2 route files and 0 static files checked\n"
    )


def test_check_extra_must_be_a_parameter_name(project: Path) -> None:
    result = cylinder("check", "my_webapps/admin", "--extra", "no-good", cwd=project)

    assert result.returncode == 2
    assert "argument --extra: `no-good` is not a parameter name" in result.stderr


def test_check_extra_is_refused_for_an_application(project: Path) -> None:
    result = cylinder("check", "cylinder_main:app", "--extra", "database", cwd=project)

    assert result.returncode == 2
    assert result.stderr == (
        "cylinder check: error: `--extra` is for a site folder: `cylinder_main:app` is an "
        "application, whose `app_map` says which extras there are\n"
    )


def test_readme_example_site_checks_clean_through_its_app_map() -> None:
    folder = cylinder("check", "my_webapps/webapp1", cwd=EXAMPLE_SITE)
    app = cylinder("check", "cylinder_main:app_map", cwd=EXAMPLE_SITE)

    assert "`main` asks for `users`, which no built-in provides" in folder.stdout  # no app
    assert app.returncode == 0
    assert "warning" not in app.stdout
    assert app.stdout.splitlines()[-1].startswith("no problems in `cylinder_main:app_map`")


def test_explain_asks_app_map_with_host_and_path(project: Path) -> None:
    result = cylinder(
        "explain", "cylinder_main:create_app", "GET", "/log", "--host", "admin.x", cwd=project
    )

    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"`app_map` of `cylinder_main:create_app` names site `admin` in "
        f"`{project / 'my_webapps'}` for `http://admin.x/log`, with extras: audit, database"
    )
    assert "  handler     admin/log.ex.get.py  exact method `get`, depth 1 (`/log`)" in lines


def test_app_map_that_fails_is_a_failure(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text(
        "import cylinder\n"
        "def app_map(request):\n"
        "    raise RuntimeError('no database')\n"
        "app = cylinder.get_app(app_map)\n"
    )

    result = cylinder("routes", "broken:app", cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr.endswith(
        "cylinder routes: error: `app_map` of `broken:app` failed for `http://localhost/`: "
        "no database\n"
    )
    assert "RuntimeError: no database" in result.stderr


def test_app_map_naming_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "lost.py").write_text("def app_map():\n    return 'nowhere', 'webapp1'\n")

    result = cylinder("check", "lost:app_map", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr == (
        "cylinder check: error: `app_map` of `lost:app_map` names site `webapp1` in "
        f"`{tmp_path / 'nowhere'}` for `http://localhost/`, but `{tmp_path / 'nowhere'}` is "
        "not a folder\n"
    )


def test_a_wsgi_application_that_is_not_cylinder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text(
        "def app(environ, start_response):\n    start_response('200 OK', [])\n    return [b'hi']\n"
    )

    result = cylinder("routes", "plain:app", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr == (
        "cylinder routes: error: `plain:app` is a WSGI application but not one built by "
        "`cylinder.get_app`: give a site folder, or the Cylinder application\n"
    )


def test_host_must_be_a_host(project: Path) -> None:
    result = cylinder("routes", "cylinder_main:app", "--host", "a/b", cwd=project)

    assert result.returncode == 2
    assert "argument --host: `a/b` is not a host" in result.stderr


# explain: the query and the case of the method ----------------------------------------------


def test_explain_sets_the_query_aside_and_says_so(tmp_path: Path) -> None:
    site = build(tmp_path / "sites", ["app.ex.get.py", "app/hello.ex.get.py"])

    result = cylinder("explain", site / "app", "GET", "/hello?name=x")

    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        "the query `?name=x` is not part of the path: routing sees `/hello`",
        "GET /hello on site `app`",
    ]
    assert "  handler     app/hello.ex.get.py  exact method `get`, depth 1 (`/hello`)" in lines
    assert "hello?name=x" not in result.stdout


def test_explain_hands_the_query_to_app_map(tmp_path: Path) -> None:
    build(tmp_path, ["sites/webapp1.ex.get.py", "sites/admin.ex.get.py"])
    (tmp_path / "by_query.py").write_text(
        "def app_map(request):\n    return 'sites', request.args.get('site', 'webapp1')\n"
    )

    result = cylinder("explain", "by_query:app_map", "GET", "/?site=admin", cwd=tmp_path)

    assert result.returncode == 0
    assert result.stdout.splitlines()[:3] == [
        f"`app_map` of `by_query:app_map` names site `admin` in `{tmp_path / 'sites'}` for "
        "`http://localhost/?site=admin`, with no extras",
        "the query `?site=admin` is not part of the path: routing sees `/`",
        "GET / on site `admin`",
    ]


@pytest.mark.parametrize(("method", "meant"), [("get", "GET"), ("Post", "POST")])
def test_explain_lower_case_method_is_refused_naming_the_method_meant(
    tmp_path: Path, method: str, meant: str
) -> None:
    site = build(tmp_path / "sites", ["app.ex.get.py", "app/hello.ex.get.py"])

    result = cylinder("explain", site / "app", method, "/hello")

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"cylinder explain: error: METHOD `{method}`: HTTP methods are case-sensitive, and a "
        f"request with `{method}` is answered 501 Not Implemented; did you mean `{meant}`?\n"
    )


def test_explain_default_is_still_explained_as_501(tmp_path: Path) -> None:
    site = build(tmp_path / "sites", ["app.ex.get.py"])

    result = cylinder("explain", site / "app", "default", "/")

    assert result.returncode == 0
    assert "501 Not Implemented" in result.stdout


# serve takes an `app_map` too ------------------------------------------------------------------


def test_serve_builds_the_application_around_an_app_map(project: Path, tmp_path: Path) -> None:
    (project / "my_webapps" / "webapp1.ex.get.py").write_text(
        "def main(response, database):\n    response.data = database\n    return response\n"
    )
    with serving("cylinder_main:app_map", cwd=project, log=tmp_path / "err.txt") as (process, url):
        with urllib.request.urlopen(url + "/", timeout=10) as response:
            assert response.read() == b"main db"
        assert stop(process, signal.SIGINT) == 0


# bare `cylinder` and a closed pipe ---------------------------------------------------------------


def test_routes_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    names = [f"app/file{i:04}.txt" for i in range(1500)]  # far more JSON than a pipe holds
    site = build(tmp_path / "sites", ["app.ex.get.py", *names])

    with subprocess.Popen(
        [sys.executable, "-m", "cylinder", "routes", "--json", str(site / "app")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        assert process.stdout.readline() == b"{\n"
        process.stdout.close()  # as `head -1` does
        code = process.wait(timeout=60)
        stderr = process.stderr.read().decode()

    assert stderr == ""
    assert code == 141


def test_routes_into_head_in_a_shell(tmp_path: Path) -> None:
    names = [f"app/file{i:04}.txt" for i in range(1500)]
    site = build(tmp_path / "sites", ["app.ex.get.py", *names])
    command = (
        f"{sys.executable} -m cylinder routes --json {site / 'app'} | head -1; "
        'echo "status ${PIPESTATUS[0]}"'
    )

    result = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.stdout == "{\nstatus 141\n"
    assert result.stderr == ""
