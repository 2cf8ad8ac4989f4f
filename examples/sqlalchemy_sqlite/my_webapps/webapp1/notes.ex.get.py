"""GET /notes lists the notes; GET /notes/<id> shows one."""

import json
from collections.abc import Callable
from typing import NoReturn

from models import Note
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.wrappers import Request, Response


def main(
    request: Request,
    response: Response,
    abort: Callable[..., NoReturn],
    SessionLocal: sessionmaker[Session],
) -> Response:
    rest = request.path.removeprefix("/notes").strip("/")
    with SessionLocal() as session:
        if not rest:
            notes = session.scalars(select(Note).order_by(Note.id)).all()
            body = [note.as_dict() for note in notes]
        elif rest.isascii() and rest.isdigit() and (note := session.get(Note, int(rest))):
            body = note.as_dict()
        else:
            abort(404)
    response.content_type = "application/json"
    response.data = json.dumps(body)
    return response
