"""500 for the whole site: any exception a handler or hook did not catch ends here.

``e`` is Werkzeug's InternalServerError and ``e.original_exception`` is what was raised.
Cylinder has already logged that exception, with its traceback and the request id.
"""

import traceback
from html import escape


def main(response, e, show_tracebacks):
    response.content_type = "text/html; charset=utf-8"
    if show_tracebacks:
        details = "".join(traceback.format_exception(e.original_exception))
        response.data = f"<h1>Server error</h1><pre>{escape(details)}</pre>"
    else:
        response.data = "<h1>Sorry, something went wrong</h1><p>Please try again later.</p>"
    return response
