"""VM profiles (vm_configs/*.toml) and the QEMU command lines built from them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.errors import ConfigError, HostError, UsageError
from harness.vm import profile as profiles
from harness.vm.cmdline import RunPaths, build_command
from harness.vm.machine import BootSpec, Disk
from harness.vm.profile import Firmware, NumaNode

PATHS = RunPaths(Path("/s/serial.sock"), Path("/s/qmp.sock"), Path("/r/vars.fd"), ())
ONE_DISK = dataclasses.replace(PATHS, disks=(Path("/r/disk0.qcow2"),))


def args_after(cmd: list[str], flag: str) -> list[str]:
    return [cmd[i + 1] for i, arg in enumerate(cmd) if arg == flag]


@pytest.mark.parametrize("name", profiles.available())
def test_every_shipped_profile_loads(name: str) -> None:
    profile = profiles.load(name)
    assert profile.arch in {"amd64", "arm64"}
    assert profile.accelerators[-1] == "tcg", "TCG must remain as the fallback"
    assert set(profile.cpu) >= set(profile.accelerators)


def test_freebsd_profiles_follow_the_freebsd_facts() -> None:
    amd64 = profiles.load("freebsd-amd64")
    assert (amd64.machine, amd64.cpu["tcg"], amd64.cpu["kvm"]) == ("pc", "qemu64", "host")
    assert not amd64.no_reboot, "the harness reboots FreeBSD into the test kernel"
    arm64 = profiles.load("freebsd-arm64")
    assert arm64.machine == "virt" and "gic-version=3" in arm64.machine_options
    assert arm64.cpu["tcg"].startswith("max") and arm64.cpu["kvm"] == "host"
    assert arm64.firmware is not None, "arm64 images hold only an ESP: UEFI is mandatory"


def test_amd64_command_line(tmp_path: Path) -> None:
    profile = profiles.load("linuxtest-amd64")
    boot = BootSpec(kernel=Path("/k/bzImage"), initrd=Path("/k/initrd"), append="quiet")
    cmd = build_command(profile, boot, PATHS, "tcg", None, 22)
    assert cmd[0] == "qemu-system-x86_64"
    assert args_after(cmd, "-accel") == ["tcg,thread=multi"]
    assert args_after(cmd, "-cpu") == ["qemu64"]
    assert args_after(cmd, "-machine") == ["pc"]
    assert args_after(cmd, "-append") == ["console=ttyS0 quiet"]
    assert args_after(cmd, "-netdev") == ["user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:0-:22"]
    assert "socket,id=serial0,path=/s/serial.sock,server=on,wait=on" in args_after(cmd, "-chardev")
    assert args_after(cmd, "-qmp") == ["unix:/s/qmp.sock,server=on,wait=off"]
    assert args_after(cmd, "-action") == ["panic=none"]
    assert "virtio-rng-pci,rng=rng0" in args_after(cmd, "-device")
    assert "pvpanic" in args_after(cmd, "-device")
    assert "-no-reboot" in cmd


def test_kvm_uses_the_kvm_cpu_model() -> None:
    cmd = build_command(profiles.load("freebsd-amd64"), BootSpec(), PATHS, "kvm", None, 22)
    assert args_after(cmd, "-accel") == ["kvm"] and args_after(cmd, "-cpu") == ["host"]
    assert "-no-reboot" not in cmd


def test_arm64_uefi_disks_overlays_and_numa() -> None:
    profile = dataclasses.replace(
        profiles.load("freebsd-arm64"), numa=(NumaNode("0", 2048), NumaNode("1", 2048)), memory_mb=4096
    )
    boot = BootSpec(disks=(Disk(Path("/img/base.qcow2")),))
    cmd = build_command(profile, boot, ONE_DISK, "tcg", (Path("/fw/CODE.fd"), Path("/fw/VARS.fd")), 22)
    assert args_after(cmd, "-machine") == ["virt,gic-version=3"]
    drives = args_after(cmd, "-drive")
    assert "if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd" in drives
    assert "if=pflash,format=raw,unit=1,file=/r/vars.fd" in drives, "vars: a per-run writable copy"
    assert "if=none,id=disk0,format=qcow2,file=/r/disk0.qcow2" in drives, "the base image is never opened rw"
    assert "virtio-blk-pci,drive=disk0,bootindex=0" in args_after(cmd, "-device")
    assert args_after(cmd, "-numa") == ["node,nodeid=0,cpus=0,memdev=mem0", "node,nodeid=1,cpus=1,memdev=mem1"]
    assert "-kernel" not in cmd


def test_no_ssh_forward_when_not_wanted() -> None:
    cmd = build_command(profiles.load("linuxtest-amd64"), BootSpec(), PATHS, "tcg", None, None)
    assert args_after(cmd, "-netdev") == ["user,id=net0,restrict=on"]


def test_missing_firmware_names_the_candidates(tmp_path: Path) -> None:
    firmware = Firmware(code=(str(tmp_path / "a.fd"), str(tmp_path / "b.fd")), vars=(str(tmp_path / "v.fd"),))
    with pytest.raises(HostError) as caught:
        firmware.resolve()
    assert str(tmp_path / "a.fd") in caught.value.message and str(tmp_path / "b.fd") in caught.value.message


def test_unknown_profile_is_a_usage_error_listing_the_known_ones() -> None:
    with pytest.raises(UsageError) as caught:
        profiles.load("no-such-profile")
    assert "linuxtest-amd64" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("edit", "complaint"),
    [
        ("memory_mb = 512", "memory_mb = 32"),
        ('accelerators = ["kvm", "tcg"]', 'accelerators = ["hvf"]'),
        ('panic_action = "none"', 'panic_action = "explode"'),
        ('qemu = "qemu-system-x86_64"', ""),
    ],
)
def test_malformed_profile_is_a_config_error(tmp_path: Path, edit: str, complaint: str) -> None:
    text = profiles.profile_path("linuxtest-amd64").read_text()
    assert edit in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(edit, complaint))
    with pytest.raises(ConfigError) as caught:
        profiles.load(str(bad))
    assert str(bad) in caught.value.message


def test_numa_memory_must_add_up(tmp_path: Path) -> None:
    text = profiles.profile_path("freebsd-amd64-numa").read_text().replace("memory_mb = 2048", "memory_mb = 1000", 1)
    bad = tmp_path / "numa.toml"
    bad.write_text(text)
    with pytest.raises(ConfigError, match="numa"):
        profiles.load(str(bad))


def test_direct_kernel_boot_leaves_bootindex_to_qemu() -> None:
    boot = BootSpec(kernel=Path("/k/bzImage"), disks=(Disk(Path("/img/base.qcow2")),))
    cmd = build_command(profiles.load("linuxtest-amd64"), boot, ONE_DISK, "tcg", None, 22)
    assert "virtio-blk-pci,drive=disk0" in args_after(cmd, "-device")
    assert not any("bootindex" in arg for arg in cmd)
