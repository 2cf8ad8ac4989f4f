"""GET /: counts this client's visits in its session."""


def main(request, response, abort, session):
    if request.path != "/":
        abort(404)
    visits = session.get("visits", 0) + 1
    session["visits"] = visits
    response.content_type = "text/html; charset=utf-8"
    response.data = f"""<h1>Visit number {visits}</h1>
<form method="post" action="/forget"><button>Forget me</button></form>
"""
    return response
