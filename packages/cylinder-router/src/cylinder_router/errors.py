"""Errors the router raises. They carry facts; turning them into HTTP is the caller's job."""

from __future__ import annotations

__all__ = ["RouterError", "SiteError"]


class RouterError(Exception):
    """Base class of the router's errors."""


class SiteError(RouterError):
    """The site named by ``app_map`` cannot be used: a bad name, or a missing ``site_dir``."""
