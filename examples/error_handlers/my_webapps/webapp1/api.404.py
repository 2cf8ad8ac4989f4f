"""404 under /api: JSON instead of the site's HTML page."""

import json


def main(request, response):
    response.content_type = "application/json"
    response.data = json.dumps({"error": "not_found", "path": request.path})
    return response
