"""The tables, as SQLAlchemy models. Handlers import them like any module."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(500))

    def as_dict(self) -> dict[str, int | str]:
        return {"id": self.id, "text": self.text}
