"""The ``harness`` fixture: ``harness ARGV`` in this process, in the test's own scratch directory."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from tests.support.inproc import Harness, run_in_process


@pytest.fixture
def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    """:func:`tests.support.inproc.run_in_process` bound to ``tmp_path`` (its cwd and scratch cache)."""
    return functools.partial(run_in_process, cwd=tmp_path, monkeypatch=monkeypatch)
