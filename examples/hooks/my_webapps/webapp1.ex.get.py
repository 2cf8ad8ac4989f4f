"""GET /: a page that sets its own, looser Content-Security-Policy. The late hook
(webapp1.lh.default.py) runs after this handler and has the last word."""


def main(request, response, abort):
    if request.path != "/":
        abort(404)
    response.headers["Content-Security-Policy"] = "default-src *"
    response.content_type = "text/html; charset=utf-8"
    response.data = """<!doctype html>
<title>Hooks</title>
<link rel="stylesheet" href="/style.css">
<h1>Hooks</h1>
<p>Every response carries the late hook's Content-Security-Policy.</p>
<p><a href="/api/time">/api/time</a> answers browsers on the allowed origins.</p>
"""
    return response
