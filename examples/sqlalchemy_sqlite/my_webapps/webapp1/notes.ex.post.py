"""POST /notes with ``{"text": ...}`` stores a note and answers 201 with it."""

import json
from collections.abc import Callable
from typing import NoReturn

from models import Note
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.wrappers import Request, Response


def main(
    request: Request,
    response: Response,
    abort: Callable[..., NoReturn],
    SessionLocal: sessionmaker[Session],
) -> Response:
    fields = request.get_json(silent=True)
    text = fields.get("text") if isinstance(fields, dict) else None
    if not isinstance(text, str) or not text.strip():
        abort(400, 'Send a JSON object with a non-empty "text" string.')
    with SessionLocal() as session, session.begin():
        note = Note(text=text.strip())
        session.add(note)
        session.flush()
        body = note.as_dict()
    response.status_code = 201
    response.headers["Location"] = f"/notes/{body['id']}"
    response.content_type = "application/json"
    response.data = json.dumps(body)
    return response
