"""`cylinder routes`, run as a subprocess on sites built in `tmp_path`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import SPEC_SITE, build, cylinder


@pytest.fixture
def spec_site(tmp_path: Path) -> Path:
    """The spec's example site; returns the path of its folder, `my_webapps/webapp1`."""
    return build(tmp_path / "my_webapps", SPEC_SITE) / "webapp1"


def rows(stdout: str) -> list[list[str]]:
    """The table lines of the text output, as lists of cells."""
    return [line.split() for line in stdout.splitlines() if line.startswith("/")]


def test_routes_lists_each_prefix_and_method_with_its_hooks(spec_site: Path) -> None:
    result = cylinder("routes", spec_site)

    assert result.returncode == 0, result.stderr
    assert rows(result.stdout) == [
        ["/", "GET", "webapp1.ex.get.py", "-", "-", "400", "webapp1.400.py"],
        [
            "/foo",
            "GET",
            "webapp1/foo.ex.default.py",
            "webapp1/foo.eh.get.py",
            "webapp1/foo.lh.get.py",
            "400",
            "webapp1.400.py",
        ],
        ["/foo", "default", "webapp1/foo.ex.default.py", "-", "-", "400", "webapp1.400.py"],
        [
            "/foo/bar",
            "GET",
            "webapp1/foo/bar.ex.get.py",
            "webapp1/foo.eh.get.py",
            "webapp1/foo.lh.get.py",
            "400",
            "webapp1/foo/bar.400.py",
        ],
        [
            "/foo/bar",
            "POST",
            "webapp1/foo/bar.ex.post.py",
            "-",
            "-",
            "400",
            "webapp1/foo/bar.400.py",
        ],
        [
            "/foo/bar.txt",
            "webapp1/foo/bar.txt",
            "webapp1/foo.eh.get.py",
            "webapp1/foo.lh.get.py",
            "400",
            "webapp1.400.py",
        ],
    ]
    assert result.stderr == ""


def test_routes_text_columns_line_up(spec_site: Path) -> None:
    lines = cylinder("routes", spec_site).stdout.splitlines()

    header = next(line for line in lines if line.startswith("PREFIX"))
    column = header.index("HANDLER")
    assert all(line[column:].startswith("webapp1") for line in lines if line.startswith("/foo "))


def test_routes_json_is_stable_and_relative(spec_site: Path) -> None:
    first = cylinder("routes", spec_site, "--json")
    second = cylinder("routes", spec_site, "--json")

    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert str(spec_site.parent) not in first.stdout
    table = json.loads(first.stdout)
    assert table["site"] == "webapp1"
    assert table["rejected"] == []
    assert table["static_files"] == [
        {
            "url": "/foo/bar.txt",
            "file": "webapp1/foo/bar.txt",
            "early_hook": "webapp1/foo.eh.get.py",
            "late_hook": "webapp1/foo.lh.get.py",
            "error_handlers": {"400": "webapp1.400.py"},
        }
    ]
    assert [(row["prefix"], row["method"], row["handler"]) for row in table["routes"]] == [
        ("/", "GET", "webapp1.ex.get.py"),
        ("/foo", "GET", "webapp1/foo.ex.default.py"),
        ("/foo", "default", "webapp1/foo.ex.default.py"),
        ("/foo/bar", "GET", "webapp1/foo/bar.ex.get.py"),
        ("/foo/bar", "POST", "webapp1/foo/bar.ex.post.py"),
    ]
    assert table["routes"][3] == {
        "prefix": "/foo/bar",
        "method": "GET",
        "handler": "webapp1/foo/bar.ex.get.py",
        "early_hook": "webapp1/foo.eh.get.py",
        "late_hook": "webapp1/foo.lh.get.py",
        "error_handlers": {"400": "webapp1/foo/bar.400.py"},
    }


def test_routes_json_keys_are_sorted(spec_site: Path) -> None:
    output = cylinder("routes", spec_site, "--json").stdout

    assert output == json.dumps(json.loads(output), indent=2, sort_keys=True) + "\n"


def test_routes_json_shows_a_handler_moving_to_another_file(spec_site: Path) -> None:
    before = json.loads(cylinder("routes", spec_site, "--json").stdout)
    (spec_site / "foo" / "bar.ex.get.py").unlink()
    after = json.loads(cylinder("routes", spec_site, "--json").stdout)

    assert {"prefix": "/foo/bar", "method": "GET"}.items() <= before["routes"][3].items()
    assert [row["method"] for row in after["routes"] if row["prefix"] == "/foo/bar"] == ["POST"]


def test_routes_of_a_site_made_of_root_files_only(tmp_path: Path) -> None:
    build(tmp_path / "sites", ["solo.ex.get.py", "solo.ex.post.py", "solo.500.py"])

    result = cylinder("routes", tmp_path / "sites" / "solo", "--json")

    assert result.returncode == 0, result.stderr
    routes = json.loads(result.stdout)["routes"]
    assert [(row["method"], row["handler"]) for row in routes] == [
        ("GET", "solo.ex.get.py"),
        ("POST", "solo.ex.post.py"),
    ]
    assert routes[0]["error_handlers"] == {"500": "solo.500.py"}


def test_routes_nearest_error_handler_per_code(tmp_path: Path) -> None:
    site = build(
        tmp_path / "sites",
        ["app.404.py", "app.500.py", "app/api.ex.get.py", "app/api.404.py"],
    )

    table = json.loads(cylinder("routes", site / "app", "--json").stdout)

    assert table["routes"][0]["error_handlers"] == {
        "404": "app/api.404.py",
        "500": "app.500.py",
    }


def test_routes_hook_for_one_method_splits_a_default_handler(tmp_path: Path) -> None:
    site = build(tmp_path / "sites", ["app.eh.post.py", "app/items.ex.default.py"])

    routes = json.loads(cylinder("routes", site / "app", "--json").stdout)["routes"]

    assert [(row["method"], row["early_hook"]) for row in routes] == [
        ("POST", "app.eh.post.py"),
        ("default", None),
    ]


def test_routes_omits_get_of_a_handler_shadowed_by_a_static_file(tmp_path: Path) -> None:
    site = build(
        tmp_path / "sites",
        ["app/report.csv", "app/report.csv.ex.get.py", "app/report.csv.ex.post.py"],
    )

    table = json.loads(cylinder("routes", site / "app", "--json").stdout)

    assert [row["method"] for row in table["routes"]] == ["POST"]
    assert [row["url"] for row in table["static_files"]] == ["/report.csv"]


def test_routes_lists_names_that_are_not_routes(tmp_path: Path) -> None:
    site = build(tmp_path / "sites", ["app.ex.get.py", "app/bar.ex.Get.py"])

    text = cylinder("routes", site / "app")
    table = json.loads(cylinder("routes", site / "app", "--json").stdout)

    assert "app/bar.ex.Get.py" in text.stdout
    assert "`cylinder check`" in text.stdout
    assert table["rejected"] == [
        {
            "file": "app/bar.ex.Get.py",
            "reason": "method `Get` must be lower-case: `get`",
            "rejection": "not a route",
        }
    ]


def test_routes_never_imports_site_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    site = tmp_path / "sites"
    site.mkdir()
    (site / "app.ex.get.py").write_text(
        f"open({str(marker)!r}, 'w').close()\ndef main(response):\n    return response\n"
    )

    result = cylinder("routes", site / "app")

    assert result.returncode == 0, result.stderr
    assert not marker.exists()


def test_routes_of_an_empty_site(tmp_path: Path) -> None:
    (tmp_path / "sites" / "app").mkdir(parents=True)

    result = cylinder("routes", tmp_path / "sites" / "app")

    assert result.returncode == 0
    assert "no handler files" in result.stdout
    assert "no static files" in result.stdout


def test_routes_of_a_missing_site_is_a_usage_error(tmp_path: Path) -> None:
    result = cylinder("routes", tmp_path / "nowhere" / "app")

    assert result.returncode == 2
    assert result.stdout == ""
    assert f"no site at `{tmp_path / 'nowhere' / 'app'}`" in result.stderr


def test_routes_of_a_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "app").write_text("not a folder")

    result = cylinder("routes", tmp_path / "app")

    assert result.returncode == 2
    assert "is a file, not a site folder" in result.stderr


def test_routes_lists_files_never_served_and_near_misses(tmp_path: Path) -> None:
    site = build(
        tmp_path / "sites",
        ["app.ex.get.py", "app/page.ex.get.py~", "app/contact.ex.get", "app/about.get.py"],
    )

    text = cylinder("routes", site / "app")
    table = json.loads(cylinder("routes", site / "app", "--json").stdout)

    assert text.returncode == 0
    assert text.stdout.splitlines()[-6:] == [
        "1 file looks like a route but is not; `cylinder check` says why:",
        "  app/about.get.py",
        "",
        "2 files are never served, though a request may name them:",
        "  app/contact.ex.get   a route file saved without `.py` (`.ex.` after the first dot)",
        "  app/page.ex.get.py~  an editor's backup copy (the name ends in `~`)",
    ]
    assert table["static_files"] == []
    assert table["rejected"] == [
        {
            "file": "app/about.get.py",
            "reason": "a plain module that no request runs: did you mean `about.ex.get.py`?",
            "rejection": "near miss",
        },
        {
            "file": "app/contact.ex.get",
            "reason": "a route file saved without `.py` (`.ex.` after the first dot)",
            "rejection": "never static",
        },
        {
            "file": "app/page.ex.get.py~",
            "reason": "an editor's backup copy (the name ends in `~`)",
            "rejection": "never static",
        },
    ]
