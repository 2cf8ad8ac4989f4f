"""Application.provide: a named parameter per request, finished after the late hook."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from records_support import Records
from site_support import write_files
from werkzeug.exceptions import ServiceUnavailable
from werkzeug.wrappers import Request, Response

from cylinder_runtime import Application


class Tracker:
    """A provided value that records what happened to it, in order."""

    def __init__(self, request: Request, events: list[str]) -> None:
        self.request = request
        self.events = events
        events.append(f"start {request.path}")

    def note(self, what: str) -> None:
        self.events.append(what)


@pytest.fixture
def records() -> Records:
    return Records()


@pytest.fixture
def make_app(
    tmp_path: Path, records: Records, make_app: Callable[..., Application]
) -> Callable[..., Application]:
    """Builds an application over ``<tmp>/site`` with the given files and ``extras``."""
    build = make_app

    def make(files: dict[str, str], extras: dict[str, object] | None = None) -> Application:
        write_files(tmp_path, files)

        def app_map() -> tuple[str, str, dict[str, object]]:
            return str(tmp_path), "site", dict(extras or {})

        return build(app_map, log_handler=records)

    return make


HOOKED = {
    "site.eh.get.py": "def main(response, tracker):\n    tracker.note('early')\n"
    "    return response\n",
    "site.lh.get.py": "def main(response, tracker):\n    tracker.note('late')\n"
    "    return response\n",
    "site.ex.get.py": "def main(response, tracker):\n    tracker.note('handler')\n"
    "    response.data = 'ok'\n    return response\n",
    "site/boom.ex.get.py": "def main(response):\n    raise RuntimeError('boom')\n",
    "site/gone.ex.get.py": "def main(abort):\n    abort(404)\n",
    "site/away.ex.get.py": "def main(abort):\n    abort(303, '/')\n",
    "site/busy.ex.get.py": "def main(response):\n    response.status_code = 503\n"
    "    return response\n",
    "site/calm/boom.ex.get.py": "def main(response):\n    raise RuntimeError('boom')\n",
    "site/calm.500.py": "def main(response):\n    response.status_code = 200\n"
    "    response.data = 'all is well'\n    return response\n",
}


def provide_tracker(app: Application, events: list[str]) -> None:
    def start(request: Request, response: Response) -> Tracker:
        return Tracker(request, events)

    def finish(value: object, response: Response, failed: bool) -> None:
        assert isinstance(value, Tracker)
        value.note(f"finish {response.status_code} failed={failed}")

    app.provide("tracker", start, finish)


def test_one_value_per_request_seen_by_every_step_then_finished(
    make_app: Callable[..., Application],
) -> None:
    app = make_app(HOOKED)
    events: list[str] = []
    provide_tracker(app, events)  # after construction: the pipeline sees it
    assert app.test_client().get("/").text == "ok"
    assert events == ["start /", "early", "handler", "late", "finish 200 failed=False"]


@pytest.mark.parametrize(
    ("path", "finished"),
    [
        ("/boom", "finish 500 failed=True"),  # the handler raised
        ("/gone", "finish 404 failed=False"),  # an HTTP error is an answer, not a failure
        ("/away", "finish 303 failed=False"),
        ("/busy", "finish 503 failed=True"),  # a 5xx, however it was made
        ("/calm/boom", "finish 200 failed=True"),  # raised, though the 500 handler hid it
    ],
)
def test_finish_is_told_whether_the_request_failed(
    make_app: Callable[..., Application], path: str, finished: str
) -> None:
    app = make_app(HOOKED)
    events: list[str] = []
    provide_tracker(app, events)
    app.test_client().get(path)
    assert events[-1] == finished
    assert events[-2] == "late"  # after the late hook, whatever happened before


def test_finish_runs_in_the_requests_logging_scope(
    make_app: Callable[..., Application], records: Records
) -> None:
    app = make_app(HOOKED)

    def finish(value: object, response: Response, failed: bool) -> None:
        app.logger.warning("finishing")

    app.provide("tracker", lambda request, response: Tracker(request, []), finish)
    app.test_client().get("/", headers={"X-Request-ID": "req-7"})
    (record,) = [r for r in records.records if r.getMessage() == "finishing"]
    assert record.request_id == "req-7"  # type: ignore[attr-defined]


def test_a_failing_finish_becomes_an_error_response_and_a_log_record(
    make_app: Callable[..., Application], records: Records
) -> None:
    app = make_app(HOOKED)

    def unavailable(value: object, response: Response, failed: bool) -> None:
        raise ServiceUnavailable("the store is down")

    def broken(value: object, response: Response, failed: bool) -> None:
        raise KeyError("bug")

    app.provide("tracker", lambda request, response: Tracker(request, []), unavailable)
    app.provide("other", lambda request, response: None, broken)
    response = app.test_client().get("/")
    assert response.status_code == 503  # the first error decides the answer
    assert "the store is down" in response.text
    messages = [r.getMessage() for r in records.records if r.levelno == logging.ERROR]
    assert any("finishing parameter `tracker` failed" in m for m in messages)
    assert any("finishing parameter `other` failed" in m for m in messages)  # both ran


def test_not_started_when_app_map_fails(tmp_path: Path, records: Records) -> None:
    events: list[str] = []

    def app_map() -> Any:
        raise RuntimeError("no site")

    app = Application(app_map, log_handler=records)
    try:
        provide_tracker(app, events)
        assert app.test_client().get("/").status_code == 500
    finally:
        app.close()
    assert events == []


def test_an_app_map_extra_of_the_same_name_wins(make_app: Callable[..., Application]) -> None:
    events: list[str] = []
    handler = "def main(response, tracker):\n    response.data = tracker\n    return response\n"
    app = make_app({"site.ex.get.py": handler}, extras={"tracker": "from app_map"})
    provide_tracker(app, events)
    assert app.test_client().get("/").text == "from app_map"
    assert events == []  # never started, so never finished


def test_a_handler_asking_for_a_missing_parameter_sees_the_provided_names(
    make_app: Callable[..., Application], records: Records
) -> None:
    handler = "def main(response, sesion):\n    return response\n"
    app = make_app({"site.ex.get.py": handler})
    app.provide("session", lambda request, response: object())
    assert app.test_client().get("/").status_code == 500
    assert any("did you mean `session`" in str(r.exc_info) for r in records.records)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("request", r"provided parameter `request` reuses a built-in name"),
        ("e", r"provided parameter `e` reuses a built-in name"),
        ("not a name", r"needs a valid parameter name, not 'not a name'"),
        ("tracker", r"parameter `tracker` is provided already"),
    ],
)
def test_bad_names_are_refused(
    make_app: Callable[..., Application], name: str, message: str
) -> None:
    app = make_app(HOOKED)
    provide_tracker(app, [])
    with pytest.raises(ValueError, match=message):
        app.provide(name, lambda request, response: None)


def test_start_and_finish_must_be_callable(make_app: Callable[..., Application]) -> None:
    app = make_app(HOOKED)
    with pytest.raises(TypeError, match=r"`start` for parameter `x` must be callable"):
        app.provide("x", "nope")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"`finish` for parameter `x` must be callable"):
        app.provide("x", lambda request, response: None, 42)  # type: ignore[arg-type]
