"""Errors the router raises. They carry facts; turning them into HTTP is the caller's job."""

from __future__ import annotations

__all__ = [
    "LeavesBaseError",
    "MissingFileError",
    "NotRegularFileError",
    "OpenBeneathError",
    "RefusedFileError",
    "RouterError",
    "SiteError",
]


class RouterError(Exception):
    """Base class of the router's errors."""


class SiteError(RouterError):
    """The site named by ``app_map`` cannot be used: a bad name, or a missing ``site_dir``."""


class OpenBeneathError(RouterError, OSError):
    """A file below a folder could not be opened as :func:`~cylinder_router.open_beneath` asks.

    An :class:`OSError` whose ``errno`` says what happened and whose ``filename`` is the path
    asked for (the folder joined with the relative path); its message names both.
    """

    def __str__(self) -> str:
        return str(self.strerror)


class MissingFileError(OpenBeneathError, FileNotFoundError):
    """No file at the path: nothing there, or a file where the path needs a folder."""


class NotRegularFileError(OpenBeneathError):
    """The path names a folder, FIFO, socket or device: only regular files are opened."""


class LeavesBaseError(OpenBeneathError):
    """A symbolic link or ``..`` on the path leads outside the folder."""


class RefusedFileError(OpenBeneathError):
    """The file the path leads to, links followed, is one the caller's rule refuses."""
