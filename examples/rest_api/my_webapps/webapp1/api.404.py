"""404 under /api: JSON."""

import json


def main(request, response):
    response.content_type = "application/json"
    response.data = json.dumps({"error": "not_found", "path": request.path})
    return response
