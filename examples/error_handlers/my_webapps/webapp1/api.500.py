"""500 under /api: JSON that names no internals. The exception is in the log."""

import json


def main(response, e, log):
    log.warning("API failure: %s", type(e.original_exception).__name__)
    response.content_type = "application/json"
    response.data = json.dumps({"error": "internal"})
    return response
