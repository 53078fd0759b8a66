"""A real FreeBSD image, end to end: boot under QEMU, serial login, first-boot configuration, SSH, DDB status,
generation fingerprint, a second boot of the same disk; with a test kernel, nextboot into it, prove it, and drive
DDB. Nightly: ``HARNESS_FREEBSD_IMAGE=... [HARNESS_FREEBSD_KERNEL=...] pytest -m live tests/live``.
Under TCG a FreeBSD boot takes minutes; the module boots the stock image once and shares it between tests.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.guests.freebsd.boot import BootedGuest, booted, reboot_on_console
from harness.guests.freebsd.kernel import load_build
from harness.images import from_file, load_manifests, select
from harness.images.manifest import ImageManifest
from harness.vm.debugger import Debugger

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def manifest(freebsd_image: Any) -> ImageManifest:
    return select(freebsd_image.release, freebsd_image.arch, load_manifests())


@pytest.fixture(scope="module")
def stock(
    freebsd_image: Any, manifest: ImageManifest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BootedGuest]:
    base = from_file(manifest, freebsd_image.path)
    run_dir = tmp_path_factory.mktemp("freebsd-stock")
    started = time.monotonic()
    with booted(manifest, base, run_dir) as guest:
        print(f"\nfirst boot to SSH: {time.monotonic() - started:.1f} s ({guest.result.accel}); logs in {run_dir}")
        yield guest


def test_stock_image_boots_to_root_over_ssh(stock: BootedGuest, manifest: ImageManifest) -> None:
    result = stock.result
    assert result.first_boot_configured
    assert result.kernel.bootfile == "/boot/kernel/kernel" and result.kernel.ident == "GENERIC"
    userland = stock.ssh.run("freebsd-version -u", timeout=60)
    assert userland.ok and userland.output.startswith(manifest.version)
    assert stock.ssh.run("id -un", timeout=60).output.strip() == "root"


def test_console_and_ssh_see_the_same_kernel(stock: BootedGuest) -> None:
    console = stock.machine.console.run("uname -v", timeout=60).output.strip()
    ssh = stock.ssh.run("uname -v", timeout=60).output.strip()
    assert console == ssh == stock.result.kernel.uname_v


def test_release_kernel_has_no_ddb_and_the_generation_matches_the_release(
    stock: BootedGuest, manifest: ImageManifest
) -> None:
    # freebsd-facts §D.3: releng GENERIC has KDB but no DDB; kstack-model-spec §2.4: the release's generation.
    assert "ddb" not in stock.result.ddb_available and not stock.result.ddb_ready
    assert stock.result.generation == manifest.expected_generation, stock.result.generation_reason


def test_growfs_used_the_grown_disk(stock: BootedGuest) -> None:
    size_kb = int(stock.ssh.run("df -k / | awk 'NR==2 {print $2}'", timeout=60).output.strip())
    assert size_kb > 8 * 1024 * 1024, "the 16G overlay was grown before first boot, so / is larger than the image's"


def test_second_boot_skips_configuration_and_the_loader_wait(stock: BootedGuest) -> None:
    stock.ssh.close()
    started = time.monotonic()
    console = reboot_on_console(stock.machine.console, stock.adapter, stock.adapter.data.timeouts.reboot)
    print(f"\nreboot to login: {time.monotonic() - started:.1f} s")
    assert console.run(f"test -e {stock.adapter.data.firstboot.stamp}", timeout=60).ok
    assert console.run("sysrc -n -f /boot/loader.conf autoboot_delay", timeout=60).output.strip() == "-1"
    stock.ssh = stock.machine.ssh(stock.key, timeout=stock.adapter.data.timeouts.ssh)
    assert stock.ssh.run("true", timeout=60).ok


def test_test_kernel_via_nextboot_and_ddb(
    freebsd_image: Any, manifest: ImageManifest, freebsd_kernel_dir: Path, tmp_path: Path
) -> None:
    build = load_build(freebsd_kernel_dir)
    base = from_file(manifest, freebsd_image.path)
    with booted(manifest, base, tmp_path, kernel=build) as guest:
        assert guest.result.kernel.bootfile == build.bootfile
        assert guest.result.ddb_ready, "the test kernel must carry options DDB"
        driver = Debugger(guest.machine.console, guest.adapter.debugger, arch=manifest.arch)
        with driver.session(timeout=120):
            trace = driver.command("bt", timeout=120)
            pcpu = driver.command("show pcpu", timeout=120)
        assert "kdb_sysctl_enter" in trace.output or "kdb_enter" in trace.output
        assert "cpuid" in pcpu.output
        assert guest.machine.console.run("uptime", timeout=120).ok, "the kernel runs on after `continue`"
