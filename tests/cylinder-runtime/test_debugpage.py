"""The debug page: each kind of uncaught error shown with Cylinder's message, the route file at
fault and the site's own frames first; plain text for clients that do not ask for HTML; nothing
of it without debug mode or when a ``500.py`` answers."""

from __future__ import annotations

import html
import logging
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from records_support import Records
from site_support import write_files
from werkzeug.test import TestResponse

from cylinder_runtime import Application
from cylinder_runtime.debugpage import WARNING_TEXT

#: What a browser sends.
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}

#: A frame of Cylinder's own pipeline, which the site's frames must come before.
PIPELINE_FRAME = os.sep + os.path.join("cylinder_runtime", "pipeline.py")

OK = "def main(response):\n    return response\n"


MakeApp = Callable[..., Application]


@pytest.fixture
def make_app(tmp_path: Path, make_app: MakeApp) -> MakeApp:
    """Builds an application over ``<tmp>/sites/webapp1`` with the given files."""
    build = make_app

    def make(
        files: Mapping[str, str],
        *,
        app_map: Callable[..., object] | None = None,
        **options: object,
    ) -> Application:
        write_files(tmp_path / "sites", files)

        def default_map() -> tuple[str, str, dict[str, object]]:
            return str(tmp_path / "sites"), "webapp1", {"database": "db"}

        options.setdefault("log_handler", Records())
        return build(app_map or default_map, **options)

    return make


def page(app: Application, path: str, headers: Mapping[str, str] = BROWSER) -> TestResponse:
    response = app.test_client().get(path, headers=dict(headers))
    assert response.status_code == 500
    return response


def text_of(response: TestResponse) -> str:
    """The page as a reader sees it: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", response.get_data(as_text=True)))


def spot(response: TestResponse) -> str:
    """The file named as the one at fault (highlighted)."""
    found = re.search(r'<mark class="spot">([^<]*)</mark>', response.get_data(as_text=True))
    assert found is not None, response.get_data(as_text=True)
    return html.unescape(found[1])


def assert_yours_before_framework(response: TestResponse, filename: str) -> None:
    body = response.get_data(as_text=True)
    traceback = body[body.index("<h2>Traceback") :]
    yours = traceback.index(f'{os.sep}{filename}"</cite>')  # the file name of its frame
    framework = traceback.index(PIPELINE_FRAME)
    assert yours < framework


# -- each kind of error ---------------------------------------------------------------------


def test_handler_that_raises_shows_its_frames_first_and_its_line(make_app: MakeApp) -> None:
    app = make_app(
        {
            "webapp1/boom.ex.get.py": """
                def helper():
                    raise RuntimeError("the flux capacitor is empty")


                def main(response):
                    helper()
                    return response
            """
        },
        debug=True,
    )
    response = page(app, "/boom")
    assert response.mimetype == "text/html"
    text = text_of(response)
    assert "RuntimeError" in text
    assert "the flux capacitor is empty" in text
    assert "handler webapp1/boom.ex.get.py raised RuntimeError at line 2" in text
    assert spot(response) == "webapp1/boom.ex.get.py"
    assert 'raise RuntimeError("the flux capacitor is empty")' in text
    assert_yours_before_framework(response, "boom.ex.get.py")
    assert "GET /boom" in text
    assert WARNING_TEXT in text


def test_syntax_error_shows_the_line_that_failed_to_compile(make_app: MakeApp) -> None:
    app = make_app(
        {"webapp1/broken.ex.get.py": "def main(response):\n    return response +\n"},
        debug=True,
    )
    response = page(app, "/broken")
    text = text_of(response)
    assert "HandlerLoadError" in text
    assert "broken.ex.get.py`, line 2: SyntaxError: invalid syntax" in text
    assert "SyntaxError" in text
    assert spot(response) == "webapp1/broken.ex.get.py"
    assert "File at fault: webapp1/broken.ex.get.py, line 2" in text
    assert "return response +" in text


def test_unknown_parameter_names_the_file_and_parameter(make_app: MakeApp) -> None:
    app = make_app(
        {"webapp1/users.ex.get.py": "def main(response, databse):\n    return response\n"},
        debug=True,
    )
    response = page(app, "/users")
    text = text_of(response)
    assert "MissingParameterError" in text
    assert (
        "handler `webapp1/users.ex.get.py` asks for `databse`, which no one provides; "
        "available: request, response, log, abort, g, database (did you mean `database`?)"
    ) in text
    assert spot(response) == "webapp1/users.ex.get.py"
    assert "File at fault: webapp1/users.ex.get.py, line 1" in text
    assert "def main(response, databse):" in text


def test_file_without_main_is_named(make_app: MakeApp) -> None:
    app = make_app({"webapp1/nomain.ex.get.py": "X = 1\n"}, debug=True)
    response = page(app, "/nomain")
    text = text_of(response)
    assert "HandlerLoadError" in text
    assert "nomain.ex.get.py`: it defines no `main`" in text
    assert spot(response) == "webapp1/nomain.ex.get.py"


def test_handler_returning_none_is_named(make_app: MakeApp) -> None:
    app = make_app(
        {"webapp1/forgot.ex.get.py": "def main(response):\n    response.set_data('x')\n"},
        debug=True,
    )
    response = page(app, "/forgot")
    text = text_of(response)
    assert "ValueError" in text
    assert (
        "must return the same response passed in: "
        "handler `webapp1/forgot.ex.get.py` returned NoneType"
    ) in text
    assert spot(response) == "webapp1/forgot.ex.get.py"
    assert "def main(response):" in text


@pytest.mark.parametrize(
    ("hook", "label"),
    [("webapp1.eh.default.py", "early hook"), ("webapp1.lh.default.py", "late hook")],
)
def test_error_in_a_hook_names_the_hook(make_app: MakeApp, hook: str, label: str) -> None:
    app = make_app(
        {
            "webapp1.ex.get.py": OK,
            hook: "def main(request, response):\n    return {}['missing']\n",
        },
        debug=True,
    )
    response = page(app, "/")
    text = text_of(response)
    assert "KeyError" in text
    assert f"{label} {hook} raised KeyError at line 2" in text
    assert spot(response) == hook
    assert_yours_before_framework(response, hook)


def test_error_in_app_map_shows_app_map(make_app: MakeApp) -> None:
    def app_map(request: object) -> tuple[str, str]:
        raise LookupError("no site for this host")

    app = make_app({}, app_map=app_map, debug=True)
    response = page(app, "/")
    text = text_of(response)
    assert "LookupError" in text
    assert "no site for this host" in text
    assert "app_map raised LookupError at line" in text
    assert spot(response) == __file__
    assert 'raise LookupError("no site for this host")' in text
    assert_yours_before_framework(response, os.path.basename(__file__))


def test_unusable_app_map_result_gets_cylinder_message(make_app: MakeApp, tmp_path: Path) -> None:
    def app_map() -> tuple[str, str]:
        return str(tmp_path), "../elsewhere"

    app = make_app({}, app_map=app_map, debug=True)
    body = page(app, "/", {"Accept": "text/plain"}).get_data(as_text=True)
    assert "error:   `site_name` '../elsewhere' must be a single folder name\n" in body
    assert "file at fault" not in body  # app_map returned: no code of the site failed


def test_failing_error_handler_is_shown_with_what_it_was_handling(make_app: MakeApp) -> None:
    app = make_app(
        {"webapp1/page.ex.get.py": OK, "webapp1.404.py": "def main(e):\n    return 1 / 0\n"},
        debug=True,
    )
    response = page(app, "/nothing/here")
    text = text_of(response)
    assert "ZeroDivisionError" in text
    assert "error handler webapp1.404.py raised ZeroDivisionError at line 2" in text
    assert "404 Not Found" in text  # the exception it was handling, in the chain
    assert spot(response) == "webapp1.404.py"


def test_page_escapes_what_the_request_sent(make_app: MakeApp) -> None:
    app = make_app({"webapp1.ex.get.py": "def main(response):\n    return 1 / 0\n"}, debug=True)
    response = page(app, "/<script>alert(1)</script>")
    body = response.get_data(as_text=True)
    assert "<script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_control_characters_in_the_request_line_are_escaped(make_app: MakeApp) -> None:
    app = make_app({"webapp1.ex.get.py": "def main(response):\n    return 1 / 0\n"}, debug=True)
    body = page(app, "/a%0Aerror:%1b[31m", {"Accept": "text/plain"}).get_data(as_text=True)
    assert "request: GET /a\\x0aerror:\\x1b[31m\n" in body


# -- negotiation ------------------------------------------------------------------------------


BOOM = {"webapp1/boom.ex.get.py": "def main(response):\n    return 1 / 0\n"}


@pytest.mark.parametrize(
    "headers",
    [{"Accept": "text/plain"}, {}, {"Accept": "*/*"}, {"Accept": "application/json"}],
    ids=["text-plain", "no-accept", "anything", "json"],
)
def test_clients_that_do_not_ask_for_html_get_plain_text(
    make_app: MakeApp, headers: dict[str, str]
) -> None:
    app = make_app(BOOM, debug=True)
    response = page(app, "/boom", headers)
    assert response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    assert "<" not in body.split("the full traceback:")[0]
    assert "error:   handler `webapp1/boom.ex.get.py` raised `ZeroDivisionError` at line 2" in body
    assert "ZeroDivisionError: division by zero" in body
    assert "file at fault: webapp1/boom.ex.get.py, line 2" in body
    assert "  >    2 |     return 1 / 0" in body
    yours = body.index("your code (most recent call last):")
    assert body.index('boom.ex.get.py", line 2, in main') > yours
    assert body.index('boom.ex.get.py", line 2, in main') < body.index(PIPELINE_FRAME)
    assert WARNING_TEXT in body
    assert response.headers["Cache-Control"] == "no-store"


# -- when it is not shown -------------------------------------------------------------------


def test_a_500_handler_still_answers(make_app: MakeApp) -> None:
    app = make_app(
        {
            **BOOM,
            "webapp1.500.py": "def main(response):\n    response.set_data('sorry')\n"
            "    return response\n",
        },
        debug=True,
    )
    response = page(app, "/boom")
    assert response.get_data(as_text=True) == "sorry"


def test_a_failing_500_handler_shows_its_own_error(make_app: MakeApp) -> None:
    app = make_app(
        {**BOOM, "webapp1.500.py": "def main(response):\n    raise KeyError('oops')\n"},
        debug=True,
    )
    response = page(app, "/boom")
    text = text_of(response)
    assert "error handler webapp1.500.py raised KeyError at line 2" in text
    assert "ZeroDivisionError" in text  # what it was handling
    assert spot(response) == "webapp1.500.py"


@pytest.mark.parametrize("headers", [BROWSER, {"Accept": "text/plain"}])
def test_debug_off_shows_the_generic_500(make_app: MakeApp, headers: Mapping[str, str]) -> None:
    app = make_app(BOOM)
    response = page(app, "/boom", headers)
    body = response.get_data(as_text=True)
    assert "ZeroDivisionError" not in body
    assert "boom.ex.get.py" not in body
    assert "Traceback" not in body
    assert "Internal Server Error" in body
    assert not app.debug


def test_abort_500_is_not_an_uncaught_error(make_app: MakeApp) -> None:
    app = make_app(
        {"webapp1.ex.get.py": "def main(abort, response):\n    abort(500)\n"}, debug=True
    )
    body = page(app, "/").get_data(as_text=True)
    assert "Traceback" not in body
    assert "Internal Server Error" in body


def test_an_edited_file_shows_its_new_source(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app(BOOM, debug=True)
    assert "return 1 / 0" in text_of(page(app, "/boom"))
    write_files(
        tmp_path / "sites",
        {"webapp1/boom.ex.get.py": "def main(response):\n    return {}['edited']\n"},
    )
    text = text_of(page(app, "/boom"))
    assert "return {}['edited']" in text
    assert "return 1 / 0" not in text


# -- the warning --------------------------------------------------------------------------


def test_debug_mode_logs_a_warning_at_start(make_app: MakeApp) -> None:
    handler = Records()
    app = make_app({}, debug=True, log_handler=handler)
    assert app.drain_logs()
    assert app.debug
    warnings = [r for r in handler.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [WARNING_TEXT]
    assert "never let the public reach" in WARNING_TEXT


def test_no_warning_without_debug_mode(make_app: MakeApp) -> None:
    handler = Records()
    app = make_app({}, log_handler=handler)
    assert app.drain_logs()
    assert [r for r in handler.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_debug_must_be_a_bool(value: object) -> None:
    with pytest.raises(TypeError, match=re.escape(f"`debug` must be True or False, not {value!r}")):
        Application(lambda: (".", "site"), debug=value)  # type: ignore[arg-type]


def test_werkzeug_debug_tools_load_only_in_debug_mode(tmp_path: Path) -> None:
    """Without debug mode, an application (even one answering a 500) never imports them."""
    write_files(tmp_path, BOOM)
    script = textwrap.dedent(
        f"""
        import sys
        from cylinder_runtime import Application
        app = Application(lambda: ({str(tmp_path)!r}, "webapp1"))
        assert app.test_client().get("/boom").status_code == 500
        app.close()
        print("werkzeug.debug" in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout == "False\n"
