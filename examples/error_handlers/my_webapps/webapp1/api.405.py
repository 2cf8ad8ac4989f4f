"""405 under /api: JSON. Werkzeug's MethodNotAllowed knows the methods that would work, and
the Allow header Cylinder set is kept."""

import json


def main(response, e):
    response.content_type = "application/json"
    response.data = json.dumps({"error": "method_not_allowed", "allowed": e.valid_methods})
    return response
