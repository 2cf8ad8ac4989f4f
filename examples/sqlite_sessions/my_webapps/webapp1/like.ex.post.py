"""POST /like: adds one like, exactly, however many tabs post at once; redirects to /."""


def main(abort, session):
    def add_one(data):
        data["likes"] = data.get("likes", 0) + 1
        return data["likes"]

    session["likes"].transact(add_one)  # written at once; run again if another request won
    abort(303, "/")
