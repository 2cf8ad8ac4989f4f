"""DELETE /api/v1/users/<id>: 204 when the user existed, 404 when not."""


def main(request, response, abort, users, users_lock):
    rest = request.path.removeprefix("/api/v1/users").strip("/")
    if not (rest.isascii() and rest.isdigit()):
        abort(404)
    with users_lock:
        removed = users.by_id.pop(int(rest), None)
    if removed is None:
        abort(404)
    response.status_code = 204
    return response
