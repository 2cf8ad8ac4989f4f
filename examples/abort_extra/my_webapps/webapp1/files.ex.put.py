"""PUT /files/<name>: stores the body in the bucket. When it does not fit, abort(507);
no 507.py is on this path, so the answer is the page InsufficientStorage describes."""


def main(request, response, abort, bucket):
    name = request.path.removeprefix("/files").strip("/")
    if not name or "/" in name:
        abort(404)
    if not bucket.put(name, request.get_data()):
        abort(507)
    response.status_code = 201
    response.data = f"stored {name}\n"
    return response
