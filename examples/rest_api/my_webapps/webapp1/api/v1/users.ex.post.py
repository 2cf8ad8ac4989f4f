"""POST /api/v1/users with ``{"name": ..., "lname": ...}`` creates a user: 201 and its URL."""

import json


def main(request, response, abort, users, users_lock):
    fields = request.get_json(silent=True)
    if not (
        isinstance(fields, dict)
        and isinstance(fields.get("name"), str)
        and isinstance(fields.get("lname"), str)
    ):
        abort(400, 'Send a JSON object with "name" and "lname" strings.')
    with users_lock:
        user = {"id": users.next_id, "name": fields["name"], "lname": fields["lname"]}
        users.by_id[user["id"]] = user
        users.next_id += 1
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/users/{user['id']}"
    response.content_type = "application/json"
    response.data = json.dumps(user)
    return response
