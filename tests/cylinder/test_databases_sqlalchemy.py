"""Spec: "Using database connections and ORMs like SQLAlchemy"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Integer, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from werkzeug.test import Client


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


def test_session_factory_passed_through_app_map(
    client_for: Callable[..., Client], tmp_path: Path
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'app.db'}")
    Base.metadata.create_all(engine)
    session_local = sessionmaker(engine)
    with session_local() as session:
        session.add_all([User(name="ada"), User(name="grace")])
        session.commit()

    client = client_for(
        {
            "webapp1.ex.get.py": """
            from sqlalchemy import select

            def main(response, SessionLocal, User):
                with SessionLocal() as session:
                    users = session.execute(select(User)).scalars().all()
                response.data = f"{len(users)} users found"
                return response
        """
        },
        extras={"SessionLocal": session_local, "User": User},
    )
    assert client.get("/").text == "2 users found"
    engine.dispose()
