"""Spec: "The parameters on main()"; DECISIONS.md: "Parameters of main()"."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

import cylinder


def test_all_builtins_are_given(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": """
        import logging, types
        from werkzeug.wrappers import Request, Response

        def main(request, response, log, abort, g):
            log.info("Saying hello to %s", request.user_agent)
            response.data = ",".join([
                type(request).__name__,
                str(isinstance(response, Response)),
                str(isinstance(log, logging.Logger)),
                str(callable(abort)),
                type(g).__name__,
            ])
            return response
    """
        }
    )
    assert client.get("/").text == "Request,True,True,True,SimpleNamespace"


def test_log_records_reach_the_handler(client_for: Callable[..., Client], records: Any) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": """
        def main(request, response, log):
            log.info("Saying hello to %s", request.user_agent)
            return response
    """
        }
    )
    client.get("/", headers={"User-Agent": "probe/1"})
    assert "Saying hello to probe/1" in records.messages()


def test_e_is_given_in_error_handlers_only(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": "def main(response, e):\n    return response\n",
            "webapp1.500.py": """
            def main(response, e):
                original = e.original_exception
                response.data = type(original).__name__ + ": " + str(original)
                return response
        """,
        }
    )
    response = client.get("/")
    assert response.status_code == 500
    assert response.text.startswith(
        "MissingParameterError: handler `webapp1.ex.get.py` asks for `e`"
    )


def test_unknown_name_fails_with_a_500_naming_parameter_file_and_suggestion(
    make_app: Callable[..., cylinder.Application], records: Any
) -> None:
    app = make_app(
        {
            "webapp1.ex.get.py": "def main(response, databse):\n    return response\n",
            "webapp1.500.py": """
                def main(response, e):
                    response.data = str(e.original_exception)
                    return response
            """,
        },
        extras={"database": object()},
    )
    response = app.test_client().get("/")
    assert response.status_code == 500
    assert response.text == (
        "handler `webapp1.ex.get.py` asks for `databse`, which no one provides; "
        "available: request, response, log, abort, g, database (did you mean `database`?)"
    )
    errors = [r for r in records.records if r.levelno == logging.ERROR]
    assert errors
    assert "cylinder_runtime.errors.MissingParameterError: handler `webapp1.ex.get.py`" in (
        errors[0].exc_text or ""
    )


def test_unknown_name_with_default_gets_its_default(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": """
        def main(response, color="blue", size=None):
            response.data = f"{color} {size}"
            return response
    """
        }
    )
    assert client.get("/").text == "blue None"


def test_provided_name_overrides_default(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": """
            def main(response, color="blue"):
                response.data = color
                return response
        """
        },
        extras={"color": "red"},
    )
    assert client.get("/").text == "red"


@pytest.mark.parametrize("name", ["request", "response", "log", "abort", "g", "e"])
def test_extra_reusing_a_builtin_name_is_refused(
    make_app: Callable[..., cylinder.Application], records: Any, name: str
) -> None:
    app = make_app(
        {"webapp1.ex.get.py": "def main(response):\n    return response\n"}, extras={name: "clash"}
    )
    response = app.test_client().get("/")
    assert response.status_code == 500
    assert b"Internal Server Error" in response.data
    logged = [r.exc_text for r in records.records if r.exc_text]
    assert any(f"`app_map` extra `{name}` reuses a built-in name" in text for text in logged)


def test_app_map_gets_builtins_and_shares_g_and_response(
    make_app: Callable[..., cylinder.Application], sites: Path
) -> None:
    seen: dict[str, Any] = {}

    def app_map(request: Any, response: Any, log: Any, abort: Any, g: Any) -> Any:
        seen.update(request=request, log=log, abort=abort)
        g.from_app_map = "set in app_map"
        response.headers["X-From-App-Map"] = "1"
        return str(sites), "webapp1", {}

    app = make_app(
        {
            "webapp1.ex.get.py": """
            def main(response, g):
                response.data = g.from_app_map
                return response
        """
        },
        app_map=app_map,
    )
    response = app.test_client().get("/")
    assert response.text == "set in app_map"
    assert response.headers["X-From-App-Map"] == "1"
    assert isinstance(seen["log"], logging.Logger)
    assert callable(seen["abort"])


def test_app_map_may_return_two_values(
    make_app: Callable[..., cylinder.Application], sites: Path
) -> None:
    app = make_app(
        {
            "webapp1.ex.get.py": "def main(response):\n    response.data = 'two'\n"
            "    return response\n"
        },
        app_map=lambda request: (str(sites), "webapp1"),
    )
    assert app.test_client().get("/").text == "two"


def test_relative_site_dir_is_relative_to_cwd(
    make_app: Callable[..., cylinder.Application], sites: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(sites.parent)
    app = make_app(
        {
            "webapp1.ex.get.py": "def main(response):\n    response.data = 'rel'\n"
            "    return response\n"
        },
        app_map=lambda request: ("my_webapps", "webapp1", {}),
    )
    assert app.test_client().get("/").text == "rel"


def test_g_is_a_fresh_simplenamespace_per_request(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": """
        def main(response, g):
            response.data = str(getattr(g, "count", 0))
            g.count = 1
            return response
    """
        }
    )
    assert client.get("/").text == "0"
    assert client.get("/").text == "0"


def test_app_map_asking_for_unknown_name_is_refused_at_once() -> None:
    def app_map(request: Any, database: Any) -> Any:
        raise AssertionError("never called")

    with pytest.raises(TypeError, match=r"`app_map` asks for `database`, which no one provides"):
        cylinder.get_app(app_map)


def test_non_callable_app_map_is_refused_at_once() -> None:
    with pytest.raises(TypeError, match=r"`app_map` must be a callable"):
        cylinder.get_app(("my_webapps", "webapp1"))  # type: ignore[arg-type]


def test_var_keyword_receives_every_builtin_and_extra_not_named(
    client_for: Callable[..., Client],
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": """
        def main(request, *args, **kw):
            response = kw["response"]
            response.data = f"{request.path} {args} {sorted(kw)} {kw['database']}"
            return response
    """,
            "webapp1.eh.get.py": """
        def main(**kw):
            kw["g"].seen = sorted(kw)
            return kw["response"]
    """,
            "webapp1/boom.ex.get.py": """
        def main(abort):
            abort(418)
    """,
            "webapp1.418.py": """
        def main(response, **rest):
            response.data = f"{rest['e'].code} {sorted(rest)}"
            return response
    """,
        },
        extras={"database": "db"},
    )

    response = client.get("/")

    assert response.status_code == 200
    assert response.text == "/ () ['abort', 'database', 'g', 'log', 'response'] db"
    teapot = client.get("/boom")
    assert teapot.status_code == 418
    assert teapot.text == "418 ['abort', 'database', 'e', 'g', 'log', 'request']"
