"""Boot → shell of the amd64 Linux test guest: through the harness (Machine + console + adapter login) against
a bare script (qemu with the serial line on stdio, driven by pexpect) doing the same. Goal: ratio ≤ 1.10.

Rounds alternate (the bare boot runs in pedantic's untimed setup before each timed harness boot) so host load
hits both alike. The ratio is stored in the benchmark's ``extra_info`` and printed.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pexpect
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from harness.guests.linuxtest import builder
from harness.guests.linuxtest.adapter import LinuxTestGuest
from harness.vm import profile as profiles
from harness.vm.machine import BootSpec, Machine
from harness.vm.ssh import SSHKey

pytestmark = pytest.mark.integration

ROUNDS = 5


def bare_boot(kernel: Path, initrd: Path, append: str, adapter: LinuxTestGuest) -> float:
    """What a hand-written script does: qemu on stdio, wait for the shell, set the prompt, kill qemu."""
    started = time.monotonic()
    args = [
        "-machine",
        "pc",
        "-accel",
        "tcg,thread=multi",
        "-cpu",
        "qemu64",
        "-m",
        "512",
        "-smp",
        "1",
        "-display",
        "none",
        "-nodefaults",
        "-serial",
        "stdio",
        "-netdev",
        "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:0-:22",
        "-device",
        "virtio-net-pci,netdev=n0",
        "-device",
        "virtio-rng-pci",
        "-device",
        "pvpanic",
        "-kernel",
        str(kernel),
        "-initrd",
        str(initrd),
        "-append",
        f"console=ttyS0 {append}",
    ]
    child = pexpect.spawn("qemu-system-x86_64", args, encoding="utf-8", codec_errors="replace", timeout=120)
    try:
        child.expect(r"guest:[^\r\n]*# ")
        child.sendline("PS1='@HX''-PROMPT@ '")
        child.expect(adapter.prompt)
        return time.monotonic() - started
    finally:
        child.terminate(force=True)


def harness_boot(boot: BootSpec, run_dir: Path, adapter: LinuxTestGuest) -> None:
    vm = Machine(profiles.load("linuxtest-amd64"), boot, run_dir, death=adapter.death_strings, name="bench")
    with vm:
        adapter.login(vm.console, 120)
        vm.shutdown(None, powerdown_timeout=0)


def test_boot_to_shell_harness_vs_bare(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    guest = builder.ensure("amd64")
    adapter = LinuxTestGuest()
    key = SSHKey.generate(tmp_path / "ssh")
    initrd = guest.initramfs_with_key(key.public_line, tmp_path / "initrd.gz")
    boot = BootSpec(kernel=guest.kernel, initrd=initrd, append=guest.append)
    bare: list[float] = []

    def setup() -> None:
        bare.append(bare_boot(guest.kernel, initrd, guest.append, adapter))

    benchmark.group = "boot-to-shell amd64"
    benchmark.pedantic(harness_boot, args=(boot, tmp_path, adapter), setup=setup, rounds=ROUNDS, iterations=1)
    harness_mean = benchmark.stats.stats.mean
    bare_mean = statistics.mean(bare)
    ratio = harness_mean / bare_mean
    median_ratio = benchmark.stats.stats.median / statistics.median(bare)
    benchmark.extra_info.update(
        median_ratio=round(median_ratio, 3),
        bare_mean_s=round(bare_mean, 3),
        harness_mean_s=round(harness_mean, 3),
        ratio=round(ratio, 3),
    )
    print(
        f"\nboot→shell amd64: harness {harness_mean:.2f} s, bare qemu+pexpect {bare_mean:.2f} s, "
        f"ratio {ratio:.3f} (of medians {median_ratio:.3f})"
    )
