"""QEMU start → SSH ready on the Linux test guest: a cold boot against a restore from its VM snapshot, amd64 and
arm64, side by side in one run. Goal: restore ≥ 5× faster.

Both paths are the pipeline's own (``harness.run.vmstart``): the cold boot launches, logs in on the console and
connects SSH; the restore launches QEMU with ``-incoming``, answers the prompt, connects SSH and sets the clock.
Rounds alternate (a cold boot in pedantic's untimed setup before each timed restore), so host load hits both
alike; the ratio of the means (and of the medians) goes to ``extra_info`` and is printed.

    .venv/bin/python -m pytest benchmarks/bench_snapshot.py --benchmark-only -s
"""

from __future__ import annotations

import contextlib
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from harness.guests.linuxtest import builder
from harness.guests.linuxtest.adapter import LinuxTestGuest
from harness.run import vmstart
from harness.run.session import linuxtest_key
from harness.vm import profile as vm_profiles
from harness.vm import snapshot as snapshots
from harness.vm.machine import BootSpec, Machine
from harness.vm.phases import Timeline
from harness.vm.ssh import SSHKey

pytestmark = pytest.mark.integration

ROUNDS = 5
QEMU = {"amd64": "qemu-system-x86_64", "arm64": "qemu-system-aarch64"}


class Guest:
    """One arch's test guest, its machine factory, and a snapshot store in a temp dir."""

    def __init__(self, arch: str, work: Path) -> None:
        self.arch = arch
        self.work = work
        self.guest = builder.ensure(arch)
        self.adapter = LinuxTestGuest()
        self.profile = vm_profiles.load(f"linuxtest-{arch}")
        self.store = snapshots.SnapshotStore(work / "snapshots")
        self.rounds = 0

    def machine(self, boot: BootSpec, incoming: Path | None) -> Machine:
        self.rounds += 1
        return Machine(
            self.profile,
            boot,
            self.work / f"vm{self.rounds}",
            death=self.adapter.death_strings,
            poweroff_command=self.adapter.poweroff_command,
            name="guest",
            accel="tcg",
            incoming=incoming,
        )

    def cold_boot(self, *, save: bool = False) -> float:
        """Launch → SSH ready (seconds); with ``save`` the booted VM becomes the snapshot."""
        key = SSHKey.generate(self.work / f"keys{self.rounds}")
        initrd = self.guest.initramfs_with_key(key.public_line, self.work / f"initrd{self.rounds}")
        machine = self.machine(BootSpec(self.guest.kernel, initrd, self.guest.append), None)
        with machine:
            timeline = Timeline(machine.launch_started)
            self.adapter.login(machine.console, 300)
            ssh = machine.ssh(key, timeout=300)
            timeline.mark("ssh ready")
            if save:
                started = vmstart.Started(machine, ssh, key, "boot", timeline.total)
                chance = vmstart.Chance(self.store, self.snapshot_key())
                vmstart.save_booted(
                    chance, started, prompt=self.adapter.prompt, ssh_timeout=60, files={"initrd": initrd}
                )
                ssh = started.ssh
            ssh.close()
            machine.shutdown(None, powerdown_timeout=0)
        return timeline.total

    def snapshot_key(self) -> snapshots.SnapshotKey:
        g = self.guest
        return linuxtest_key(self.arch, g.kernel, g.initramfs, g.append, self.profile, "tcg")

    def restore(self) -> float:
        snapshot = self.store.find(self.snapshot_key())
        assert snapshot is not None
        boot = BootSpec(self.guest.kernel, snapshot.file("initrd"), self.guest.append)
        with contextlib.ExitStack() as stack:
            started = vmstart.restore(
                stack,
                snapshot,
                boot,
                self.machine,
                hints=self.adapter.start_hints,
                key_dir=self.work / f"keys{self.rounds}",
                ssh_timeout=120,
            )
            assert started is not None
            started.ssh.close()
            started.machine.shutdown(None, powerdown_timeout=0)
            return started.seconds


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_restore_vs_cold_boot_to_ssh(benchmark: BenchmarkFixture, arch: str) -> None:
    if shutil.which(QEMU[arch]) is None:
        pytest.skip(f"{QEMU[arch]} is not installed")
    with tempfile.TemporaryDirectory(prefix="bench-snapshot-") as tmp:
        guest = Guest(arch, Path(tmp))
        guest.cold_boot(save=True)
        cold: list[float] = []
        restored: list[float] = []

        def setup() -> None:
            cold.append(guest.cold_boot())

        def timed_restore() -> None:
            restored.append(guest.restore())

        benchmark.group = f"QEMU start → SSH ready, {arch}"
        started = time.monotonic()
        benchmark.pedantic(timed_restore, setup=setup, rounds=ROUNDS, iterations=1)
        ratio = statistics.mean(cold) / statistics.mean(restored)
        median_ratio = statistics.median(cold) / statistics.median(restored)
        snapshot = guest.store.all()[0]
        benchmark.extra_info.update(
            cold_mean_s=round(statistics.mean(cold), 2),
            restore_mean_s=round(statistics.mean(restored), 2),
            ratio=round(ratio, 2),
            median_ratio=round(median_ratio, 2),
            snapshot_mib=round(snapshot.size / 2**20),
        )
        print(
            f"\n{arch}: cold boot → SSH {statistics.mean(cold):.2f} s (median {statistics.median(cold):.2f}), "
            f"restore → SSH {statistics.mean(restored):.2f} s (median {statistics.median(restored):.2f}); "
            f"restore is {ratio:.1f}× faster ({median_ratio:.1f}× of medians); "
            f"snapshot {snapshot.size / 2**20:.0f} MiB; "
            f"{ROUNDS} rounds in {time.monotonic() - started:.0f} s"
        )
        assert ratio > 1
