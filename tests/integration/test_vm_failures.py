"""Launch and boot failures give a clear error with the command, exit code, stderr and last console lines."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.errors import ConsoleTimeout, HostError, VMLaunchFailure
from harness.guests.linuxtest.boot import machine_for
from harness.vm import profile as profiles
from harness.vm.machine import BootSpec, Machine
from harness.vm.profile import Firmware

pytestmark = pytest.mark.integration


def test_bad_qemu_option_fails_launch_with_command_exit_code_and_stderr(tmp_path: Path) -> None:
    vm = Machine(profiles.load("linuxtest-amd64"), BootSpec(extra_args=("-no-such-option",)), tmp_path)
    with pytest.raises(VMLaunchFailure) as caught:
        vm.launch()
    error = caught.value
    assert error.exitcode == 1
    assert "-no-such-option" in error.command
    assert "invalid option" in error.stderr
    assert "invalid option" in error.message and "last console lines" in error.message
    assert error.exit_code == 2
    assert not vm.running


def test_missing_firmware_file_is_named_with_the_fix(tmp_path: Path) -> None:
    arm64 = profiles.load("linuxtest-arm64")
    missing = str(tmp_path / "AAVMF_CODE.fd")
    broken = dataclasses.replace(arm64, firmware=Firmware(code=(missing,), vars=arm64.firmware.vars))  # type: ignore[union-attr]
    vm = Machine(broken, BootSpec(), tmp_path)
    with pytest.raises(HostError) as caught:
        vm.launch()
    assert missing in caught.value.message
    assert "qemu-efi-aarch64" in (caught.value.hint or "")
    assert vm.process is None  # nothing was started


def test_missing_firmware_given_to_qemu_reports_its_stderr(tmp_path: Path) -> None:
    """A firmware path QEMU itself cannot open (e.g. a profile's extra_args) is a launch failure with stderr."""
    missing = tmp_path / "missing.fd"
    vm = Machine(profiles.load("linuxtest-amd64"), BootSpec(extra_args=("-bios", str(missing))), tmp_path)
    with pytest.raises(VMLaunchFailure) as caught:
        vm.launch()
    assert str(missing) in caught.value.stderr
    assert caught.value.exitcode == 1


def test_guest_that_never_reaches_login_times_out_with_last_console_lines(tmp_path: Path) -> None:
    # rdinit=/bin/sh: the kernel runs a bare shell as PID 1, the guest's init never starts, so the prompt the
    # adapter waits for never comes.
    vm, adapter, _key, _guest = machine_for("amd64", tmp_path, append="rdinit=/bin/sh")
    with pytest.raises(ConsoleTimeout) as caught, vm:
        adapter.login(vm.console, timeout=12)
    error = caught.value
    assert error.last_lines, "the error carries the last console lines"
    assert "job control turned off" in "\n".join(error.last_lines)
    assert "last console lines:" in error.message
    assert "12 s" in error.message
    assert not vm.running
