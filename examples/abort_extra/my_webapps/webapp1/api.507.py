"""507 under /api: JSON. Without abort_extra, abort(507) would itself fail with a
LookupError; with it, this file handles 507 like any other error-handler file."""

import json


def main(response, e):
    response.content_type = "application/json"
    response.data = json.dumps({"error": "insufficient_storage", "detail": e.description})
    return response
