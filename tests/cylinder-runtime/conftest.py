"""Fixtures for the runtime's tests: applications that are closed (with their log threads) once
the test ends. Modules that build sites override ``make_app`` with one that writes the files and
asks for this one."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from cylinder_runtime import Application


@pytest.fixture
def make_app() -> Iterator[Callable[..., Application]]:
    """Builds applications (``app_map`` and the options of :class:`Application`) that wait for
    their log records, and closes every one of them at the end."""
    apps: list[Application] = []

    def make(app_map: Callable[..., object], **options: object) -> Application:
        app = Application(app_map, **options)  # type: ignore[arg-type]
        app.wait_for_logs = True
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()
