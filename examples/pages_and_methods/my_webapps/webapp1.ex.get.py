"""GET /: the home page.

Being the site's root file, this handler would also answer every deeper GET path that no
other file claims, so it sends anything but ``/`` to a 404 itself.
"""


def main(request, response, abort):
    if request.path != "/":
        abort(404)
    response.content_type = "text/html; charset=utf-8"
    response.data = """<!doctype html>
<title>Pages and methods</title>
<h1>Pages and methods</h1>
<ul>
  <li><a href="/blog">/blog</a> and <a href="/blog/first-post">/blog/first-post</a></li>
  <li><a href="/contact">/contact</a>: GET shows a form, POST reads it</li>
  <li>/echo: GET explains, every other method is echoed back</li>
  <li>PURGE /cache: a method of your own</li>
</ul>
"""
    return response
