"""What a test suite needs to run the conformance tests against a driver."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from .driver import Driver

__all__ = ["DriverKit"]


@dataclass(frozen=True)
class DriverKit:
    """A driver under test and the means to do to its store what a test needs.

    :param driver: the driver, on a store of its own for this test.
    :param outage: a context manager inside which the backing store is really unavailable
        (a held lock, a stopped server, a refused connection), and usable again after.
    :param plant: ``plant(key, payload)`` writes a live record under ``key`` whose store data
        is ``payload``, as raw as the backend allows, bypassing the driver.
    """

    driver: Driver
    outage: Callable[[], AbstractContextManager[None]]
    plant: Callable[[str, bytes], None]
