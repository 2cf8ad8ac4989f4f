"""Fixtures for end-to-end tests: sites written into tmp_path, apps built with get_app."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from records_support import Records
from site_support import write_files
from werkzeug.test import Client

import cylinder

SiteFiles = Mapping[str, str]


@pytest.fixture
def sites(tmp_path: Path) -> Path:
    """``<tmp>/my_webapps``: the site_dir of every test site."""
    folder = tmp_path / "my_webapps"
    folder.mkdir()
    return folder


@pytest.fixture
def records() -> Records:
    return Records(logging.DEBUG)


AppFactory = Callable[..., cylinder.Application]


@pytest.fixture
def make_app(sites: Path, records: Records) -> Iterator[AppFactory]:
    """Build an app over ``sites`` with the given files; ``extras`` go to every main()."""
    apps: list[cylinder.Application] = []

    def build(
        files: SiteFiles | None = None,
        *,
        extras: Mapping[str, Any] | None = None,
        app_map: Callable[..., Any] | None = None,
        **options: Any,
    ) -> cylinder.Application:
        write_files(sites, files or {})
        if app_map is None:
            site_dir = str(sites)
            given = dict(extras or {})

            def app_map(request: Any) -> tuple[str, str, dict[str, Any]]:
                return site_dir, "webapp1", given

        options.setdefault("log_handler", records)
        app = cylinder.get_app(app_map, **options)
        app.wait_for_logs = True
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.close()


@pytest.fixture
def client_for(make_app: AppFactory) -> Callable[..., Client]:
    """Build an app from files and return its test client."""

    def build(files: SiteFiles | None = None, **kwargs: Any) -> Client:
        return make_app(files, **kwargs).test_client()

    return build


def _answer(text: str) -> str:
    return f"def main(response):\n    response.data = {text!r}\n    return response\n"


@pytest.fixture
def answer() -> Callable[[str], str]:
    """Source of a handler that answers ``text``."""
    return _answer
