"""GET /api/v1/users lists the users (``?lname=`` filters by last name);
GET /api/v1/users/<id> shows one.

Cylinder picks this file for both; what follows /api/v1/users is for the handler to read.
"""

import json


def main(request, response, abort, users, users_lock):
    rest = request.path.removeprefix("/api/v1/users").strip("/")
    lname = request.args.get("lname")
    with users_lock:
        if not rest:
            found = [user for user in users.by_id.values() if lname in (None, user["lname"])]
            body = sorted(found, key=lambda user: user["id"])
        elif rest.isascii() and rest.isdigit() and int(rest) in users.by_id:
            body = dict(users.by_id[int(rest)])
        else:
            abort(404)
    response.content_type = "application/json"
    response.data = json.dumps(body)
    return response
