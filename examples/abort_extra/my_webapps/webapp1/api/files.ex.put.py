"""PUT /api/files/<name>: the JSON twin of /files/<name>. Its 507 goes to api.507.py."""

import json


def main(request, response, abort, bucket):
    name = request.path.removeprefix("/api/files").strip("/")
    if not name or "/" in name:
        abort(404)
    if not bucket.put(name, request.get_data()):
        abort(507)
    response.status_code = 201
    response.content_type = "application/json"
    response.data = json.dumps({"stored": name})
    return response
