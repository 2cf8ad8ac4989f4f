"""The database: one engine and one session factory for the whole process.

The SQLite file is ``$NOTES_DB`` when that is set, else ``cylinder-notes.sqlite`` in the
system's temporary folder.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

DB_PATH = Path(os.environ.get("NOTES_DB") or Path(tempfile.gettempdir(), "cylinder-notes.sqlite"))

engine = create_engine(f"sqlite:///{DB_PATH}")
SessionLocal = sessionmaker(engine)
