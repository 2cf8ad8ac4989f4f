"""GET /api/orders/<number>: one order, as JSON. Errors go to the api.<code>.py files."""

import json

ORDERS = {1: {"number": 1, "item": "teapot", "quantity": 2}}


def main(request, response, abort):
    rest = request.path.removeprefix("/api/orders").strip("/")
    if not (rest.isascii() and rest.isdigit()):
        abort(400, "The order number must be a whole number, as in /api/orders/1.")
    order = ORDERS.get(int(rest))
    if order is None:
        abort(404)
    response.content_type = "application/json"
    response.data = json.dumps(order)
    return response
