"""Where the tests' own data lives, independent of how deep a test module sits."""

from __future__ import annotations

from pathlib import Path

#: The tests/ directory.
TESTS = Path(__file__).resolve().parent.parent
#: Fixtures written from FreeBSD's format strings (tests/golden/fixtures/*__format*), in the project.
FORMAT_FIXTURES = TESTS / "golden" / "fixtures"
#: Stored run directories and other test data (tests/data).
DATA = TESTS / "data"
