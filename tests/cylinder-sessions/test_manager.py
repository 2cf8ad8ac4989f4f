"""SessionManager's settings: what it accepts, and the clear errors for what it does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cylinder_sessions import MemoryDriver, SessionManager, SQLiteDriver


def test_a_path_means_the_sqlite_driver(tmp_path: Path) -> None:
    manager = SessionManager(tmp_path / "s.sqlite")
    assert isinstance(manager.driver, SQLiteDriver)
    assert manager.driver.path == tmp_path / "s.sqlite"
    manager.close()


def test_the_defaults_are_the_secure_ones() -> None:
    manager = SessionManager(MemoryDriver())
    assert manager.secure
    assert manager.cookie_name == "__Host-session"
    assert manager.same_site == "Lax"
    assert manager.idle_timeout == 1800
    assert manager.absolute_timeout == 8 * 3600
    assert manager.refresh_interval == 180  # a tenth of the idle timeout
    assert SessionManager(MemoryDriver(), idle_timeout=600).refresh_interval == 60
    assert SessionManager(MemoryDriver(), refresh_interval=0).refresh_interval == 0
    assert manager.on_outage == "error"


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"driver": 42}, TypeError, r"`driver` must be a session driver or the path of a SQLite"),
        ({"idle_timeout": 0}, ValueError, r"`idle_timeout` must be more than 0 seconds, not 0"),
        (
            {"idle_timeout": 60, "absolute_timeout": 30},
            ValueError,
            r"`absolute_timeout` \(30\) must be at least `idle_timeout` \(60\)",
        ),
        (
            {"idle_timeout": 60, "refresh_interval": 60},
            ValueError,
            r"`refresh_interval` must be at least 0 and less than `idle_timeout` \(60\) "
            r"seconds, not 60",
        ),
        (
            {"refresh_interval": -1},
            ValueError,
            r"`refresh_interval` must be at least 0 and less than `idle_timeout` \(1800\)",
        ),
        (
            {"stores": {"cart": 0}},
            ValueError,
            r"store `cart`: its lifetime must be more than 0 and at most `absolute_timeout`",
        ),
        (
            {"stores": {"cart": 10**9}},
            ValueError,
            r"store `cart`: its lifetime must be more than 0",
        ),
        ({"stores": {"_x": None}}, KeyError, r"'_x' is not a valid session store name"),
        ({"cookie_name": "a;b"}, ValueError, r"`cookie_name` must be letters, digits"),
        ({"same_site": "lax"}, ValueError, r"`same_site` must be 'Lax', 'Strict' or 'None'"),
        (
            {"same_site": "None", "secure": False},
            ValueError,
            r"`same_site='None'` needs `secure=True`",
        ),
        ({"on_outage": "ignore"}, ValueError, r"`on_outage` must be 'error' or 'empty'"),
        ({"max_size": 10}, ValueError, r"`max_size` must be at least 64 bytes, not 10"),
        ({"parameter": "my session"}, ValueError, r"`parameter` must be a parameter name"),
    ],
)
def test_bad_settings_are_refused(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    driver = options.pop("driver", MemoryDriver())
    with pytest.raises(error, match=message):
        SessionManager(driver, **options)
