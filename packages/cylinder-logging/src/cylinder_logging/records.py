"""Making a record ready to cross from the logging thread to the listener thread.

Everything that depends on the logging thread, or on objects the caller may change afterwards,
is settled here before the record is queued: the message is merged with its arguments, a
traceback is rendered to text, and the request id and timestamp are stamped on. The caller's
record is left untouched (other handlers on the same logger may still see it); a copy is queued
and nobody changes it until the listener formats it.
"""

from __future__ import annotations

import copy
import logging

from .context import current_request_id
from .formatting import timestamp_of

__all__ = ["NO_REQUEST_ID", "prepare_record"]

#: The ``request_id`` of records logged outside a request.
NO_REQUEST_ID = "-"


def prepare_record(
    record: logging.LogRecord, formatter: logging.Formatter | None
) -> logging.LogRecord:
    """Return a copy of ``record`` that is safe to queue and to handle in another thread.

    The copy has ``msg`` and ``message`` set to the merged message and ``args`` set to ``None``.
    A traceback is rendered now into ``exc_text``, which formatters print after the message
    instead of rendering ``exc_info`` again; ``exc_info`` is kept for handlers that want the
    exception itself (error trackers), so its frames live until the record is handled.
    ``request_id`` and ``timestamp`` are set unless the record already has them (e.g. from
    ``extra=``).

    :param record: the record as the logger made it, in the logging thread.
    :param formatter: the destination handler's formatter, whose ``formatException`` renders the
        traceback; the standard rendering when ``None``.
    """
    prepared = copy.copy(record)
    message = record.getMessage()
    prepared.msg = message
    prepared.message = message
    prepared.args = None
    if record.exc_info and not record.exc_text:
        prepared.exc_text = (formatter or logging.Formatter()).formatException(record.exc_info)
    fields = prepared.__dict__
    if "request_id" not in fields:
        fields["request_id"] = current_request_id() or NO_REQUEST_ID
    if "timestamp" not in fields:
        fields["timestamp"] = timestamp_of(record.created)
    return prepared
