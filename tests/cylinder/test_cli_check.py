"""`cylinder check`, run as a subprocess: a clean site, then one site per kind of defect."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from cli_support import HANDLER, cylinder

#: A site with a handler, hooks, error handlers and a static file, all correct.
CLEAN_SITE = {
    "webapp1.ex.get.py": "def main(request, response, log, abort, g):\n    return response\n",
    "webapp1.eh.default.py": HANDLER,
    "webapp1.500.py": "def main(response, e):\n    return response\n",
    "webapp1/foo.lh.get.py": HANDLER,
    "webapp1/foo/bar.ex.post.py": "def main(response, /, *, database=None):\n    return response\n",
    "webapp1/foo/bar.ex.propfind.py": "main = lambda response: response\n",
    "webapp1/foo/helpers.py": "VALUE = 1\n",
    "webapp1/foo/style.css": "body {}\n",
}


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    """`tmp_path/my_webapps`, holding the clean site `webapp1`."""
    folder = tmp_path / "my_webapps"
    write(folder, CLEAN_SITE)
    return folder


def write(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def check(site_dir: Path, files: Mapping[str, str] | None = None) -> tuple[int, list[str]]:
    """Add `files` to the site, check it: the exit code and the output lines."""
    write(site_dir, files or {})
    result = cylinder("check", site_dir / "webapp1")
    assert result.stderr == ""
    return result.returncode, result.stdout.splitlines()


def test_check_clean_site(site_dir: Path) -> None:
    code, lines = check(site_dir)

    assert code == 0
    assert lines == [
        f"no problems in `{site_dir / 'webapp1'}`: 6 route files and 1 static file checked"
    ]


def test_check_misnamed_route_is_an_error(site_dir: Path) -> None:
    code, lines = check(site_dir, {"webapp1/foo/bar.ex.Get.py": HANDLER})

    assert code == 1
    assert lines == [
        "error: webapp1/foo/bar.ex.Get.py: not a route: method `Get` must be lower-case: `get`",
        f"1 error, 0 warnings in `{site_dir / 'webapp1'}`",
    ]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("webapp1/bar.999.py", "status code `999` must be three digits from 100 to 599"),
        ("webapp1/bar.ex.f12.py", "method `f12` must be ASCII letters only"),
        ("webapp1/bar.EX.get.py", "kind `EX` must be lower-case `ex`"),
        ("webapp1.ex.get.PY", "extension `.PY` must be lower-case `.py`"),
    ],
)
def test_check_names_that_break_the_grammar_are_errors(
    site_dir: Path, name: str, reason: str
) -> None:
    code, lines = check(site_dir, {name: HANDLER})

    assert code == 1
    assert f"error: {name}: not a route: {reason}" in lines


def test_check_file_that_does_not_compile_is_an_error(site_dir: Path) -> None:
    code, lines = check(site_dir, {"webapp1/broken.ex.get.py": "def main(response:\n"})

    assert code == 1
    assert lines[0] == (
        "error: webapp1/broken.ex.get.py: does not compile: "
        "SyntaxError: '(' was never closed (line 1)"
    )


def test_check_error_found_only_by_the_compiler_is_an_error(site_dir: Path) -> None:
    code, lines = check(site_dir, {"webapp1/early.ex.get.py": HANDLER + "return 1\n"})

    assert code == 1
    assert lines[0] == (
        "error: webapp1/early.ex.get.py: does not compile: "
        "SyntaxError: 'return' outside function (line 3)"
    )


def test_check_file_without_main_is_an_error(site_dir: Path) -> None:
    code, lines = check(site_dir, {"webapp1.404.py": "def handle(response):\n    return 1\n"})

    assert code == 1
    assert lines[0] == "error: webapp1.404.py: defines no top-level `main` function"


def test_check_main_inside_a_class_is_not_top_level(site_dir: Path) -> None:
    source = "class Page:\n    def main(self, response):\n        return response\n"
    code, lines = check(site_dir, {"webapp1/page.ex.get.py": source})

    assert code == 1
    assert lines[0] == "error: webapp1/page.ex.get.py: defines no top-level `main` function"


def test_check_main_that_is_not_callable_is_an_error(site_dir: Path) -> None:
    code, lines = check(site_dir, {"webapp1/foo.eh.get.py": "main = 'index.html'\n"})

    assert code == 1
    assert lines[0] == (
        "error: webapp1/foo.eh.get.py: `main` is not callable: line 1 assigns it `'index.html'`"
    )


def test_check_async_main_is_an_error(site_dir: Path) -> None:
    source = "async def main(response):\n    return response\n"
    code, lines = check(site_dir, {"webapp1/slow.ex.get.py": source})

    assert code == 1
    assert lines[0].startswith("error: webapp1/slow.ex.get.py: `main` (line 1) is `async def`")


@pytest.mark.parametrize(
    "source",
    [
        "from helpers import main\n",
        "import functools\nmain = functools.partial(print)\n",
        "try:\n    from fast import main\nexcept ImportError:\n    def main(response):\n"
        "        return response\n",
    ],
)
def test_check_main_it_cannot_see_into_is_accepted(site_dir: Path, source: str) -> None:
    code, lines = check(site_dir, {"webapp1/other.ex.get.py": source})

    assert code == 0
    assert lines[0].startswith("no problems")


def test_check_unknown_parameter_is_a_warning(site_dir: Path) -> None:
    source = "def main(response, databse):\n    return response\n"
    code, lines = check(site_dir, {"webapp1/users.ex.get.py": source})

    assert code == 0
    assert lines == [
        "warning: webapp1/users.ex.get.py: `main` asks for `databse`, which no built-in "
        "provides: it must come from `app_map` extras; built-ins: request, response, log, "
        "abort, g",
        f"0 errors, 1 warning in `{site_dir / 'webapp1'}`",
    ]


def test_check_misspelt_builtin_parameter_suggests_the_builtin(site_dir: Path) -> None:
    source = "def main(reqest, response):\n    return response\n"
    code, lines = check(site_dir, {"webapp1/users.ex.get.py": source})

    assert code == 0
    assert (
        "`main` asks for `reqest`, which no built-in provides (did you mean `request`?)"
        in (lines[0])
    )


def test_check_e_outside_an_error_handler_is_an_error(site_dir: Path) -> None:
    source = "def main(response, e):\n    return response\n"
    code, lines = check(site_dir, {"webapp1/foo.eh.post.py": source})

    assert code == 1
    assert lines[0] == (
        "error: webapp1/foo.eh.post.py: `main` asks for `e`, which only error handlers get, "
        "and `app_map` extras may not use that name: every call of this early hook fails"
    )


def test_check_unregistered_method_is_a_warning_with_a_suggestion(site_dir: Path) -> None:
    code, lines = check(site_dir, {"webapp1/foo/bar.ex.gte.py": HANDLER})

    assert code == 0
    assert lines[0] == (
        "warning: webapp1/foo/bar.ex.gte.py: method `gte` is not a registered HTTP method "
        "(did you mean `get`?); this handler answers `GTE` requests only"
    )


def test_check_hook_with_nothing_below_it_is_a_warning(site_dir: Path) -> None:
    code, lines = check(site_dir, {"webapp1/admin/panel.lh.get.py": HANDLER})

    assert code == 0
    assert lines[0] == (
        "warning: webapp1/admin/panel.lh.get.py: late hook has no handler or static file "
        "at or below `/admin/panel` to run around"
    )


def test_check_hook_above_a_static_file_is_not_alone(site_dir: Path) -> None:
    code, _ = check(site_dir, {"webapp1/docs.eh.get.py": HANDLER, "webapp1/docs/a.txt": "a"})

    assert code == 0


def test_check_static_file_shadowing_a_handler_is_a_warning_naming_both(site_dir: Path) -> None:
    code, lines = check(site_dir, {"webapp1/foo/style.css.ex.get.py": HANDLER})

    assert code == 0
    assert lines[0] == (
        "warning: webapp1/foo/style.css: static file shadows handler "
        "`webapp1/foo/style.css.ex.get.py`: GET and HEAD of `/foo/style.css` are answered "
        "with the file, never by the handler"
    )


def test_check_static_file_beside_a_post_handler_is_fine(site_dir: Path) -> None:
    code, _ = check(site_dir, {"webapp1/foo/style.css.ex.post.py": HANDLER})

    assert code == 0


def test_check_error_handler_for_a_redirect_is_a_warning(site_dir: Path) -> None:
    code, lines = check(site_dir, {"webapp1.301.py": HANDLER})

    assert code == 0
    assert lines[0] == (
        "warning: webapp1.301.py: error handler for `301` never runs: redirects skip error handlers"
    )


def test_check_invalid_escape_is_a_warning_with_its_line(site_dir: Path) -> None:
    source = "import re\n\nPATTERN = '\\d+'\n" + HANDLER
    code, lines = check(site_dir, {"webapp1/num.ex.get.py": source})

    assert code == 0
    assert lines[0] == "warning: webapp1/num.ex.get.py: line 3: invalid escape sequence '\\d'"


def test_check_never_runs_site_code(site_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    source = f"open({str(marker)!r}, 'w').close()\nraise SystemExit(3)\n" + HANDLER
    code, lines = check(site_dir, {"webapp1/side.ex.get.py": source})

    assert code == 0
    assert lines[0].startswith("no problems")
    assert not marker.exists()


def test_check_findings_are_sorted_by_file_and_counted(site_dir: Path) -> None:
    code, lines = check(
        site_dir,
        {
            "webapp1/z.ex.get.py": "x = 1\n",
            "webapp1/a.ex.gte.py": HANDLER,
            "webapp1/m.ex.Get.py": HANDLER,
        },
    )

    assert code == 1
    assert [line.split(":")[1].strip() for line in lines[:-1]] == [
        "webapp1/a.ex.gte.py",
        "webapp1/m.ex.Get.py",
        "webapp1/z.ex.get.py",
    ]
    assert lines[-1] == f"2 errors, 1 warning in `{site_dir / 'webapp1'}`"


def test_check_missing_site_is_a_usage_error(tmp_path: Path) -> None:
    result = cylinder("check", tmp_path / "my_webapps" / "webapp9")

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"cylinder check: error: no site at `{tmp_path / 'my_webapps' / 'webapp9'}`: there is "
        f"no folder `{tmp_path / 'my_webapps' / 'webapp9'}` and no root files `webapp9.*.py` "
        "beside where it would be\n"
    )


def test_check_site_of_root_files_only(tmp_path: Path) -> None:
    write(tmp_path, {"solo.ex.get.py": HANDLER})

    result = cylinder("check", "solo", cwd=tmp_path)

    assert result.returncode == 0
    assert result.stdout == ("no problems in `solo`: 1 route file and 0 static files checked\n")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("webapp1/foo/page.ex.get.py~", "an editor's backup copy (the name ends in `~`)"),
        ("webapp1/#page.ex.get.py#", "an editor's auto-save file (the name is `#...#`)"),
        (
            "webapp1/page.ex.get.py.bak",
            "a copy of Python source (the part `.py` after the first dot)",
        ),
        ("webapp1/x.pyw", "a copy of Python source (the part `.pyw` after the first dot)"),
        (
            "webapp1/page.ex.get.py___jb_tmp___",
            "an editor's temporary file (the name holds `___jb_tmp___`)",
        ),
        (
            "webapp1/contact.ex.get",
            "a route file saved without `.py` (`.ex.` after the first dot)",
        ),
    ],
)
def test_check_files_never_served_are_warnings_saying_why(
    site_dir: Path, name: str, reason: str
) -> None:
    code, lines = check(site_dir, {name: "SECRET = 'sk-live-4242'\n"})

    assert code == 0
    assert lines == [
        f"warning: {name}: never served as a static file: {reason}; "
        "a request for it is answered as if it were not there",
        f"0 errors, 1 warning in `{site_dir / 'webapp1'}`",
    ]


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("webapp1/foo/bar.ex.get.txt.py", "bar.txt.ex.get.py"),
        ("webapp1/about.get.py", "about.ex.get.py"),
        ("webapp1/baz.ex.py", "baz.ex.get.py"),
        ("webapp1/page.eh.py", "page.eh.get.py"),
        ("webapp1/bar.get.ex.py", "bar.ex.get.py"),
        ("webapp1.post.py", "webapp1.ex.post.py"),
    ],
)
def test_check_near_miss_names_are_warnings_with_the_name_meant(
    site_dir: Path, name: str, meant: str
) -> None:
    code, lines = check(site_dir, {name: HANDLER})

    assert code == 0
    assert lines == [
        f"warning: {name}: not a route: a plain module that no request runs: "
        f"did you mean `{meant}`?",
        f"0 errors, 1 warning in `{site_dir / 'webapp1'}`",
    ]


def test_check_accepts_var_keyword_which_receives_everything(site_dir: Path) -> None:
    code, lines = check(
        site_dir, {"webapp1/kw.ex.get.py": "def main(request, **kw):\n    return kw['response']\n"}
    )

    assert code == 0
    assert lines == [
        f"no problems in `{site_dir / 'webapp1'}`: 7 route files and 1 static file checked"
    ]


def test_check_var_positional_is_a_warning(site_dir: Path) -> None:
    code, lines = check(
        site_dir, {"webapp1/args.ex.get.py": "def main(response, *args):\n    return response\n"}
    )

    assert code == 0
    assert lines == [
        "warning: webapp1/args.ex.get.py: `*args` on `main` receives nothing: parameters are "
        "passed by name (`**kwargs` receives every one not named)",
        f"0 errors, 1 warning in `{site_dir / 'webapp1'}`",
    ]
