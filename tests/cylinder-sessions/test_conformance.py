"""The session manager through a Cylinder app, against every driver in conftest.DRIVERS.

Requests go through cylinder_runtime's Application and Werkzeug's test client; the driver is a
real one, wrapped by ``counting`` so that store round trips can be counted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from cylinder_sessions import Driver, SessionManager, key_of
from cylinder_sessions.testing import DriverKit

#: Every wait in these tests gives up after this many seconds.
TIMEOUT = 10.0

SITE = {
    "site.ex.get.py": """
        def main(response):
            response.data = "untouched"
            return response
    """,
    "site/get.ex.get.py": """
        import json

        def main(request, response, session):
            store = session[request.args.get("store", "main")]
            response.data = json.dumps(dict(store), sort_keys=True)
            return response
    """,
    "site/set.ex.post.py": """
        import json

        def main(request, response, session):
            store = session[request.form.get("store", "main")]
            for key, value in request.form.items():
                if key != "store":
                    store[key] = json.loads(value)
            response.data = "set"
            return response
    """,
    "site/append.ex.post.py": """
        def main(request, response, session):
            session["main"].setdefault("list", [])
            session["main"]["list"].append(request.form["item"])
            return response
    """,
    "site/login.ex.post.py": """
        def main(request, response, session):
            session.rotate(user=request.form["user"])
            response.data = "welcome"
            return response
    """,
    "site/user.ex.get.py": """
        def main(response, session):
            response.data = str(session.user)
            return response
    """,
    "site/logout.ex.post.py": """
        def main(response, session):
            session.destroy()
            response.data = "bye"
            return response
    """,
    "site/revoke.ex.post.py": """
        def main(request, response, session):
            response.data = str(session.revoke_user(request.form["user"]))
            return response
    """,
    "site/boom.ex.post.py": """
        def main(response, session):
            session["main"]["lost"] = True
            raise RuntimeError("the handler failed")
    """,
    "site/busy.ex.post.py": """
        def main(response, session):
            session["main"]["lost"] = True
            response.status_code = 503
            return response
    """,
    "site/flash.ex.post.py": """
        def main(request, response, session):
            session.flash(request.form["message"], request.form.get("category", "message"))
            return response
    """,
    "site/flashes.ex.get.py": """
        import json

        def main(response, session):
            response.data = json.dumps(session.flashes())
            return response
    """,
    "site/form.ex.get.py": """
        def main(response, session):
            response.data = session.csrf_token()
            return response
    """,
    "site/form.ex.post.py": """
        def main(request, response, session):
            session.require_csrf(request)
            response.data = "accepted"
            return response
    """,
    "site/bump.ex.post.py": """
        def main(request, response, session):
            store = session["main"]
            key = request.form["key"]
            store[key] = store.get(key, 0) + 1
            return response
    """,
    "site/count.ex.post.py": """
        def main(response, session):
            def increment(data):
                data["n"] = data.get("n", 0) + 1
                return data["n"]

            response.data = str(session["counter"].transact(increment))
            return response
    """,
}

COOKIE = "__Host-session"


def issued_id(response: Any, name: str = COOKIE) -> str:
    """The id a response set in the session cookie."""
    (header,) = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    match = re.match(rf"{re.escape(name)}=([^;]*);", header)
    assert match is not None
    return match.group(1)


def set_cookies(response: Any) -> list[str]:
    return list(response.headers.getlist("Set-Cookie"))


def browse(app: Any) -> Client:
    return app.test_client()


def state(client: Client, store: str = "main") -> dict[str, Any]:
    response = client.get(f"https://localhost/get?store={store}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = json.loads(response.text)
    return result


def post(client: Client, path: str, **form: Any) -> Any:
    return client.post(f"https://localhost{path}", data=form)


def setvalue(client: Client, store: str = "main", **values: Any) -> Any:
    form = {key: json.dumps(value) for key, value in values.items()}
    return post(client, "/set", store=store, **form)


@pytest.fixture
def manager(counting: Any, clock: Any) -> SessionManager:
    return SessionManager(counting, clock=clock, idle_timeout=600, absolute_timeout=3600)


@pytest.fixture
def client(make_app: Any, manager: SessionManager) -> Client:
    return browse(make_app(manager, SITE))


# laziness and round trips


def test_a_request_that_never_touches_the_session_does_no_io_and_sets_no_cookie(
    client: Client, counting: Any
) -> None:
    setvalue(client, a=1)
    counting.calls.clear()
    response = client.get("https://localhost/")
    assert response.text == "untouched"
    assert counting.calls == []
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")


def test_reading_without_a_cookie_does_no_io_and_stores_nothing(
    client: Client, counting: Any
) -> None:
    response = client.get("https://localhost/get")
    assert response.text == "{}"
    assert counting.calls == []
    assert "Set-Cookie" not in response.headers


def test_one_round_trip_to_read_and_one_to_write(client: Client, counting: Any) -> None:
    first = setvalue(client, a=1)
    assert counting.calls == ["create"]  # a new session: no load, one insert
    assert issued_id(first)
    counting.calls.clear()
    assert state(client) == {"a": 1}
    assert counting.calls == ["load"]
    counting.calls.clear()
    again = setvalue(client, b=2)
    assert counting.calls == ["load", "write"]
    assert "Set-Cookie" not in again.headers  # an existing session's cookie is not re-sent
    counting.calls.clear()
    setvalue(client, b=2)  # the same value again: nothing changed, nothing written
    assert counting.calls == ["load"]


# ids and cookies


def test_ids_are_256_bit_and_the_store_sees_only_their_hash(
    make_app: Any, manager: SessionManager, counting: Any
) -> None:
    app = make_app(manager, SITE)
    ids = set()
    for _ in range(20):
        browser = browse(app)
        session_id = issued_id(setvalue(browser, a=1))
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", session_id)  # 32 random bytes
        ids.add(session_id)
        assert state(browser) == {"a": 1}
    assert len(ids) == 20
    hashes = {hashlib.sha256(i.encode()).hexdigest() for i in ids}
    assert set(counting.keys) == hashes
    assert not ids & set(counting.keys)


def test_the_cookie_is_exact_when_set(client: Client) -> None:
    response = setvalue(client, a=1)
    (header,) = set_cookies(response)
    session_id = issued_id(response)
    assert re.fullmatch(
        rf"__Host-session={session_id}; Expires=[A-Z][a-z]{{2}}, \d\d [A-Z][a-z]{{2}} \d{{4}} "
        r"\d\d:\d\d:\d\d GMT; Max-Age=3600; Secure; HttpOnly; Path=/; SameSite=Lax",
        header,
    ), header
    assert "Domain" not in header
    assert response.headers["Vary"] == "Cookie"


def test_the_cookie_is_exact_when_deleted(client: Client) -> None:
    setvalue(client, a=1)
    response = post(client, "/logout")
    assert set_cookies(response) == [
        "__Host-session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Secure; HttpOnly; "
        "Path=/; SameSite=Lax"
    ]


def test_plain_http_development_drops_secure_and_the_prefix(
    make_app: Any, counting: Any, clock: Any
) -> None:
    manager = SessionManager(counting, clock=clock, secure=False)
    client = browse(make_app(manager, SITE))
    response = client.post("/set", data={"a": "1"})
    (header,) = set_cookies(response)
    assert header.startswith("session=")
    assert "Secure" not in header
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert json.loads(client.get("/get").text) == {"a": 1}


def test_a_domain_or_path_drops_the_host_prefix(counting: Any) -> None:
    assert SessionManager(counting).cookie_name == "__Host-session"
    assert SessionManager(counting, cookie_domain="example.org").cookie_name == "session"
    assert SessionManager(counting, cookie_path="/app").cookie_name == "session"
    assert SessionManager(counting, cookie_name="sid", secure=False).cookie_name == "sid"


@pytest.mark.parametrize(
    "sent", ["chosen-by-the-client", "A" * 43, "x" * 44, "", "ü" * 43, "a b" * 20]
)
def test_an_id_the_store_never_issued_is_never_used(
    client: Client, counting: Any, driver: Driver, clock: Any, sent: str
) -> None:
    client.set_cookie(COOKIE, sent, domain="localhost")
    assert state(client) == {}
    well_formed = re.fullmatch(r"[A-Za-z0-9_-]{43}", sent) is not None
    assert counting.calls == (["load"] if well_formed else [])  # malformed: not even looked up
    if well_formed:  # loading created nothing
        assert driver.load(key_of(sent), clock()) is None
    issued = issued_id(setvalue(client, a=1))
    assert issued != sent
    assert state(client) == {"a": 1}


# rotate, destroy, revoke


def test_rotate_gives_a_new_id_with_the_same_data_and_the_old_id_dies(client: Client) -> None:
    old = issued_id(setvalue(client, cart=["apple"]))
    login = post(client, "/login", user="alice")
    new = issued_id(login)
    assert new != old
    assert state(client) == {"cart": ["apple"]}
    assert client.get("https://localhost/user").text == "alice"
    client.set_cookie(COOKIE, old, domain="localhost")  # replaying the pre-login cookie
    assert state(client) == {}


def test_destroy_deletes_the_record_and_replay_fails(
    client: Client, driver: Driver, clock: Any
) -> None:
    old = issued_id(setvalue(client, a=1))
    post(client, "/logout")
    assert driver.load(key_of(old), clock()) is None
    client.set_cookie(COOKIE, old, domain="localhost")
    assert state(client) == {}


def test_revoke_user_signs_a_user_out_everywhere(make_app: Any, manager: SessionManager) -> None:
    app = make_app(manager, SITE)
    phone, laptop, other = browse(app), browse(app), browse(app)
    for browser, user in [(phone, "alice"), (laptop, "alice"), (other, "bob")]:
        setvalue(browser, a=1)
        post(browser, "/login", user=user)
    assert post(other, "/revoke", user="alice").text == "2"
    assert state(phone) == {}
    assert state(laptop) == {}
    assert state(other) == {"a": 1}
    assert other.get("https://localhost/user").text == "bob"


def test_a_destroyed_session_is_never_resurrected_by_a_concurrent_save(
    manager: SessionManager, driver: Driver, clock: Any
) -> None:
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request, Response

    first = manager.begin(Request(EnvironBuilder().get_environ()))
    first["main"]["a"] = 1
    created = Response()
    first.finish(created)
    cookie = f"{COOKIE}={issued_id(created)}"
    environ = EnvironBuilder(headers={"Cookie": cookie}).get_environ()
    slow = manager.begin(Request(environ))
    assert slow["main"]["a"] == 1  # loaded before the logout
    logout = manager.begin(Request(environ))
    logout.destroy()
    logout.finish(Response())
    slow["main"]["b"] = 2  # saved after it
    slow_response = Response()
    slow.finish(slow_response)
    assert "Set-Cookie" not in slow_response.headers
    assert driver.load(key_of(issued_id(created)), clock()) is None
    again = manager.begin(Request(environ))
    assert dict(again["main"]) == {}


# stores


def test_in_tells_whether_a_store_holds_anything(manager: SessionManager) -> None:
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    session = manager.begin(Request(EnvironBuilder().get_environ()))
    assert "shop" not in session
    session["shop"]["cart"] = []
    assert "shop" in session
    assert 42 not in session


def test_stores_keep_their_keys_apart(client: Client) -> None:
    setvalue(client, "shop", item="cart")
    setvalue(client, "forum", item="thread")
    assert state(client, "shop") == {"item": "cart"}
    assert state(client, "forum") == {"item": "thread"}
    assert state(client) == {}


def test_a_store_may_lapse_before_the_session(make_app: Any, counting: Any, clock: Any) -> None:
    manager = SessionManager(
        counting, clock=clock, idle_timeout=600, stores={"main": None, "cart": 60}
    )
    client = browse(make_app(manager, SITE))
    setvalue(client, "cart", apple=1)
    setvalue(client, "main", name="Ada")
    clock.advance(59)
    assert state(client, "cart") == {"apple": 1}
    clock.advance(2)
    assert state(client, "cart") == {}  # lapsed 60 s after it was written
    assert state(client, "main") == {"name": "Ada"}
    setvalue(client, "cart", pear=1)  # a lapsed store starts empty again
    assert state(client, "cart") == {"pear": 1}


def test_configured_stores_refuse_other_names(
    make_app: Any, counting: Any, clock: Any, records: Any
) -> None:
    manager = SessionManager(counting, clock=clock, stores={"main": None})
    client = browse(make_app(manager, SITE))
    assert client.get("https://localhost/get?store=shpo").status_code == 500
    assert any(
        "no session store `shpo`; the stores configured are `main`" in str(r.exc_info)
        for r in records.records
    )


@pytest.mark.parametrize("name", ["_flash", "9lives", "a b", "x" * 65])
def test_invalid_store_names_are_refused(client: Client, records: Any, name: str) -> None:
    assert client.get("https://localhost/get", query_string={"store": name}).status_code == 500
    assert any("is not a valid session store name" in str(r.exc_info) for r in records.records)


def test_changes_inside_a_value_are_saved(client: Client) -> None:
    post(client, "/append", item="a")
    post(client, "/append", item="b")
    assert state(client) == {"list": ["a", "b"]}


# timeouts


def test_the_idle_timeout_ends_a_session_on_the_server(client: Client, clock: Any) -> None:
    setvalue(client, a=1)
    clock.advance(599)
    assert state(client) == {"a": 1}  # used: idle time starts again
    clock.advance(599)
    assert state(client) == {"a": 1}
    clock.advance(600)
    assert state(client) == {}


def stored_expiry(driver: Driver, client: Client, clock: Any) -> float:
    """The idle expiry the store holds for the client's session, read directly."""
    cookie = client.get_cookie(COOKIE, domain="localhost")
    assert cookie is not None
    record = driver.load(key_of(cookie.value), clock())
    assert record is not None
    return record.expires


def test_a_read_writes_nothing_while_the_expiry_is_not_due(
    client: Client, counting: Any, driver: Driver, clock: Any
) -> None:
    """idle 600 s, so a refresh interval of 60 s: reads within it are one load and no more."""
    setvalue(client, a=1)
    created = clock()
    for _ in range(6):
        clock.advance(10)
        counting.calls.clear()
        assert state(client) == {"a": 1}
        assert counting.calls == ["load"]
    assert stored_expiry(driver, client, clock) == created + 600  # never moved by a read


def test_a_read_after_the_interval_moves_the_expiry_once(
    client: Client, counting: Any, driver: Driver, clock: Any
) -> None:
    setvalue(client, a=1)
    clock.advance(61)  # more than the interval since the expiry was set
    counting.calls.clear()
    assert state(client) == {"a": 1}
    assert counting.calls == ["load", "touch"]
    assert stored_expiry(driver, client, clock) == clock() + 600
    counting.calls.clear()
    clock.advance(30)
    assert state(client) == {"a": 1}
    assert counting.calls == ["load"]  # moved 30 s ago: not due again yet
    clock.advance(31)
    counting.calls.clear()
    setvalue(client, b=2)  # due, but a write moves it in the same round trip
    assert counting.calls == ["load", "write"]
    assert stored_expiry(driver, client, clock) == clock() + 600


def test_a_failed_read_still_moves_a_due_expiry_but_saves_nothing(
    client: Client, counting: Any, driver: Driver, clock: Any
) -> None:
    setvalue(client, a=1)
    clock.advance(100)
    counting.calls.clear()
    assert post(client, "/busy").status_code == 503
    assert counting.calls == ["load", "touch"]
    assert stored_expiry(driver, client, clock) == clock() + 600
    assert state(client) == {"a": 1}


def test_a_touch_that_finds_the_store_down_is_logged_and_the_response_kept(
    manager: SessionManager, driver_kit: DriverKit, clock: Any, records: Any
) -> None:
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request, Response

    manager.logger.addHandler(records)
    try:
        first = manager.begin(Request(EnvironBuilder().get_environ()))
        first["main"]["a"] = 1
        created = Response()
        first.finish(created)
        cookie = f"{COOKIE}={issued_id(created)}"
        clock.advance(100)  # the expiry is due to move
        environ = EnvironBuilder(headers={"Cookie": cookie}).get_environ()
        reading = manager.begin(Request(environ))
        assert reading["main"]["a"] == 1
        response = Response("the page")
        with driver_kit.outage():
            reading.finish(response)  # the touch fails: logged, nothing raised
    finally:
        manager.logger.removeHandler(records)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert any(
        "the session store is unavailable; expiry not moved" in message
        for message in records.messages(logging.ERROR)
    )
    again = manager.begin(Request(environ))
    assert again["main"]["a"] == 1  # still live: its expiry is the one it had


def test_refresh_interval_zero_moves_the_expiry_on_every_read(
    make_app: Any, counting: Any, clock: Any, driver: Driver
) -> None:
    manager = SessionManager(counting, clock=clock, idle_timeout=600, refresh_interval=0)
    client = browse(make_app(manager, SITE))
    setvalue(client, a=1)
    for _ in range(3):
        clock.advance(1)
        counting.calls.clear()
        assert state(client) == {"a": 1}
        assert counting.calls == ["load", "touch"]
        assert stored_expiry(driver, client, clock) == clock() + 600


@pytest.mark.parametrize("refresh", [None, 0.0, 299.0])
def test_the_idle_timeout_holds_within_the_refresh_interval(
    make_app: Any, counting: Any, clock: Any, refresh: float | None
) -> None:
    """After each read at time u, the session is still there at any time before
    u + idle - interval and gone at u + idle: reads a little under and over the interval keep
    it alive well past the idle timeout, then gaps near the bounds are checked."""
    manager = SessionManager(
        counting, clock=clock, idle_timeout=600, absolute_timeout=36000, refresh_interval=refresh
    )
    interval = manager.refresh_interval
    client = browse(make_app(manager, SITE))
    setvalue(client, a=1)
    # busy: reads just under and just over the interval for well over the idle timeout
    gaps = [interval - 1, interval + 1] * 12 if interval else [59.0, 61.0] * 12
    gaps += [600 - interval - 1, 1, 300, 600 - interval - 0.5, 10, 10]
    for gap in gaps:
        clock.advance(gap)
        assert state(client) == {"a": 1}, (gap, clock())
    clock.advance(600)  # idle for the whole timeout: gone, whatever the interval
    assert state(client) == {}


def test_the_absolute_timeout_ends_even_a_busy_session(client: Client, clock: Any) -> None:
    setvalue(client, a=1)
    for _ in range(11):
        clock.advance(300)
        assert state(client) == {"a": 1}
    clock.advance(300)  # 3600 s after it began
    assert state(client) == {}


def test_purge_deletes_expired_sessions(make_app: Any, manager: SessionManager, clock: Any) -> None:
    app = make_app(manager, SITE)
    for _ in range(3):
        setvalue(browse(app), a=1)
    clock.advance(601)
    live = browse(app)
    setvalue(live, a=2)
    assert manager.purge() == 3
    assert manager.purge() == 0
    assert state(live) == {"a": 2}


# JSON only, size


def test_values_must_be_json(client: Client, records: Any, manager: SessionManager) -> None:
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    session = manager.begin(Request(EnvironBuilder().get_environ()))
    with pytest.raises(TypeError, match=r"session store `main`, key 'when': only JSON values"):
        session["main"]["when"] = {1, 2}
    with pytest.raises(TypeError, match=r"keys must be strings, not 1"):
        session["main"][1] = "x"  # type: ignore[index]
    with pytest.raises(TypeError, match=r"only JSON values"):
        session["main"]["nan"] = float("nan")


def test_a_planted_pickle_is_never_unpickled(
    client: Client, driver_kit: DriverKit, tmp_path: Path
) -> None:
    marker = tmp_path / "unpickled"

    class Exploit:
        def __reduce__(self) -> tuple[Any, tuple[str]]:
            return (Path.touch, (str(marker),))

    payload = pickle.dumps(Exploit())
    session_id = "P" * 43
    driver_kit.plant(key_of(session_id), payload)
    client.set_cookie(COOKIE, session_id, domain="localhost")
    assert state(client) == {}
    assert state(client, "planted") == {}
    assert not marker.exists()
    issued = issued_id(setvalue(client, a=1))
    assert issued != session_id


def test_an_oversized_session_is_a_clear_error(
    make_app: Any, counting: Any, clock: Any, records: Any
) -> None:
    manager = SessionManager(counting, clock=clock, max_size=200)
    client = browse(make_app(manager, SITE))
    setvalue(client, a="x" * 100)
    too_big = setvalue(client, b="y" * 120)
    assert too_big.status_code == 500
    assert any(
        re.search(r"the session would hold \d+ bytes of JSON, over `max_size` \(200\)", m)
        for m in [str(r.exc_info) for r in records.records]
    )
    assert state(client) == {"a": "x" * 100}  # nothing of it was saved
    one_value = setvalue(client, c="z" * 300)
    assert one_value.status_code == 500
    assert any("key 'c': 302 bytes of JSON" in str(r.exc_info) for r in records.records)


# failures


@pytest.mark.parametrize("path", ["/boom", "/busy"])
def test_nothing_is_saved_when_the_handler_raised_or_the_status_is_5xx(
    client: Client, counting: Any, path: str
) -> None:
    failed = post(client, path)
    assert failed.status_code in (500, 503)
    assert "Set-Cookie" not in failed.headers  # not even a new session
    assert "create" not in counting.calls
    setvalue(client, a=1)
    post(client, path)
    assert state(client) == {"a": 1}


def test_an_outage_answers_503_logged_with_the_request_id_and_then_recovers(
    client: Client, driver_kit: DriverKit, records: Any
) -> None:
    setvalue(client, a=1)
    with driver_kit.outage():
        down = client.get("https://localhost/get", headers={"X-Request-ID": "outage-1"})
        assert down.status_code == 503
        assert "session store is unavailable" in down.text
        assert client.get("https://localhost/").status_code == 200  # untouched: unaffected
    (logged,) = [r for r in records.records if "the session store is unavailable" in r.getMessage()]
    assert logged.levelno == logging.ERROR
    assert logged.request_id == "outage-1"
    assert state(client) == {"a": 1}
    setvalue(client, b=2)
    assert state(client) == {"a": 1, "b": 2}


def test_an_outage_while_saving_answers_503_and_saves_nothing(
    client: Client, driver_kit: DriverKit
) -> None:
    setvalue(client, a=1)
    with driver_kit.outage():
        assert setvalue(client, a=2).status_code == 503
        fresh = browse_like(client)
        assert setvalue(fresh, a=3).status_code == 503  # a new session cannot be created
    assert state(client) == {"a": 1}


def browse_like(client: Client) -> Client:
    return Client(client.application)


def test_an_outage_may_give_an_empty_read_only_session(
    make_app: Any, counting: Any, clock: Any, driver_kit: DriverKit
) -> None:
    manager = SessionManager(counting, clock=clock, on_outage="empty")
    client = browse(make_app(manager, SITE))
    setvalue(client, a=1)
    with driver_kit.outage():
        assert state(client) == {}  # empty, and the page still renders
        assert setvalue(client, a=2).status_code == 503  # but it cannot be written
    assert state(client) == {"a": 1}


# flash and CSRF


def test_flash_messages_are_shown_once(client: Client) -> None:
    post(client, "/flash", message="Saved.")
    post(client, "/flash", message="Check your mail.", category="info")
    assert json.loads(client.get("https://localhost/flashes").text) == [
        ["message", "Saved."],
        ["info", "Check your mail."],
    ]
    assert json.loads(client.get("https://localhost/flashes").text) == []


def test_the_csrf_token_is_tied_to_the_session(make_app: Any, manager: SessionManager) -> None:
    app = make_app(manager, SITE)
    client, other = browse(app), browse(app)
    token = client.get("https://localhost/form").text
    assert len(token) >= 43
    assert client.get("https://localhost/form").text == token  # stable within the session
    assert post(client, "/form", csrf_token=token).text == "accepted"
    header = client.post("https://localhost/form", headers={"X-CSRF-Token": token})
    assert header.text == "accepted"
    assert post(client, "/form").status_code == 403
    assert post(client, "/form", csrf_token=token[:-1] + "x").status_code == 403
    other_token = other.get("https://localhost/form").text
    assert other_token != token
    assert post(other, "/form", csrf_token=token).status_code == 403  # another session's
    post(client, "/logout")
    assert post(client, "/form", csrf_token=token).status_code == 403  # the session ended


# concurrency, against the real store


def _in_threads(count: int, work: Any) -> None:
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            work(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 6 * TIMEOUT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "the threads did not finish in time"
    assert not errors, errors


def test_parallel_writes_to_different_keys_are_never_lost(make_app: Any, driver: Driver) -> None:
    manager = SessionManager(driver)  # the real clock
    app = make_app(manager, SITE)
    client = browse(app)
    session_id = issued_id(setvalue(client, start=0))
    rounds = 60

    def bump(index: int) -> None:
        browser = Client(app)
        browser.set_cookie(COOKIE, session_id, domain="localhost")
        for _ in range(rounds):
            response = post(browser, "/bump", key=f"k{index}")
            assert response.status_code == 200, response.text

    _in_threads(2, bump)
    assert state(client) == {"start": 0, "k0": rounds, "k1": rounds}


def test_transact_is_an_exact_read_modify_write(make_app: Any, driver: Driver) -> None:
    manager = SessionManager(driver)
    app = make_app(manager, SITE)
    client = browse(app)
    session_id = issued_id(setvalue(client, start=0))

    def count(_: int) -> None:
        browser = Client(app)
        browser.set_cookie(COOKIE, session_id, domain="localhost")
        for _ in range(100):
            response = post(browser, "/count")
            assert response.status_code == 200, response.text

    _in_threads(8, count)
    assert state(client, "counter") == {"n": 800}
