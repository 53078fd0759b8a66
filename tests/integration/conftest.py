"""Integration tests on real QEMU guests: the Debian-built Linux test guest (see harness/guests/linuxtest).

Guests are built once per session (cached across runs under the XDG cache). After every test no QEMU process
started by this test process may remain, except the ones a module fixture is still sharing (and those must be
gone when that module ends).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.procs import our_qemu_pids


class QemuRegistry:
    """QEMU pids a module-scoped fixture legitimately keeps running between its tests."""

    def __init__(self) -> None:
        self.shared: set[int] = set()

    def share(self, pid: int | None) -> None:
        if pid is not None:
            self.shared.add(pid)

    def unshare(self, pid: int | None) -> None:
        self.shared.discard(pid if pid is not None else -1)

    def ours(self) -> set[int]:
        return our_qemu_pids()


@pytest.fixture(scope="session")
def qemu_registry() -> QemuRegistry:
    return QemuRegistry()


@pytest.fixture(autouse=True)
def no_qemu_left_behind(qemu_registry: QemuRegistry) -> Iterator[None]:
    yield
    stray = our_qemu_pids() - qemu_registry.shared
    assert not stray, f"QEMU processes left running after the test: {sorted(stray)}"


@pytest.fixture(scope="session", autouse=True)
def vm_snapshot_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """VM snapshots saved by runs of this session go to a temp dir (later runs of the session restore them), never
    to the user's cache: a test must not restore a guest some other checkout saved. Removed at the end (large)."""
    from harness.vm import snapshot as snapshots

    root = tmp_path_factory.mktemp("vm-snapshots")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(snapshots, "default_root", lambda: root)
        yield root
    shutil.rmtree(root, ignore_errors=True)
