"""What a request saves: exactly the keys whose JSON changed, however the change was made.

A store compares its values with what it read by their JSON, without encoding the values that
cannot have changed; these tests pin the cases that shortcut must not get wrong.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from cylinder_sessions import MemoryDriver, Record, SessionManager, StoreRecord, key_of
from cylinder_sessions.session import Session, Store

SESSION_ID = "S" * 43


def stored(driver: MemoryDriver) -> tuple[Any, int]:
    """The ``main`` store's data and version."""
    store = driver.records[key_of(SESSION_ID)].stores["main"]
    return json.loads(store.data), store.version


def request_with(manager: SessionManager, change: Callable[[Store], None]) -> Response:
    """One request on the planted session that applies ``change`` to the ``main`` store."""
    cookie = f"{manager.cookie_name}={SESSION_ID}"
    environ = EnvironBuilder(headers={"Cookie": cookie}).get_environ()
    session: Session = manager.begin(Request(environ))
    change(session["main"])
    response = Response()
    session.finish(response)
    return response


def planted(text: str) -> tuple[SessionManager, MemoryDriver]:
    driver = MemoryDriver()
    stores = {"main": StoreRecord(text, 1)}
    driver.records[key_of(SESSION_ID)] = Record(None, 0.0, math.inf, math.inf, stores)
    return SessionManager(driver, clock=lambda: 100.0), driver


def test_setting_values_with_the_same_json_writes_nothing() -> None:
    manager, driver = planted('{"n":1,"s":"x","z":1.0,"l":[1,{"a":null}],"f":false}')

    def same(store: Store) -> None:
        store["n"] = int("1")
        store["s"] = "".join(["x"])
        store["z"] = 0.5 + 0.5
        store["l"] = [1, {"a": None}]
        del store["f"]
        store["f"] = False

    request_with(manager, same)
    assert stored(driver) == ({"n": 1, "s": "x", "z": 1.0, "l": [1, {"a": None}], "f": False}, 1)


def test_values_equal_in_python_but_not_in_json_are_saved() -> None:
    manager, driver = planted('{"flag":true,"n":1,"z":0,"zero":0.0,"list":[1],"s":"1"}')

    def retype(store: Store) -> None:
        store["flag"] = 1  # == True
        store["n"] = 1.0  # == 1
        store["z"] = False  # == 0
        store["zero"] = -0.0  # == 0.0
        store["list"] = 1
        store["s"] = ["1"]

    request_with(manager, retype)
    data, version = stored(driver)
    assert version == 2
    assert [(key, type(value)) for key, value in data.items()] == [
        ("flag", int),
        ("n", float),
        ("z", bool),
        ("zero", float),
        ("list", int),
        ("s", list),
    ]
    assert math.copysign(1.0, data["zero"]) == -1.0


def test_changes_made_in_place_after_reading_or_setting_are_saved() -> None:
    manager, driver = planted('{"read":[1],"kept":{"a":1}}')

    def mutate(store: Store) -> None:
        store["read"].append(2)
        store["kept"]["b"] = 2
        store["list"] = [1]
        store["list"].append(2)
        store["tuple"] = ([1],)  # a tuple cannot change, a list inside it can
        store["tuple"][0].append(2)

    request_with(manager, mutate)
    assert stored(driver) == (
        {"read": [1, 2], "kept": {"a": 1, "b": 2}, "list": [1, 2], "tuple": [[1, 2]]},
        2,
    )


def test_a_value_set_twice_is_saved_as_last_set() -> None:
    manager, driver = planted('{"n":1}')

    def twice(store: Store) -> None:
        store["n"] = 2
        store["n"] = 1  # back to what was read: nothing to save
        store["m"] = "a"
        store["m"] = "b"

    request_with(manager, twice)
    assert stored(driver) == ({"n": 1, "m": "b"}, 2)


def test_a_stored_nan_is_not_json_and_the_session_is_dropped() -> None:
    manager, driver = planted('{"a":NaN}')
    seen: list[dict[str, Any]] = []
    response = request_with(manager, lambda store: seen.append(dict(store)))
    assert seen == [{}]
    assert key_of(SESSION_ID) not in driver.records
    assert "Set-Cookie" not in response.headers
