"""GET /api/boom: the same kind of bug as /boom, answered by api.500.py instead."""


def main(response):
    raise RuntimeError("the API broke")
