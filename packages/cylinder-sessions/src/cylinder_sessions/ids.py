"""Session ids and the keys the store files them under."""

from __future__ import annotations

import hashlib
import re
import secrets

__all__ = ["ID_BYTES", "is_well_formed", "key_of", "new_id"]

#: Random bytes in an id: 256 bits from the operating system's CSPRNG.
ID_BYTES = 32

_WELL_FORMED = re.compile(r"[A-Za-z0-9_-]{43}")


def new_id() -> str:
    """A fresh session id: 256 random bits, URL-safe base64 without padding (43 characters)."""
    return secrets.token_urlsafe(ID_BYTES)


def is_well_formed(value: str) -> bool:
    """Whether ``value`` could be an id this package issued (not whether it was)."""
    return _WELL_FORMED.fullmatch(value) is not None


def key_of(session_id: str) -> str:
    """The store key for ``session_id``: its SHA-256, in hexadecimal.

    The store never sees an id: someone who reads the store cannot present its keys as cookies.
    """
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()
