"""A site: the folder that ``app_map`` names for a request."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .errors import SiteError

__all__ = ["Site"]


@dataclass(frozen=True, slots=True)
class Site:
    """A site folder and the root files beside it.

    The site's own root files (``webapp1.ex.get.py``) sit in :attr:`site_dir`; everything below
    ``/`` sits in :attr:`folder`, ``<site_dir>/<site_name>``, which need not exist.

    :param site_dir: the folder holding the site, absolute.
    :param site_name: the site's name: one plain folder name (not starting with ``.``, not
        ``__pycache__``).
    """

    site_dir: str
    site_name: str
    #: ``<site_dir>/<site_name>``: where the site's URL paths below ``/`` live (made once: every
    #: request asks for it).
    folder: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "folder", os.path.join(self.site_dir, self.site_name))

    @classmethod
    def from_app_map(cls, site_dir: object, site_name: object) -> Site:
        """Check what ``app_map`` returned and make a site of it.

        A relative ``site_dir`` is taken relative to the current working directory.

        :raises SiteError: naming the value at fault.
        """
        if not isinstance(site_dir, str | os.PathLike):
            raise SiteError(f"`site_dir` must be a string or path, not {type(site_dir).__name__}")
        path = os.fspath(site_dir)
        if not isinstance(path, str) or not path or "\x00" in path:
            raise SiteError(f"`site_dir` {site_dir!r} is not a usable folder path")
        if not isinstance(site_name, str):
            raise SiteError(f"`site_name` must be a string, not {type(site_name).__name__}")
        if (
            site_name in ("", ".", "..")
            or "/" in site_name
            or "\\" in site_name
            or "\x00" in site_name
        ):
            raise SiteError(f"`site_name` {site_name!r} must be a single folder name")
        if site_name.startswith(".") or site_name == "__pycache__":
            # `.git`, `.env`, `__pycache__`: never served, so never a site either.
            raise SiteError(
                f"`site_name` {site_name!r} must be a plain folder name: "
                "not starting with `.`, not `__pycache__`"
            )
        return cls(os.path.abspath(path), site_name)
