"""GET /contact: the form. Its POST goes to contact.ex.post.py."""


def main(response):
    response.content_type = "text/html; charset=utf-8"
    response.data = """<h1>Contact</h1>
<form method="post">
  <label>Your name <input name="name" required></label>
  <button>Send</button>
</form>
"""
    return response
