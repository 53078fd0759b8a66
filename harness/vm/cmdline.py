"""The QEMU command line for a profile and a boot spec: a pure function, so it is unit-tested without QEMU."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.vm.profile import VMProfile

if TYPE_CHECKING:
    from harness.vm.machine import BootSpec


@dataclass(frozen=True)
class RunPaths:
    serial: Path
    qmp: Path
    firmware_vars: Path
    disks: tuple[Path, ...]
    #: An open file descriptor holding a saved VM state (``harness.vm.snapshot``): QEMU loads it instead of booting.
    incoming_fd: int | None = None


def build_command(
    profile: VMProfile,
    boot: BootSpec,
    paths: RunPaths,
    accel: str,
    firmware: tuple[Path, Path] | None,
    ssh_guest_port: int | None,
) -> list[str]:
    cmd = [profile.qemu, *_machine(profile, accel)]
    cmd += ["-m", str(profile.memory_mb), "-smp", str(profile.cpus)]
    cmd += _numa(profile)
    cmd += ["-display", "none", "-nodefaults", "-no-user-config"]
    if profile.no_reboot:
        cmd.append("-no-reboot")
    cmd += ["-action", f"panic={profile.panic_action}"]
    # wait=on: QEMU does not run the guest until the harness is connected, so no early console byte is lost.
    cmd += ["-chardev", f"socket,id=serial0,path={paths.serial},server=on,wait=on", "-serial", "chardev:serial0"]
    cmd += ["-qmp", f"unix:{paths.qmp},server=on,wait=off"]
    cmd += _network(profile, ssh_guest_port)
    if profile.devices.rng:
        cmd += ["-object", "rng-random,id=rng0,filename=/dev/urandom", "-device", f"{profile.devices.rng},rng=rng0"]
    if profile.devices.panic:
        cmd += ["-device", profile.devices.panic]
    if firmware:
        code, _ = firmware
        cmd += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={code}"]
        cmd += ["-drive", f"if=pflash,format=raw,unit=1,file={paths.firmware_vars}"]
    cmd += _disks(profile, boot, paths)
    if boot.kernel:
        cmd += ["-kernel", str(boot.kernel)]
        if boot.initrd:
            cmd += ["-initrd", str(boot.initrd)]
        append = " ".join(
            p for p in (f"console={profile.console_tty}" if profile.console_tty else "", boot.append) if p
        )
        if append:
            cmd += ["-append", append]
    cmd += [*profile.extra_args, *boot.extra_args]
    if paths.incoming_fd is not None:
        # Same machine and devices as the boot that saved the state: only where it comes from is added.
        cmd += ["-incoming", f"fd:{paths.incoming_fd}"]
    return cmd


def _machine(profile: VMProfile, accel: str) -> list[str]:
    machine = ",".join([profile.machine, *profile.machine_options])
    accel_arg = accel
    if accel == "tcg" and profile.tcg_thread:
        accel_arg = f"tcg,thread={profile.tcg_thread}"
    return ["-machine", machine, "-accel", accel_arg, "-cpu", profile.cpu_for(accel)]


def _numa(profile: VMProfile) -> list[str]:
    args: list[str] = []
    for index, node in enumerate(profile.numa):
        args += ["-object", f"memory-backend-ram,id=mem{index},size={node.memory_mb}M"]
        args += ["-numa", f"node,nodeid={index},cpus={node.cpus},memdev=mem{index}"]
    return args


#: The user-mode network's id, named again by ``hostfwd_add`` when the SSH forward is added after launch.
NETDEV_ID = "net0"


def _network(profile: VMProfile, ssh_guest_port: int | None) -> list[str]:
    # restrict=on: the guest reaches nothing outside QEMU; the forward on 127.0.0.1 still works. Port 0 lets
    # QEMU pick a free host port (read back with `info usernet`), which is race-free unlike bind-and-close.
    netdev = f"user,id={NETDEV_ID},restrict=on"
    if ssh_guest_port is not None:
        netdev += f",hostfwd=tcp:127.0.0.1:0-:{ssh_guest_port}"
    return ["-netdev", netdev, "-device", f"{profile.devices.net},netdev={NETDEV_ID}"]


def _disks(profile: VMProfile, boot: BootSpec, paths: RunPaths) -> list[str]:
    args: list[str] = []
    for index, (disk, overlay) in enumerate(zip(boot.disks, paths.disks, strict=True)):
        if disk.overlay:
            drive = f"if=none,id=disk{index},format=qcow2,file={overlay}"
        else:
            drive = f"if=none,id=disk{index},format={disk.format},file={disk.base}"
        device = f"{profile.devices.disk},drive=disk{index}"
        if boot.kernel is None:  # firmware boots from the disks; a direct -kernel boot owns bootindex 0 itself
            device += f",bootindex={index}"
        args += ["-drive", drive, "-device", device]
    return args
