"""Every method on /echo that has no file of its own: PUT, DELETE, PATCH, HEAD, OPTIONS..."""


def main(request, response):
    body = request.get_data()
    response.headers["X-Echo-Method"] = request.method
    response.data = f"{request.method} {request.path} with {len(body)} bytes\n"
    return response
