"""What the SQLite driver adds to the contract: WAL, processes, purging, its settings."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cylinder_sessions import Record, SQLiteDriver, StoreRecord, key_of, new_id
from cylinder_sessions.purge import main as purge_main

NOW = 1_000_000.0

#: Every wait in these tests gives up after this many seconds.
TIMEOUT = 60.0


def test_the_database_is_in_wal_mode_with_an_index_on_expiry(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    driver = SQLiteDriver(path)
    driver.purge(NOW)
    driver.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(cylinder_sessions)")}
    conn.close()
    assert "cylinder_sessions_expires" in indexes
    assert "cylinder_sessions_user" in indexes


COUNTER = """
import sys
from cylinder_sessions import SQLiteDriver, StoreWrite, Written

driver = SQLiteDriver(sys.argv[1])
key = sys.argv[2]
for _ in range(int(sys.argv[3])):
    record = driver.load(key, 1_000_000.0)
    while True:
        store = record.stores["counter"]
        n = int(store.data)
        result = driver.write(
            key, {"counter": StoreWrite(store.version, str(n + 1))}, 1_000_000.0, 600.0
        )
        if result.outcome is Written.OK:
            break
        record = result.current
driver.close()
"""


def test_processes_share_one_file_without_losing_a_write(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    key = key_of(new_id())
    driver = SQLiteDriver(path)
    driver.create(key, Record(None, NOW, NOW + 3600, NOW + 600, {"counter": StoreRecord("0", 1)}))
    script = tmp_path / "counter.py"
    script.write_text(textwrap.dedent(COUNTER), encoding="utf-8")
    workers = [
        subprocess.Popen([sys.executable, str(script), str(path), key, "50"]) for _ in range(3)
    ]
    try:
        for worker in workers:
            assert worker.wait(TIMEOUT) == 0
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    loaded = driver.load(key, NOW)
    assert loaded is not None
    assert loaded.stores["counter"] == StoreRecord("150", 151)
    driver.close()


def test_purge_as_requests_go(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    driver = SQLiteDriver(path, purge_interval=60)
    old = key_of(new_id())
    driver.create(old, Record(None, NOW, NOW + 10, NOW + 10, {}))  # purges (nothing) first time
    driver.create(key_of(new_id()), Record(None, NOW + 30, NOW + 999, NOW + 999, {}))
    assert _rows(path) == 2  # expired, but the last purge was only 30 s ago
    driver.create(key_of(new_id()), Record(None, NOW + 61, NOW + 999, NOW + 999, {}))
    assert _rows(path) == 2  # the expired one is gone
    driver.close()


def _rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM cylinder_sessions").fetchone()
    conn.close()
    return int(count)


def test_the_purge_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.sqlite"
    driver = SQLiteDriver(path)
    for _ in range(4):
        driver.create(key_of(new_id()), Record(None, 0.0, 10.0, 10.0, {}))  # long expired
    driver.create(key_of(new_id()), Record(None, 0.0, 1e12, 1e12, {}))
    driver.close()
    assert purge_main([str(path)]) == 0
    assert capsys.readouterr().out == f"4 expired session(s) deleted from {path}\n"
    assert _rows(path) == 1


def test_the_purge_command_reports_a_database_it_cannot_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert purge_main([str(tmp_path)]) == 1  # a folder, not a database
    assert capsys.readouterr().err.startswith(f"cannot purge {str(tmp_path)!r}: ")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"busy_timeout": -1}, r"`busy_timeout` must be 0 or more seconds, not -1"),
        ({"purge_interval": 0}, r"`purge_interval` must be more than 0 seconds, not 0"),
    ],
)
def test_bad_settings_are_refused(tmp_path: Path, options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SQLiteDriver(tmp_path / "s.sqlite", **options)  # type: ignore[arg-type]
