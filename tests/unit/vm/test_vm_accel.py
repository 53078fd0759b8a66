"""The KVM probe: a vCPU must really execute code; TCG is the fallback, announced once."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harness.steps import StepEvent, listening
from harness.vm import accel


def test_probe_bios_has_the_exit_code_at_the_reset_vector() -> None:
    rom = accel.probe_bios()
    assert len(rom) == 0x10000
    assert rom[0xFFF0:0xFFF4] == bytes([0xB0, 0x31, 0xE6, 0xF4])  # mov al,0x31; out 0xf4,al


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86_64 not installed")
def test_probe_bios_runs_under_tcg_and_exits_with_the_expected_code(tmp_path: Path) -> None:
    bios = tmp_path / "probe.bin"
    bios.write_bytes(accel.probe_bios())
    cmd = [
        "qemu-system-x86_64",
        "-accel",
        "tcg",
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
        "isa-debug-exit,iobase=0xf4,iosize=1",
    ]
    assert subprocess.run(cmd, capture_output=True, timeout=30, check=False).returncode == (0x31 << 1) | 1


def test_wrong_host_arch_is_a_reason_not_an_error() -> None:
    reason = accel.kvm_unusable_reason(
        "qemu-system-aarch64", "arm64" if accel.platform.machine() == "x86_64" else "amd64"
    )
    assert reason is not None and "host is" in reason


def test_fallback_to_tcg_is_announced_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accel, "kvm_unusable_reason", lambda qemu, arch: "no /dev/kvm here")
    events: list[StepEvent] = []
    with listening(events.append):
        choice = accel.choose("qemu-system-x86_64", "amd64", ("kvm", "tcg"))
    assert (choice.accel, choice.reason) == ("tcg", "no /dev/kvm here")
    notes = [e for e in events if e.state == "note"]
    assert len(notes) == 1 and "using TCG" in (notes[0].message or "")


def test_working_kvm_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accel, "kvm_unusable_reason", lambda qemu, arch: None)
    assert accel.choose("qemu-system-x86_64", "amd64", ("kvm", "tcg")).accel == "kvm"
    assert accel.choose("qemu-system-x86_64", "amd64", ("tcg",)).accel == "tcg"
    assert accel.choose("qemu-system-x86_64", "amd64", ("kvm", "tcg"), forced="tcg").accel == "tcg"
