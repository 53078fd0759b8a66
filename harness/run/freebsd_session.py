"""Boot a FreeBSD guest for a run (placeholder until wired to harness.images and harness.guests.freebsd)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from harness.errors import InfraError
from harness.run.profiles import GuestProfile
from harness.run.rundir import RunDir


@contextlib.contextmanager
def freebsd(run: RunDir, profile: GuestProfile, request: Any, *, keep_vm: bool = False) -> Iterator[Any]:
    raise InfraError("the FreeBSD session is not wired yet")
    yield
