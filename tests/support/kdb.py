"""Which arches the kdb (Linux kernel debugger) tests run on."""

from __future__ import annotations

import os

from harness.guests.linuxtest import kdbkernel


def kdb_arches() -> list[str]:
    """amd64 always; arm64 when asked (HARNESS_KDB_ARCHES=amd64,arm64) or its kdb kernel is already cached."""
    wanted = os.environ.get("HARNESS_KDB_ARCHES", "amd64").split(",")
    arches = ["amd64"]
    if "arm64" in wanted or kdbkernel.cached("arm64") is not None:
        arches.append("arm64")
    return arches
