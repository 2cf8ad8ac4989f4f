"""GET /: the home page. This file would also answer every deeper GET path that no more
specific file answers, so it sends those to the site's 404 handler itself."""


def main(request, response, abort):
    if request.path != "/":
        abort(404)
    response.content_type = "text/html; charset=utf-8"
    response.data = """<!doctype html>
<html lang="en">
<title>Cylinder example</title>
<link rel="stylesheet" href="/style.css">
<h1>Hello from Cylinder</h1>
<p>This page is <code>my_webapps/webapp1.ex.get.py</code>.</p>
<ul>
  <li><a href="/hello?name=Ada">/hello?name=Ada</a>: a page with its own file</li>
  <li><a href="/api/v1/users">/api/v1/users</a>: a JSON API under its own hooks and errors</li>
  <li><a href="/style.css">/style.css</a>: a static file</li>
</ul>
"""
    return response
