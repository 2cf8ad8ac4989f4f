"""GET / on the shop."""


def main(request, response, abort):
    if request.path != "/":
        abort(404)
    response.content_type = "text/html; charset=utf-8"
    response.data = '<h1>The shop</h1><p><a href="/cart">Your cart</a></p>'
    return response
