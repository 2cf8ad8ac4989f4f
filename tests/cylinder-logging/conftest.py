"""Shared helpers: a handler that records (and can block), and services stopped after each test."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cylinder_logging import LogService

#: Every wait in these tests is bounded by this many seconds; none is expected to come close.
TIMEOUT = 10.0


class Recorder(logging.Handler):
    """Keeps what it handles; while ``blocking``, each record waits in ``emit`` for ``gate``."""

    def __init__(self, *, blocking: bool = False, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.blocking = blocking
        self._arrived = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        if self.blocking and not self.gate.is_set():
            self.entered.set()
            if not self.gate.wait(TIMEOUT):
                raise AssertionError("the test never opened the gate")
        line = self.format(record)
        with self._arrived:
            self.records.append(record)
            self.lines.append(line)
            self._arrived.notify_all()

    def messages(self) -> list[str]:
        with self._arrived:
            return [record.getMessage() for record in self.records]

    def wait_for(self, count: int) -> bool:
        """Wait until ``count`` records were handled."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.records) >= count, TIMEOUT)

    def release(self) -> None:
        self.gate.set()


@pytest.fixture
def make_recorder() -> Callable[..., Recorder]:
    """Return the :class:`Recorder` class, for tests to make handlers with."""
    return Recorder


@pytest.fixture
def make_service() -> Iterator[Callable[..., LogService]]:
    """Return a factory of started services; each is released and stopped after the test."""
    made: list[tuple[LogService, logging.Handler | None]] = []

    def make(*, start: bool = True, **options: Any) -> LogService:
        service = LogService(options.pop("name", "test"), **options)
        made.append((service, options.get("handler")))
        if start:
            service.start()
        return service

    yield make
    for service, handler in made:
        if isinstance(handler, Recorder):
            handler.release()
        assert service.stop(TIMEOUT), f"{service!r} did not stop"
