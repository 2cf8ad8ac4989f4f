"""plan_call and CallPlan: each ``main()`` gets what it asks for, by name, and nothing else."""

from __future__ import annotations

import re

import pytest

from cylinder_runtime import BUILTIN_NAMES, ERROR_HANDLER_NAMES, MissingParameterError, plan_call

WHERE = "handler `foo/bar.ex.get.py`"


def builtins(**extra: object) -> dict[str, object]:
    available: dict[str, object] = {name: f"the {name}" for name in BUILTIN_NAMES}
    available.update(extra)
    return available


def test_builtin_names() -> None:
    assert BUILTIN_NAMES == ("request", "response", "log", "abort", "g")
    assert ERROR_HANDLER_NAMES == ("request", "response", "log", "abort", "g", "e")


def test_plan_reads_positional_only_keyword_and_defaults() -> None:
    def main(request, /, response, *args, g, log=None, **kwargs):  # type: ignore[no-untyped-def]
        return request

    plan = plan_call(main, WHERE)

    assert plan.where == WHERE
    assert plan.positional == ("request",)
    assert plan.keyword == ("response", "g", "log")
    assert plan.optional == frozenset({"log"})


def test_plan_of_no_parameters() -> None:
    plan = plan_call(lambda: None, WHERE)

    assert (plan.positional, plan.keyword, plan.optional) == ((), (), frozenset())


def test_call_passes_only_what_is_asked() -> None:
    received: dict[str, object] = {}

    def main(request: object, g: object) -> str:
        received.update(request=request, g=g)
        return "done"

    result = plan_call(main, WHERE).call(main, builtins(database="db"))

    assert result == "done"
    assert received == {"request": "the request", "g": "the g"}


def test_order_of_parameters_does_not_matter() -> None:
    def main(g: object, log: object, request: object) -> tuple[object, ...]:
        return g, log, request

    def main_reversed(request: object, log: object, g: object) -> tuple[object, ...]:
        return g, log, request

    available = builtins()
    expected = ("the g", "the log", "the request")
    assert plan_call(main, WHERE).call(main, available) == expected
    assert plan_call(main_reversed, WHERE).call(main_reversed, available) == expected


def test_positional_only_and_keyword_only_parameters_are_passed() -> None:
    def main(response: object, request: object, /, *, g: object) -> tuple[object, ...]:
        return response, request, g

    plan = plan_call(main, WHERE)

    assert plan.call(main, builtins()) == ("the response", "the request", "the g")


def test_extras_are_passed_by_name() -> None:
    def main(response: object, database: object) -> tuple[object, ...]:
        return response, database

    result = plan_call(main, WHERE).call(main, builtins(database="db"))

    assert result == ("the response", "db")


def test_var_keyword_receives_everything_the_named_parameters_did_not_take() -> None:
    def main(request: object, *args: object, **kwargs: object) -> tuple[object, ...]:
        return request, args, kwargs

    plan = plan_call(main, WHERE)

    assert plan.positional == ()
    assert plan.keyword == ("request",)
    assert plan.var_keyword
    assert plan.call(main, builtins(database="db")) == (
        "the request",
        (),
        {
            "response": "the response",
            "log": "the log",
            "abort": "the abort",
            "g": "the g",
            "database": "db",
        },
    )


def test_var_keyword_alone_receives_everything() -> None:
    def main(**kw: object) -> dict[str, object]:
        return kw

    assert plan_call(main, WHERE).call(main, builtins(e="the error")) == builtins(e="the error")


def test_var_keyword_leaves_out_positional_only_names_and_defaults_it_took() -> None:
    def main(request: object, /, log: object = None, **kw: object) -> tuple[object, ...]:
        return request, log, sorted(kw)

    result = plan_call(main, WHERE).call(main, builtins())

    assert result == ("the request", "the log", ["abort", "g", "response"])


def test_var_positional_receives_nothing() -> None:
    def main(request: object, *args: object) -> tuple[object, ...]:
        return request, args

    plan = plan_call(main, WHERE)

    assert not plan.var_keyword
    assert plan.call(main, builtins(database="db")) == ("the request", ())


def test_defaults_are_honoured_when_nothing_provides_the_name() -> None:
    def main(request: object, database: object = "default db", *, cache: object = None) -> object:
        return request, database, cache

    plan = plan_call(main, WHERE)

    assert plan.call(main, builtins()) == ("the request", "default db", None)
    assert plan.call(main, builtins(database="db", cache="c")) == ("the request", "db", "c")


def test_an_available_value_wins_over_the_default_even_when_it_is_none() -> None:
    def main(database: object = "default db") -> object:
        return database

    assert plan_call(main, WHERE).call(main, {"database": None}) is None


def test_positional_only_defaults_are_honoured() -> None:
    def main(request: object, database: object = "default db", /) -> tuple[object, ...]:
        return request, database

    plan = plan_call(main, WHERE)

    assert plan.call(main, builtins()) == ("the request", "default db")
    assert plan.call(main, builtins(database="db")) == ("the request", "db")


def test_positional_only_parameter_after_a_missing_default_still_gets_its_value() -> None:
    def main(database: object = "default db", request: object = None, /) -> tuple[object, ...]:
        return database, request

    result = plan_call(main, WHERE).call(main, builtins())

    assert result == ("default db", "the request")


def test_missing_name_names_parameter_where_available_and_suggestion() -> None:
    def main(request: object, databse: object) -> None:
        return None

    plan = plan_call(main, WHERE)

    expected = (
        "handler `foo/bar.ex.get.py` asks for `databse`, which no one provides; "
        "available: request, response, log, abort, g, database (did you mean `database`?)"
    )
    with pytest.raises(MissingParameterError, match=re.escape(expected)) as info:
        plan.call(main, builtins(database="db"))

    error = info.value
    assert error.where == WHERE
    assert error.name == "databse"
    assert error.available == [*BUILTIN_NAMES, "database"]
    assert error.suggestion == "database"


def test_missing_name_without_anything_close_has_no_suggestion() -> None:
    def main(zzzqqq: object) -> None:
        return None

    with pytest.raises(MissingParameterError, match=r"asks for `zzzqqq`") as info:
        plan_call(main, WHERE).call(main, builtins())

    assert info.value.suggestion is None
    assert "did you mean" not in str(info.value)
    assert str(info.value).endswith("available: request, response, log, abort, g")


def test_missing_positional_only_name_is_refused_too() -> None:
    def main(requets: object, /) -> None:
        return None

    with pytest.raises(MissingParameterError, match=r"`requets`.*did you mean `request`"):
        plan_call(main, WHERE).call(main, builtins())


def test_missing_keyword_only_name_is_refused_and_main_is_not_called() -> None:
    called: list[bool] = []

    def main(request: object, *, e: object) -> None:
        called.append(True)

    with pytest.raises(MissingParameterError, match=r"asks for `e`"):
        plan_call(main, WHERE).call(main, builtins())

    assert called == []


def test_plan_of_a_callable_without_a_signature_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"^handler `foo/bar\.ex\.get\.py`: cannot read the sig"):
        plan_call(next, WHERE)


def test_plan_of_a_callable_object_reads_its_call_method() -> None:
    class Main:
        def __call__(self, request: object, g: object = None) -> object:
            return request

    main = Main()
    plan = plan_call(main, WHERE)

    assert plan.keyword == ("request", "g")
    assert plan.call(main, {"request": "r"}) == "r"
