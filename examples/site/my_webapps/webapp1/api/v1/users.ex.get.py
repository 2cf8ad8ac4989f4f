"""GET /api/v1/users lists users; GET /api/v1/users/<id> shows one. The id is the rest of the
path: Cylinder routes to the nearest file and leaves the remainder to the handler."""

import json


def main(request, response, abort, users, users_lock):
    rest = request.path.removeprefix("/api/v1/users").strip("/")
    with users_lock:
        if not rest:
            body = sorted(users.values(), key=lambda user: user["id"])
        elif rest.isdigit() and int(rest) in users:
            body = users[int(rest)]
        else:
            abort(404)
    response.content_type = "application/json"
    response.data = json.dumps(body)
    return response
