"""404 for /api/*: JSON instead of the site's HTML page."""

import json


def main(request, response, e):
    response.content_type = "application/json"
    response.data = json.dumps({"error": "not_found", "path": request.path, "status": e.code})
    return response
