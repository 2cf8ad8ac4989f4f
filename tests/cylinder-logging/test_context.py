from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

from cylinder_logging import LogService, current_request_id, request_scope

TIMEOUT = 10.0


def log_from_helper(logger: logging.Logger) -> None:
    logger.info("from helper")


def test_no_request_id_outside_a_scope() -> None:
    assert current_request_id() is None


def test_scope_sets_and_restores_the_request_id() -> None:
    with request_scope("outer"):
        assert current_request_id() == "outer"
        with request_scope("inner"):
            assert current_request_id() == "inner"
        assert current_request_id() == "outer"
    assert current_request_id() is None


def test_scope_restores_the_request_id_after_an_exception() -> None:
    with pytest.raises(RuntimeError, match="boom"), request_scope("failing"):
        raise RuntimeError("boom")
    assert current_request_id() is None


def test_request_id_reaches_records_from_the_request_and_its_helpers(
    make_service: Callable[..., LogService], make_recorder: Callable[..., Any]
) -> None:
    recorder = make_recorder()
    service = make_service(handler=recorder)
    with request_scope("req-1"):
        service.logger.info("in request")
        log_from_helper(service.logger)
    service.logger.info("after request")
    assert service.drain(TIMEOUT)
    assert [(r.getMessage(), r.request_id) for r in recorder.records] == [
        ("in request", "req-1"),
        ("from helper", "req-1"),
        ("after request", "-"),
    ]
    assert recorder.lines[0].splitlines()[0].endswith(" req-1")


def test_other_threads_do_not_see_a_request_id(
    make_service: Callable[..., LogService], make_recorder: Callable[..., Any]
) -> None:
    recorder = make_recorder()
    service = make_service(handler=recorder)
    ids_seen: list[str | None] = []

    def background() -> None:
        ids_seen.append(current_request_id())
        service.logger.info("background")

    with request_scope("req-1"):
        worker = threading.Thread(target=background)
        worker.start()
        worker.join(TIMEOUT)
        service.logger.info("request")
    assert not worker.is_alive()
    assert service.drain(TIMEOUT)
    assert ids_seen == [None]
    assert {r.getMessage(): r.request_id for r in recorder.records} == {
        "background": "-",
        "request": "req-1",
    }


def test_concurrent_requests_keep_their_own_ids(
    make_service: Callable[..., LogService], make_recorder: Callable[..., Any]
) -> None:
    recorder = make_recorder()
    service = make_service(handler=recorder, queue_length=0)
    threads, per_thread = 8, 200
    inside = threading.Barrier(threads)

    def request(number: int) -> None:
        with request_scope(f"req-{number}"):
            inside.wait(TIMEOUT)  # every thread is inside its scope at once
            for _ in range(per_thread):
                log_from_helper(service.logger)
                service.logger.info("thread %d", number)

    workers = [threading.Thread(target=request, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(TIMEOUT)
        assert not worker.is_alive()
    assert service.drain(TIMEOUT)
    assert service.dropped == 0
    assert len(recorder.records) == threads * per_thread * 2
    for record in recorder.records:
        if record.getMessage() != "from helper":
            assert record.request_id == "req-" + record.getMessage().removeprefix("thread ")
    by_id: dict[str, int] = {}
    for record in recorder.records:
        by_id[record.request_id] = by_id.get(record.request_id, 0) + 1
    assert by_id == {f"req-{n}": per_thread * 2 for n in range(threads)}
