"""The parts of the FreeBSD kernel install that are not FreeBSD-specific, on a real QEMU guest: the Linux test
guest (harness/guests/linuxtest). The kernel directory goes over real SFTP into a staging directory, is checked
and moved into /boot/<name>/, exactly as on FreeBSD; only FreeBSD's ``sha256 -q`` is given a stand-in there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.guests.freebsd.kernel import load_build, upload
from harness.guests.freebsd.shell import GuestSetupError, must

pytestmark = pytest.mark.integration

#: FreeBSD's sha256(1) -q prints the bare digest; busybox has sha256sum.
SHA256_STANDIN = 'printf \'#!/bin/sh\\nsha256sum "$2" | cut -d" " -f1\\n\' > /bin/sha256 && chmod +x /bin/sha256'


def test_kernel_directory_upload_over_real_sftp(tmp_path: Path) -> None:
    from harness.guests.linuxtest.boot import booted

    kernel_dir = tmp_path / "kernel-build"
    kernel_dir.mkdir()
    (kernel_dir / "kernel").write_bytes(b"\x7fELF" + os.urandom(3 << 20) + b"FreeBSD 14.4-RELEASE KSTACK\n\x00")
    (kernel_dir / "linker.hints").write_bytes(os.urandom(512))
    (kernel_dir / "kernel.debug").write_bytes(b"stays home")
    build = load_build(kernel_dir, name="testk")
    with booted("amd64", tmp_path / "run") as guest:
        ssh = guest.ssh()
        must(ssh, SHA256_STANDIN, why="installing the sha256 stand-in")
        must(ssh, "mkdir -p /boot/testk && echo old > /boot/testk/stale", why="an old kernel dir")
        target = upload(build, ssh, ssh)
        assert target == "/boot/testk"
        listing = must(ssh, "ls /boot/testk; ls -d /boot/testk.harness-new 2>/dev/null; true", why="listing")
        assert sorted(listing.split()) == ["kernel", "linker.hints"], "old contents replaced, staging dir gone"
        back = tmp_path / "kernel.back"
        ssh.get("/boot/testk/kernel", back)
        assert back.read_bytes() == (kernel_dir / "kernel").read_bytes()
        with pytest.raises(GuestSetupError, match="No such file or directory"):
            must(ssh, "ls /boot/no-such-kernel", why="listing a missing kernel")
