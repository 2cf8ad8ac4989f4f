"""PUT /api/v1/users/<id> with ``{"name": ..., "lname": ...}`` changes the fields it names."""

import json


def main(request, response, abort, users, users_lock):
    rest = request.path.removeprefix("/api/v1/users").strip("/")
    if not (rest.isascii() and rest.isdigit()):
        abort(404)
    fields = request.get_json(silent=True)
    if not isinstance(fields, dict) or not fields:
        abort(400, 'Send a JSON object with "name" and/or "lname" strings.')
    if set(fields) - {"name", "lname"} or not all(isinstance(v, str) for v in fields.values()):
        abort(400, 'Only "name" and "lname" can change, and they are strings.')
    with users_lock:
        user = users.by_id.get(int(rest))
        if user is None:
            abort(404)
        user.update(fields)
        body = dict(user)
    response.content_type = "application/json"
    response.data = json.dumps(body)
    return response
