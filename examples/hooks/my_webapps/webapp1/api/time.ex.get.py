"""GET /api/time: the server's clock, as JSON."""

import json
from datetime import UTC, datetime


def main(response):
    response.content_type = "application/json"
    response.data = json.dumps({"utc": datetime.now(UTC).isoformat(timespec="seconds")})
    return response
