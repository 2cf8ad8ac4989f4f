"""GET /cart on the shop."""


def main(response):
    response.content_type = "text/html; charset=utf-8"
    response.data = "<h1>Your cart</h1><p>It is empty.</p>"
    return response
