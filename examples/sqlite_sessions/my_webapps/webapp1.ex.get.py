"""GET /: counts this browser's visits in its session's `visits` store."""


def main(request, response, abort, session):
    if request.path != "/":
        abort(404)
    store = session["visits"]
    store["count"] = store.get("count", 0) + 1
    response.content_type = "text/html; charset=utf-8"
    likes = session["likes"].get("likes", 0)
    response.data = f"""<h1>Visit number {store["count"]}</h1>
<p>{likes} likes</p>
<form method="post" action="/like"><button>Like</button></form>
<form method="post" action="/forget"><button>Forget me</button></form>
"""
    return response
