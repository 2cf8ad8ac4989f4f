"""400 under /api: JSON carrying the reason given to abort(400, reason)."""

import json


def main(response, e):
    response.content_type = "application/json"
    response.data = json.dumps({"error": "bad_request", "detail": e.description})
    return response
