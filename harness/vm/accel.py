"""Is KVM really usable? A ``/dev/kvm`` can exist and still run no standard guest (this project's CI host has
``kvm_pvm``, a software nested-virtualisation module), so the probe makes a vCPU execute real code.

amd64: a 64 KiB BIOS whose reset vector writes to QEMU's ``isa-debug-exit`` port; QEMU then exits with
``(value << 1) | 1``. If KVM runs that instruction, KVM works. arm64: QEMU must start ``-accel kvm -cpu host``
on ``virt`` (KVM on arm64 runs only on an arm64 host, where that is the usual failure).
"""

from __future__ import annotations

import os
import platform
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.steps import note

_EXIT_PORT = 0xF4
_EXIT_VALUE = 0x31
_EXPECTED_CODE = (_EXIT_VALUE << 1) | 1
_HOST_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class AccelChoice:
    accel: str
    reason: str


def probe_bios() -> bytes:
    """64 KiB of ROM: at the reset vector (0xFFFF0) ``mov al, 0x31; out 0xf4, al; hlt; jmp $``."""
    code = bytes([0xB0, _EXIT_VALUE, 0xE6, _EXIT_PORT, 0xF4, 0xEB, 0xFE])
    rom = bytearray(b"\xf4" * 0x10000)
    rom[0xFFF0 : 0xFFF0 + len(code)] = code
    return bytes(rom)


def kvm_unusable_reason(qemu: str, arch: str, timeout: float = 10.0) -> str | None:
    """None if KVM runs guest code for ``arch`` on this host, else why not (one line)."""
    if _HOST_ARCH.get(platform.machine()) != arch:
        return f"host is {platform.machine()}, guest is {arch}"
    if not os.path.exists("/dev/kvm"):
        return "/dev/kvm does not exist"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "/dev/kvm is not accessible (add the user to the kvm group)"
    if Path("/sys/module/kvm_pvm").is_dir():
        return "/dev/kvm is kvm_pvm (software nested virtualisation), which runs no standard guest kernel"
    if arch == "amd64":
        return _probe_x86(qemu, timeout)
    return _probe_generic(qemu, timeout)


def _probe_x86(qemu: str, timeout: float) -> str | None:
    with tempfile.TemporaryDirectory(prefix="harness-kvm-probe-") as tmp:
        bios = Path(tmp) / "probe.bin"
        bios.write_bytes(probe_bios())
        cmd = [
            qemu,
            "-accel",
            "kvm",
            "-cpu",
            "host",
            "-machine",
            "pc",
            "-m",
            "16",
            "-display",
            "none",
            "-nodefaults",
            "-bios",
            str(bios),
            "-device",
            f"isa-debug-exit,iobase={_EXIT_PORT:#x},iosize=1",
        ]
        return _run_probe(cmd, timeout, _EXPECTED_CODE)


def _probe_generic(qemu: str, timeout: float) -> str | None:
    cmd = [
        qemu,
        "-accel",
        "kvm",
        "-cpu",
        "host",
        "-machine",
        "virt",
        "-m",
        "64",
        "-display",
        "none",
        "-nodefaults",
        "-S",
        "-qmp",
        "stdio",
    ]
    try:
        proc = subprocess.run(
            cmd,
            input='{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n',
            text=True,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"QEMU did not start under KVM within {timeout:.0f} s"
    except FileNotFoundError:
        return f"{qemu} not found"
    if proc.returncode != 0:
        return f"QEMU under KVM failed: {_last_line(proc.stderr)}"
    return None


def _run_probe(cmd: list[str], timeout: float, expected: int) -> str | None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"a KVM vCPU did not run 4 instructions within {timeout:.0f} s"
    except FileNotFoundError:
        return f"{cmd[0]} not found"
    if proc.returncode == expected:
        return None
    return f"KVM probe exited {proc.returncode}: {_last_line(proc.stderr) or 'no message'}"


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def choose(qemu: str, arch: str, preferred: tuple[str, ...], forced: str | None = None) -> AccelChoice:
    """The first accelerator of ``preferred`` that works here; KVM is probed, TCG always works.

    Falling back from KVM to TCG is announced with one step note (a one-line warning on the CLI).
    """
    if forced:
        return AccelChoice(forced, "forced")
    skipped: list[str] = []
    for accel in preferred:
        if accel == "tcg":
            if skipped:
                note("accelerator", f"KVM unusable ({skipped[0]}); using TCG", arch=arch)
            return AccelChoice("tcg", skipped[0] if skipped else "preferred")
        reason = kvm_unusable_reason(qemu, arch)
        if reason is None:
            return AccelChoice("kvm", "probe ran guest code")
        skipped.append(reason)
    return AccelChoice("tcg", "; ".join(skipped) or "no accelerator listed")
