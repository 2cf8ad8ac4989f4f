"""A log handler that keeps the records it is given, for tests that check what was logged
(pytest.ini puts this folder on the path of every package's tests)."""

from __future__ import annotations

import logging


class Records(logging.Handler):
    """Keeps every record it is given, in order, in :attr:`records`.

    :param level: the lowest level kept; every record by default.
    """

    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self) -> list[str]:
        """The records' messages, formatted with their arguments."""
        return [record.getMessage() for record in self.records]
