"""POST /api/v1/users with {"name": ...} creates a user and answers 201 with it."""

import json


def main(request, response, abort, users, users_lock):
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
        abort(400, 'send a JSON object with a "name" string')
    with users_lock:
        user = {"id": max(users, default=0) + 1, "name": payload["name"]}
        users[user["id"]] = user
    response.status_code = 201
    response.content_type = "application/json"
    response.headers["Location"] = f"/api/v1/users/{user['id']}"
    response.data = json.dumps(user)
    return response
