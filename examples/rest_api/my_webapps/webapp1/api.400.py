"""400 under /api: JSON with the reason the handler gave to abort()."""

import json


def main(response, e):
    response.content_type = "application/json"
    response.data = json.dumps({"error": "bad_request", "detail": e.description})
    return response
