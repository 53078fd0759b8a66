"""Shared test settings: where the real FreeBSD fixtures are, and skipping cleanly when they are absent; how
property tests draw their examples (reproducible in CI, exploring locally)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, is_hypothesis_test, seed, settings

from harness.settings import fixtures_dir

#: The seed every property test uses when ``CI`` is set: the same examples in every CI run, so a red CI run
#: is red again when re-run (and locally with ``CI=true``). The example database stays on: a failure found
#: once is replayed first.
CI_SEED = 20261203


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


# CI: no wall-clock deadline (a loaded 2-core runner must not turn a slow example into a failure), the seed
# printed with any failure. Locally ("dev"): hypothesis' defaults, a fresh random exploration every run.
settings.register_profile(
    "ci", print_blob=True, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False
)
settings.register_profile("dev")
settings.load_profile("ci" if _in_ci() else "dev")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """In CI, pin every property test to ``CI_SEED`` (per test, so the example database keeps working)."""
    if not _in_ci():
        return
    for item in items:
        test = getattr(item, "obj", None)
        if test is not None and is_hypothesis_test(test):
            seed(CI_SEED)(getattr(test, "__func__", test))


@pytest.fixture(scope="session")
def freebsd_fixtures() -> Path:
    """The directory of real FreeBSD transcripts (``HARNESS_FIXTURES``, default ``../shared/fixtures``)."""
    path = fixtures_dir() / "freebsd"
    if not path.is_dir():
        pytest.skip(f"FreeBSD fixtures not found at {path} (set HARNESS_FIXTURES to the shared fixtures dir)")
    return path
