"""Shared test settings: where the real FreeBSD fixtures are, and skipping cleanly when they are absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.settings import fixtures_dir


@pytest.fixture(scope="session")
def freebsd_fixtures() -> Path:
    """The directory of real FreeBSD transcripts (``HARNESS_FIXTURES``, default ``../shared/fixtures``)."""
    path = fixtures_dir() / "freebsd"
    if not path.is_dir():
        pytest.skip(f"FreeBSD fixtures not found at {path} (set HARNESS_FIXTURES to the shared fixtures dir)")
    return path
