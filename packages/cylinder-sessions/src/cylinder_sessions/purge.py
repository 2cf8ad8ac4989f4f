"""Delete expired sessions from a SQLite store: ``python -m cylinder_sessions.purge FILE``.

Run it from cron or a systemd timer (every few minutes is plenty); it prints how many records
it deleted. Other drivers have their own ``purge()``, or expire records by themselves.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from .sqlite import SQLiteDriver

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Purge the SQLite session file named in ``argv``; the process's exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m cylinder_sessions.purge", description="Delete expired sessions."
    )
    parser.add_argument("database", help="the SQLite file the sessions are kept in")
    args = parser.parse_args(argv)
    driver = SQLiteDriver(args.database)
    try:
        removed = driver.purge(time.time())
    except Exception as exc:
        print(f"cannot purge {args.database!r}: {exc}", file=sys.stderr)
        return 1
    finally:
        driver.close()
    print(f"{removed} expired session(s) deleted from {args.database}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
