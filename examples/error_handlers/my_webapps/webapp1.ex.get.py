"""GET /: the home page; every other GET path it would cover is a 404."""


def main(request, response, abort):
    if request.path != "/":
        abort(404)
    response.content_type = "text/html; charset=utf-8"
    response.data = """<!doctype html>
<title>Error handlers</title>
<h1>Error handlers</h1>
<ul>
  <li><a href="/nowhere">/nowhere</a>: the site's HTML 404</li>
  <li><a href="/boom">/boom</a>: an exception, and the site's HTML 500</li>
  <li><a href="/api/orders/1">/api/orders/1</a>, <a href="/api/orders/x">/api/orders/x</a>,
    <a href="/api/orders/9">/api/orders/9</a>, <a href="/api/boom">/api/boom</a>:
    the API's JSON answers</li>
</ul>
"""
    return response
