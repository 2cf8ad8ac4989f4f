"""`cylinder explain`, run as a subprocess on the spec's matching example built in `tmp_path`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_support import HANDLER, SPEC_SITE, build, cylinder


@pytest.fixture
def spec_site(tmp_path: Path) -> Path:
    """The spec's example site; returns the path of its folder, `my_webapps/webapp1`."""
    return build(tmp_path / "my_webapps", SPEC_SITE) / "webapp1"


def explain(site: Path, *args: str) -> str:
    """The output of a successful `cylinder explain SITE ARGS`."""
    result = cylinder("explain", site, *args)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def chosen(output: str) -> dict[str, list[str]]:
    """The `result:` block: label -> its cells (file or answer, then why)."""
    block = output.split("\nresult:\n", 1)[1]
    cells = [
        re.split(r"\s{2,}", line.strip()) for line in block.splitlines() if line.startswith("  ")
    ]
    return {row[0]: row[1:] for row in cells if len(row) > 1}


def candidates(output: str, title: str) -> list[tuple[str, str, str]]:
    """The candidate lines of the section whose title starts with `title`:
    (depth, found or missing, file), in the order printed."""
    section = output.split(f"\n{title}", 1)[1].split("\n\n", 1)[0]
    found = []
    for line in section.splitlines()[1:]:
        depth, state, file = re.split(r"\s{2,}", line.strip())[:3]
        found.append((depth, state, file))
    return found


def test_explain_get_lists_every_candidate_in_search_order(spec_site: Path) -> None:
    output = explain(spec_site, "GET", "/foo/bar")

    assert candidates(output, "handler, searched for `get`") == [
        ("depth 2", "found", "webapp1/foo/bar.ex.get.py"),
        ("depth 2", "missing", "webapp1/foo/bar.ex.default.py"),
        ("depth 1", "missing", "webapp1/foo.ex.get.py"),
        ("depth 1", "found", "webapp1/foo.ex.default.py"),
        ("depth 0", "found", "webapp1.ex.get.py"),
        ("depth 0", "missing", "webapp1.ex.default.py"),
    ]
    assert candidates(output, "early hook, searched for `get`")[2] == (
        "depth 1",
        "found",
        "webapp1/foo.eh.get.py",
    )
    assert "webapp1/foo/bar.ex.get.py      <- chosen" in output


def test_explain_get_chooses_hooks_and_handler(spec_site: Path) -> None:
    result = chosen(explain(spec_site, "GET", "/foo/bar"))

    assert result == {
        "early hook": ["webapp1/foo.eh.get.py", "exact method `get`, depth 1 (`/foo`)"],
        "handler": ["webapp1/foo/bar.ex.get.py", "exact method `get`, depth 2 (`/foo/bar`)"],
        "late hook": ["webapp1/foo.lh.get.py", "exact method `get`, depth 1 (`/foo`)"],
    }


def test_explain_post_runs_no_hooks(spec_site: Path) -> None:
    result = chosen(explain(spec_site, "POST", "/foo/bar"))

    assert result["handler"] == [
        "webapp1/foo/bar.ex.post.py",
        "exact method `post`, depth 2 (`/foo/bar`)",
    ]
    assert result["early hook"] == ["none"]
    assert result["late hook"] == ["none"]


def test_explain_put_falls_back_to_the_nearest_default(spec_site: Path) -> None:
    output = explain(spec_site, "PUT", "/foo/bar")

    assert chosen(output)["handler"] == [
        "webapp1/foo.ex.default.py",
        "catch-all `default`, depth 1 (`/foo`)",
    ]
    assert "the handler sees `bar` below its prefix" in output


def test_explain_static_file_on_exact_match(spec_site: Path) -> None:
    output = explain(spec_site, "GET", "/foo/bar.txt")

    result = chosen(output)
    assert result["static file"] == ["webapp1/foo/bar.txt", "exact match of `/foo/bar.txt`"]
    assert result["early hook"][0] == "webapp1/foo.eh.get.py"
    assert result["late hook"][0] == "webapp1/foo.lh.get.py"
    assert "handler: not searched, the static file answers" in output


def test_explain_static_file_is_not_served_for_post(spec_site: Path) -> None:
    output = explain(spec_site, "POST", "/foo/bar.txt")

    assert "found    webapp1/foo/bar.txt  (served for GET and HEAD only)" in output
    assert chosen(output)["handler"][0] == "webapp1/foo.ex.default.py"


def test_explain_405_lists_allowed_methods_and_its_error_handler(spec_site: Path) -> None:
    (spec_site.parent / "webapp1.405.py").write_text(HANDLER)

    output = explain(spec_site, "POST", "/anything-else")

    result = chosen(output)
    assert result["answer"] == [
        "405 Method Not Allowed, Allow: GET, HEAD, OPTIONS",
        "the path has handlers, but none for this method",
    ]
    assert result["error 405"] == ["webapp1.405.py", "depth 0 (`/`)"]
    assert candidates(output, "error handler for 405") == [
        ("depth 1", "missing", "webapp1/anything-else.405.py"),
        ("depth 0", "found", "webapp1.405.py"),
    ]


def test_explain_404_when_nothing_handles_the_path(tmp_path: Path) -> None:
    site = build(tmp_path / "sites", ["app/foo.ex.get.py", "app.404.py"]) / "app"

    result = chosen(explain(site, "GET", "/nope"))

    assert result["answer"] == ["404 Not Found", "no handler for any method on the path"]
    assert result["error 404"] == ["app.404.py", "depth 0 (`/`)"]


def test_explain_options_answered_by_the_framework(spec_site: Path) -> None:
    result = chosen(explain(spec_site, "OPTIONS", "/"))

    assert result["answer"] == [
        "204 No Content, Allow: GET, HEAD, OPTIONS",
        "no `.ex.options.py` or `.ex.default.py` on the path",
    ]
    assert "error" not in " ".join(result)


def test_explain_options_with_a_hook_for_it(spec_site: Path) -> None:
    (spec_site / "cors.eh.options.py").write_text(HANDLER)

    result = chosen(explain(spec_site, "OPTIONS", "/cors"))

    assert result["early hook"] == [
        "webapp1/cors.eh.options.py",
        "exact method `options`, depth 1 (`/cors`)",
    ]
    assert result["answer"][0].startswith("204 No Content")


def test_explain_head_falls_back_to_get(spec_site: Path) -> None:
    output = explain(spec_site, "HEAD", "/elsewhere")

    assert "HEAD is routed as GET: no `.ex.head.py` or `.ex.default.py` on the path" in output
    assert "handler, searched for `get`:" in output
    assert chosen(output)["handler"] == [
        "webapp1.ex.get.py",
        "exact method `get`, depth 0 (`/`), HEAD routed as GET",
    ]


def test_explain_head_takes_a_default_handler_before_get(spec_site: Path) -> None:
    output = explain(spec_site, "HEAD", "/foo/bar")

    assert "routed as GET" not in output
    assert chosen(output)["handler"][0] == "webapp1/foo.ex.default.py"


def test_explain_status_finds_the_nearest_error_handler(spec_site: Path) -> None:
    near = chosen(explain(spec_site, "GET", "/foo/bar", "--status", "400"))
    far = chosen(explain(spec_site, "GET", "/foo", "--status", "400"))
    none = chosen(explain(spec_site, "GET", "/foo", "--status", "503"))

    assert near["error 400"] == ["webapp1/foo/bar.400.py", "depth 2 (`/foo/bar`)"]
    assert far["error 400"] == ["webapp1.400.py", "depth 0 (`/`)"]
    assert none["error 503"] == ["none", "Werkzeug's default page for the status"]


def test_explain_without_status_or_framework_error_names_no_error_handler(
    spec_site: Path,
) -> None:
    output = explain(spec_site, "GET", "/foo/bar")

    assert "error handler: no status to look for (give one with `--status CODE`)" in output


def test_explain_method_that_cannot_be_routed_is_501(spec_site: Path) -> None:
    output = explain(spec_site, "M-SEARCH", "/foo")

    result = chosen(output)
    assert result["answer"][0] == "501 Not Implemented"
    assert "early hook, searched for `default`:" in output
    assert "error handler for 501:" in output


def test_explain_shows_the_path_as_matched(spec_site: Path) -> None:
    output = explain(spec_site, "GET", "/foo//./bar")

    assert "matched as `/foo/bar`" in output
    assert chosen(output)["handler"][0] == "webapp1/foo/bar.ex.get.py"


def test_explain_never_imports_site_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    site = tmp_path / "sites"
    site.mkdir()
    for name in ("app.eh.get.py", "app.ex.get.py", "app.lh.get.py", "app.404.py"):
        (site / name).write_text(
            f"open({str(marker)!r}, 'w').close()\ndef main(response):\n    return response\n"
        )

    output = explain(site / "app", "GET", "/", "--status", "404")

    assert chosen(output)["handler"][0] == "app.ex.get.py"
    assert not marker.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["G ET", "/"], "argument METHOD: `G ET` is not an HTTP method"),
        (["", "/"], "argument METHOD: `` is not an HTTP method"),
        (["GET", "foo"], "PATH `foo` must start with `/`"),
        (["GET", "/", "--status", "abc"], "argument --status: `abc` is not a status code"),
        (["GET", "/", "--status", "600"], "argument --status: `600` is not a status code"),
        (["GET", "/", "--status", "99"], "argument --status: `99` is not a status code"),
    ],
)
def test_explain_bad_arguments_are_usage_errors(
    spec_site: Path, args: list[str], message: str
) -> None:
    result = cylinder("explain", spec_site, *args)

    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_explain_missing_site_is_a_usage_error(tmp_path: Path) -> None:
    result = cylinder("explain", tmp_path / "sites" / "app", "GET", "/")

    assert result.returncode == 2
    assert f"no site at `{tmp_path / 'sites' / 'app'}`" in result.stderr
