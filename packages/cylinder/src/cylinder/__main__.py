"""``python -m cylinder`` and the ``cylinder`` console script."""

from __future__ import annotations

import sys

from cylinder.cli import main as _run

__all__ = ["main"]


def main() -> int:
    """Run the ``cylinder`` command with ``sys.argv`` and return its exit code."""
    return _run(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
