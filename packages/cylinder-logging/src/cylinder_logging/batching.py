"""The default handler: a stream handler that writes a batch of records at once.

The listener takes records from the queue in batches. A plain :class:`logging.StreamHandler`
makes one ``write`` (and one ``flush``) per record: one system call each, and each releases the
GIL, which costs the request threads waiting for it a hand-off between cores. A
:class:`BatchStreamHandler` passes every record through its filters and formatter, as
:meth:`logging.Handler.handle` would, joins the lines of up to :data:`CHUNK` records, and
writes them with one ``write`` and one ``flush``. The listener formats a batch a few records at
a time (:meth:`BatchStreamHandler.format_batch`), pausing between them so that a request thread
waiting for the GIL gets it (see :mod:`cylinder_logging.listening`), and writes the text of up
to :data:`CHUNK` records at once (:meth:`BatchStreamHandler.write_text`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TextIO

__all__ = ["CHUNK", "BatchStreamHandler"]

#: The most records written with one ``write``.
CHUNK = 32


class BatchStreamHandler(logging.StreamHandler[TextIO]):
    """A :class:`logging.StreamHandler` that can also write several records at once.

    :meth:`handle` and :meth:`emit` work as the base class's, one record at a time.
    """

    def handle_batch(self, records: Sequence[logging.LogRecord]) -> None:
        """Filter and format each record, then write all the lines with one ``write``.

        A record the filters reject is left out; a filter may return a replacement record, as
        :meth:`logging.Handler.handle` allows. A record that fails to format is reported with
        :meth:`handleError` and left out; a failing ``write`` is reported for the last record.

        :param records: the records, in order.
        """
        text, last = self.format_batch(records)
        if last is None:
            return
        try:
            self.write_text(text)
        except RecursionError:
            raise
        except Exception:
            self.handleError(last)

    def format_batch(
        self, records: Sequence[logging.LogRecord]
    ) -> tuple[str, logging.LogRecord | None]:
        """Filter and format each record as :meth:`handle_batch` does, without writing.

        The listener formats a batch a few records at a time and writes the text of up to
        :data:`CHUNK` records at once with :meth:`write_text`.

        :param records: the records, in order.
        :return: the lines of the records that passed, each ended by the terminator, and the
            last of those records (``None`` when none passed: there is nothing to write).
        """
        lines: list[str] = []
        last: logging.LogRecord | None = None
        terminator = self.terminator
        for record in records:
            passed = self.filter(record)
            if not passed:
                continue
            if isinstance(passed, logging.LogRecord):
                record = passed
            try:
                lines.append(self.format(record) + terminator)
            except RecursionError:
                raise
            except Exception:
                self.handleError(record)
                continue
            last = record
        return "".join(lines), last

    def write_text(self, text: str) -> None:
        """Write ``text`` (lines made by :meth:`format_batch`) with one ``write``, and flush.

        :param text: the lines.
        :raise Exception: what the stream raises; the caller reports it with
            :meth:`handleError` for a record of its choice.
        """
        with self.lock if self.lock is not None else _NO_LOCK:
            self.stream.write(text)
            self.flush()


class _NoLock:
    """A stand-in for a handler whose ``lock`` was set to ``None``."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_LOCK = _NoLock()
