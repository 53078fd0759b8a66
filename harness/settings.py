"""Where things live: project data dirs, the XDG cache, the shared fixtures.

Every location can be overridden by an environment variable so nothing machine-specific is baked in.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from harness.util.dirs import usable_dir

#: The checkout this package runs from (``harness/`` is directly below it).
PROJECT_ROOT = Path(__file__).resolve().parent.parent


#: Where a regular (non-editable) install puts the top-level data directories (setup.py ``data_files``).
INSTALLED_DATA = Path(sys.prefix) / "share" / "freebsd-kstack-harness"


def data_dir(name: str) -> Path:
    """A top-level data directory of the project: ``images``, ``vm_configs``, ``patches``.

    ``HARNESS_DATA_DIR`` points at another tree holding the same directories (e.g. a site's own manifests).
    Otherwise the checkout's own directory (an editable install), else the installed copy.
    """
    override = os.environ.get("HARNESS_DATA_DIR")
    if override:
        return Path(override) / name
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT / name
    return INSTALLED_DATA / name


def cache_dir(*parts: str) -> Path:
    """The harness's cache under ``$XDG_CACHE_HOME/freebsd-kstack-harness`` (default ``~/.cache/...``).

    ``HARNESS_CACHE_DIR`` replaces the whole location. The directory is created; an unusable one (read-only,
    someone else's, a file in the way) is an ``InfraError`` naming it and the fix.
    """
    override = os.environ.get("HARNESS_CACHE_DIR")
    if override:
        root = Path(override)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = Path(xdg) / "freebsd-kstack-harness"
    return usable_dir(
        root.joinpath(*parts),
        what="the cache directory",
        fix="set HARNESS_CACHE_DIR (or XDG_CACHE_HOME) to a writable directory",
    )


def fixtures_dir() -> Path:
    """The real FreeBSD transcripts used as golden inputs (``HARNESS_FIXTURES``, default ``../shared/fixtures``).

    The fixtures stay outside the project; tests skip with a reason when the directory is absent.
    """
    override = os.environ.get("HARNESS_FIXTURES")
    if override:
        return Path(override)
    return PROJECT_ROOT.parent / "shared" / "fixtures"


def data_home(*parts: str) -> Path:
    """The harness's own data (the nightly history) under ``$XDG_DATA_HOME/freebsd-kstack-harness`` (default
    ``~/.local/share/...``); ``HARNESS_DATA_HOME`` replaces the whole location. Not created here."""
    override = os.environ.get("HARNESS_DATA_HOME")
    if override:
        root = Path(override)
    else:
        xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        root = Path(xdg) / "freebsd-kstack-harness"
    return root.joinpath(*parts)
