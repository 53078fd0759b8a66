"""What is decided on the guest at run time (review H4, M1, M2, M6, L4, L5): workload parameters against the guest's
own limits, the tools a run needs, the NIC when SSH does not come up, the image's age against the kernel's, images
whose console the VMs cannot see.

Inputs: the real 12.1 ``sysctl -a`` (kern.threads.max_threads_per_proc 1500, hw.physmem, v_free_count,
vm.swap_total) and the real 13.2 console session with ``ifconfig`` (../shared/fixtures/freebsd, skipped when
absent); otherwise text written from FreeBSD's formats, said so where used."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.errors import SSHError, UsageError
from harness.guests.freebsd import boot, fingerprint, probes
from harness.guests.freebsd.kernel import check_userland, load_build, release_floor
from harness.guests.freebsd.shell import GuestSetupError
from harness.images.manifest import load_manifests, select
from harness.run import freebsd_session
from harness.settings import fixtures_dir
from harness.vm.console import CommandResult
from harness.workloads.catalogue import load_catalogue, render

FREEBSD = fixtures_dir() / "freebsd"
MIB = 1 << 20


def _real(name: str) -> str:
    path = FREEBSD / name
    if not path.is_file():
        pytest.skip(f"no real FreeBSD transcript at {path}")
    return path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def limits_12_1() -> probes.GuestLimits:
    """The probe's view of the real 12.1 guest (its sysctl -a, which holds every probed name) with cc and nm."""
    return probes.parse_limits(_real("sysctl-a__12.1-RELEASE__amd64__1.txt") + "tool: cc\ntool: nm\n")


def _fit(name: str, params: dict[str, Any], limits: probes.GuestLimits) -> dict[str, Any]:
    workload = load_catalogue().get(name)
    merged = workload.with_params(params)
    return freebsd_session.fit_params(workload, merged, limits=limits, release="12.1-RELEASE", compile_in_guest=True)


def test_probe_reads_the_real_guest_limits(limits_12_1: probes.GuestLimits) -> None:
    assert limits_12_1.max_threads_per_proc == 1500
    assert limits_12_1.physmem == 2107092992 and limits_12_1.page_size == 4096
    assert limits_12_1.free_pages == 467629 and limits_12_1.swap_total == 1073709056
    assert limits_12_1.tools == {"cc", "nm"}


# -- H4: threads per process ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["thread-hold", "thread-churn", "burst-and-idle", "swap-pressure"])
def test_no_default_exceeds_max_threads_per_proc(name: str, limits_12_1: probes.GuestLimits) -> None:
    """Every FreeBSD workload's defaults fit a stock guest (burst-and-idle asked for 2000 > 1500)."""
    assert _fit(name, {}, limits_12_1)


def test_a_burst_beyond_the_guests_limit_is_refused_in_one_line(limits_12_1: probes.GuestLimits) -> None:
    with pytest.raises(UsageError) as info:
        _fit("burst-and-idle", {"threads": 1500}, limits_12_1)
    line = info.value.one_line()
    assert "\n" not in line and "kern.threads.max_threads_per_proc=1500" in line and "threads=1499" in line
    assert _fit("burst-and-idle", {"threads": 1499}, limits_12_1)["threads"] == 1499


# -- M1: the swap-pressure hog ----------------------------------------------------------------------------------


def test_swap_hog_is_sized_from_the_guest_between_free_ram_and_swap(limits_12_1: probes.GuestLimits) -> None:
    mib = _fit("swap-pressure", {}, limits_12_1)["mib"]
    free, swap = 467629 * 4096, 1073709056
    assert (
        free // MIB < mib <= (free + swap // 2) // MIB
    )  # forces swapping, leaves half the swap: no OOM kill before the plateau


def test_an_explicit_hog_that_would_exhaust_swap_is_refused(limits_12_1: probes.GuestLimits) -> None:
    with pytest.raises(UsageError, match="OOM killer") as info:
        _fit("swap-pressure", {"mib": 2900}, limits_12_1)
    assert "swap-pressure:mib=2338 or 0" in info.value.one_line()
    assert _fit("swap-pressure", {"mib": 2000}, limits_12_1)["mib"] == 2000


def test_the_guest_side_fallback_uses_free_memory_and_swap_not_110_percent_of_ram() -> None:
    script = render(load_catalogue().get("swap-pressure"), guest_os="freebsd", run_id="t", workdir="/var/tmp/h").script
    assert "v_free_count" in script and "vm.swap_total) / 2" in script and "* 11 / 10" not in script


# -- M6: cc and nm ----------------------------------------------------------------------------------------------


def test_a_guest_without_cc_is_refused_before_the_workload(limits_12_1: probes.GuestLimits) -> None:
    no_cc = dataclasses.replace(limits_12_1, tools=frozenset({"nm"}))
    with pytest.raises(UsageError, match="has no cc") as info:
        _fit("thread-hold", {}, no_cc)
    assert "FreeBSD-clang" in info.value.one_line()


class _Shell:
    def __init__(self, missing: set[str]) -> None:
        self.missing = missing
        self.commands: list[str] = []

    def run(self, command: str, timeout: float = 60.0) -> CommandResult:
        self.commands.append(command)
        ok = not (command.startswith("command -v ") and command.split()[-1] in self.missing)
        return CommandResult(command=command, output="", status=0 if ok else 1)


def test_fingerprint_without_nm_says_why_in_one_line() -> None:
    shell = _Shell({"nm"})
    with pytest.raises(GuestSetupError, match="has no nm") as info:
        fingerprint.take(shell)
    assert "\n" not in info.value.one_line()
    assert not any(c.startswith("nm ") for c in shell.commands)


# -- L5: the NIC, when SSH does not come up ---------------------------------------------------------------------


def _ifconfig_13_2() -> str:
    text = _real("console-login__13.2-RELEASE__amd64__1.txt")
    start = text.index("vtnet0: flags=")
    return text[start : text.index("root@freebsd", start)]


def test_a_nic_with_an_address_is_not_blamed() -> None:
    assert probes.interfaces_with_ipv4(_ifconfig_13_2()) == {"vtnet0": ["192.168.48.166"]}
    assert probes.network_diagnosis(_ifconfig_13_2(), "virtio-net-pci", "freebsd-amd64") is None


def test_a_nic_without_a_lease_is_named_with_the_fix() -> None:
    no_lease = "\n".join(
        line for line in _ifconfig_13_2().splitlines() if "\tinet " not in line and " inet " not in line
    )
    said = probes.network_diagnosis(no_lease, "virtio-net-pci", "freebsd-amd64")
    assert said is not None and "vtnet0 has no IPv4 address" in said and 'net = "rtl8139"' in said
    # ifconfig's format with only the loopback (sbin/ifconfig: "<name>: flags=..."): no NIC attached at all.
    lo_only = "lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> metric 0 mtu 16384\n\tinet 127.0.0.1 netmask 0xff000000\n"
    assert "no network interface attached" in (probes.network_diagnosis(lo_only, "e1000", "freebsd-amd64") or "")


def test_ssh_failure_reads_ifconfig_on_the_console_and_names_the_nic() -> None:
    no_lease = (
        "vtnet0: flags=8863<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500\n\tether 52:54:00:12:34:56\n"
    )

    class Machine:
        console = SimpleNamespace(run=lambda command, timeout: CommandResult(command, no_lease, 0))

        def ssh(self, key: object, timeout: float) -> object:
            raise SSHError("SSH to root@127.0.0.1:2222 did not answer within 600 s")

    vm = SimpleNamespace(devices=SimpleNamespace(net="virtio-net-pci"), name="freebsd-amd64")
    with pytest.raises(GuestSetupError, match="NIC") as info:
        boot.first_ssh(Machine(), object(), vm, 1.0, 1.0)  # type: ignore[arg-type]
    assert "\n" not in info.value.one_line()


# -- M2: the image's userland against the kernel's source age ----------------------------------------------------


def _kernel_dir(tmp_path: Path, version_line: str, metadata: dict[str, Any] | None = None) -> Path:
    """A kernel directory; the ``kernel`` file holds version[] as sys/conf/newvers.sh writes it (NUL-terminated)."""
    directory = tmp_path / "boot" / "kernel"
    directory.mkdir(parents=True)
    (directory / "kernel").write_bytes(b"\x7fELF...." + version_line.encode() + b"\x00rest")
    if metadata is not None:
        (directory / "metadata.json").write_text(json.dumps(metadata))
    return directory


D24473_BASE = (
    "FreeBSD 13.0-CURRENT #0 r360353: Sat Apr 25 12:00:00 UTC 2020\n"
    "    root@builder:/usr/obj/usr/src/amd64.amd64/sys/HARNESS_0123456789AB\n"
)


def test_a_2020_head_kernel_is_refused_on_the_14_4_userland(tmp_path: Path) -> None:
    build = load_build(
        _kernel_dir(tmp_path, D24473_BASE, {"ident": "HARNESS_0123456789AB", "freebsd_version": 1300090})
    )
    assert build.freebsd_version == 1300090
    with pytest.raises(UsageError, match=r"older than the FreeBSD 14\.4 image") as info:
        check_userland(build, "14.4")
    assert "\n" not in info.value.one_line()
    check_userland(build, "12.4")  # an older userland on a newer kernel is what FreeBSD supports


def test_without_release_the_image_is_chosen_by_the_kernels_age(tmp_path: Path) -> None:
    kernel = _kernel_dir(tmp_path, D24473_BASE)  # no metadata: the floor of the version string, 1300000
    request = SimpleNamespace(release=None, kernel=kernel, arch="amd64")
    assert freebsd_session.resolve_release(request) == "12.4-RELEASE"
    request14 = SimpleNamespace(release=None, kernel=None, arch="amd64")
    assert freebsd_session.resolve_release(request14) == select("14", "amd64", load_manifests()).release


def test_release_floor_follows_param_h_numbering() -> None:
    assert release_floor("14.4") == 1404000 and release_floor("FreeBSD 13.0-CURRENT #0 r360353: x") == 1300000
    assert release_floor("no version") is None


# -- L4: images whose console the VMs cannot show ----------------------------------------------------------------


def test_a_plain_bios_image_is_refused_before_any_vm_starts(tmp_path: Path) -> None:
    manifest = dataclasses.replace(select("14", "amd64", load_manifests()), firmware="bios", serial_console=False)
    with pytest.raises(UsageError, match="console on VGA") as info, boot.booted(manifest, None, tmp_path):  # type: ignore[arg-type]
        pass
    assert 'firmware = "uefi"' in info.value.one_line()
    assert not any(tmp_path.iterdir()), "nothing was created: no overlay, no key, no QEMU"
