"""The parts of the FreeBSD kernel install that are not FreeBSD-specific, on a real QEMU guest: the Linux test
guest (harness/guests/linuxtest). The kernel directory goes over real SFTP into a staging directory, is checked
and moved into /boot/<name>/, exactly as on FreeBSD; only FreeBSD's ``sha256 -q`` is given a stand-in there.

The reboot is the FreeBSD path's own (``boot.ssh_reboot`` + ``boot.reboot_console``): close SSH, reboot on the
serial console, wait for the guest to go down and for the new boot's shell, fresh SSH on the same forwarded port.
FreeBSD-only commands get stand-ins that behave as FreeBSD's do. The test guest's root is RAM, so /boot and the
stand-ins live on a scratch disk as FreeBSD's live on its UFS root; after each boot the test unpacks it and runs
the loader stand-in (nextboot.conf is one-shot, as loader(8) makes it), which stands in for the boot loader."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from harness.errors import SSHError
from harness.guests.freebsd.boot import reboot_console, ssh_reboot
from harness.guests.freebsd.kernel import KernelNotBooted, install_and_boot, load_build, read_proof, upload
from harness.guests.freebsd.shell import GuestSetupError, must
from harness.vm import profile as profiles
from harness.vm.ssh import SSHSession

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


#: Stand-ins for what FreeBSD has and the busybox guest lacks, in /usr/local/bin (on dropbear's PATH).
STANDINS = {
    "persist": """#!/bin/sh
# What FreeBSD keeps on its root disk, kept on the scratch disk (the test guest's root is RAM).
tar -cf /dev/vda /boot /usr/local/bin /bin/sha256 /etc/passwd /etc/shells && sync
""",
    "nextboot": """#!/bin/sh
# nextboot -k NAME, as FreeBSD's nextboot.sh writes it: a one-shot /boot/nextboot.conf.
[ "$1" = "-k" ] && [ -n "$2" ] || { echo "usage: nextboot -k kernel" >&2; exit 1; }
[ -f "/boot/$2/kernel" ] || { echo "Error: /boot/$2 doesn't contain a kernel!" >&2; exit 1; }
printf 'nextboot_enable="YES"\\nkernel="%s"\\n' "$2" > /boot/nextboot.conf && persist
""",
    "loader": """#!/bin/sh
# loader(8)'s choice of kernel: nextboot.conf once (rewritten to "NO" before booting), else /boot/kernel.
kernel=kernel
if grep -q '^nextboot_enable="YES"' /boot/nextboot.conf 2>/dev/null; then
  kernel=$(sed -n 's/^kernel="\\(.*\\)"$/\\1/p' /boot/nextboot.conf)
  sed -i 's/^nextboot_enable="YES"/nextboot_enable="NO"/' /boot/nextboot.conf && persist
fi
[ -f "/boot/$kernel/kernel" ] || kernel=kernel
echo "/boot/$kernel/kernel" > /run/freebsd-bootfile
""",
    "freebsd-sysctl": """#!/bin/sh
# kern.bootfile and kern.ident of the kernel the loader stand-in booted, read from that kernel's version[].
bootfile=$(cat /run/freebsd-bootfile)
version=$(strings "$bootfile" | sed -n 's/.*\\(FreeBSD [0-9]\\)/\\1/p' | head -n1)
case "$*" in
  "-n kern.bootfile") echo "$bootfile" ;;
  "-n kern.ident") echo "$version" | awk '{print $NF}' ;;
  "-n kern.version") echo "$version" ;;
  *) exec /bin/busybox sysctl "$@" ;;
esac
""",
    "freebsd-uname": """#!/bin/sh
# uname -v prints the booted kernel's version[] (FreeBSD's kern.version); anything else is busybox's uname.
if [ "$*" = "-v" ]; then /usr/local/bin/freebsd-sysctl -n kern.version; exit; fi
exec /bin/busybox uname "$@"
""",
    "freebsd-sh": """#!/bin/sh
# root's login shell for SSH: busybox ash runs its own sysctl and uname applets before any PATH entry.
sysctl() { /usr/local/bin/freebsd-sysctl "$@"; }
uname() { /usr/local/bin/freebsd-uname "$@"; }
if [ "$1" = "-c" ]; then eval "$2"; exit; fi
exec /bin/sh "$@"
""",
}
DEFAULT_VERSION = b"FreeBSD 14.4-RELEASE releng/14.4-n271234-a8f9c93 GENERIC\n"
TEST_VERSION = b"FreeBSD 14.4-RELEASE releng/14.4-n271234-a8f9c93 KSTACKTEST\n"
#: Early in each boot, on the console: the "root disk" back from the scratch disk, then the loader stand-in.
AFTER_BOOT = "tar -xf /dev/vda -C / && PATH=/usr/local/bin:$PATH loader"


def _kernel_dir(parent: Path, name: str, version: bytes, metadata: str | None = None) -> Path:
    directory = parent / name
    directory.mkdir()
    (directory / "kernel").write_bytes(b"\x7fELF" + os.urandom(64 << 10) + version + b"\x00" + os.urandom(4096))
    if metadata is not None:
        (directory / "metadata.json").write_text(metadata)
    return directory


def _install_standins(ssh: SSHSession, tmp_path: Path) -> None:
    must(ssh, f"mkdir -p /usr/local/bin /boot/kernel && {SHA256_STANDIN}", why="installing the sha256 stand-in")
    for name, text in STANDINS.items():
        (tmp_path / name).write_text(text)
        ssh.put(tmp_path / name, f"/usr/local/bin/{name}")
    ssh.put(_kernel_dir(tmp_path, "default-kernel", DEFAULT_VERSION) / "kernel", "/boot/kernel/kernel")
    # dropbear accepts only a login shell listed in /etc/shells.
    login_shell = (
        "sed -i 's,^root:\\(.*\\):/bin/sh$,root:\\1:/usr/local/bin/freebsd-sh,' /etc/passwd"
        " && echo /usr/local/bin/freebsd-sh >> /etc/shells"
    )
    must(ssh, f"chmod +x /usr/local/bin/* && {login_shell} && persist && {AFTER_BOOT}", why="the stand-ins")


def test_nextboot_reboot_and_proof_through_the_freebsd_reboot_path(tmp_path: Path) -> None:
    from harness.guests.linuxtest.boot import booted

    disk = tmp_path / "scratch.raw"
    with disk.open("wb") as f:
        f.truncate(16 << 20)
    drive = ("-drive", f"file={disk},format=raw,if=none,id=scratch", "-device", "virtio-blk-pci,drive=scratch")
    # The profile's no_reboot = true makes QEMU exit when the guest reboots; here the guest must come back, as
    # FreeBSD's does under its own profile (no -no-reboot there).
    profile = dataclasses.replace(profiles.load("linuxtest-amd64"), no_reboot=False)
    with booted("amd64", tmp_path / "run", profile=profile, extra_args=drive) as guest:
        vm, adapter, sessions = guest.vm, guest.adapter, guest.sessions  # booted() closes these on exit
        _install_standins(guest.ssh(), tmp_path)
        sessions[-1].close()
        ssh = guest.ssh()  # logs in with the stand-in login shell now in /etc/passwd
        before = read_proof(ssh)
        assert (before.bootfile, before.ident) == ("/boot/kernel/kernel", "GENERIC")
        assert before.uname_v == DEFAULT_VERSION.decode().strip()
        boot_id = must(ssh, "cat /proc/sys/kernel/random/boot_id", why="boot id").strip()
        must(ssh, "touch /run/before-reboot", why="a tmpfs marker")
        qemu_pid, port = vm.process.pid if vm.process else None, vm.ssh_port

        def console_reboot() -> None:
            with pytest.raises(SSHError, match="not connected"):  # the guest is still up: only a closed session fails
                sessions[-1].run("true")
            console = reboot_console(
                vm.console, adapter.login, command=adapter.reboot_command, going_down=adapter.reboot_seen, timeout=60
            )
            must(console, AFTER_BOOT, why="the scratch disk and the loader stand-in")

        reboot = ssh_reboot(vm, guest.key, sessions, console_reboot, ssh_timeout=60)
        build = load_build(_kernel_dir(tmp_path, "kstacktest", TEST_VERSION), name="testk")
        proof = install_and_boot(build, transfer=ssh, shell=ssh, reboot=reboot)

        assert (proof.bootfile, proof.ident) == ("/boot/testk/kernel", "KSTACKTEST")
        assert proof.uname_v == TEST_VERSION.decode().strip()
        assert sessions[-2] is ssh and len(sessions) == 3, "one fresh session after the reboot"
        new = sessions[-1]
        assert must(new, "cat /proc/sys/kernel/random/boot_id", why="boot id").strip() != boot_id, "a new boot"
        assert "No such file" in must(new, "ls /run/before-reboot 2>&1; true", why="the tmpfs marker")
        assert (vm.process.pid if vm.process else None, vm.ssh_port) == (qemu_pid, port), "same QEMU, same port"
        assert 'nextboot_enable="NO"' in must(new, "cat /boot/nextboot.conf", why="nextboot.conf"), "one-shot"

        # A build whose metadata names another ident than its kernel file carries: it boots, but is not the build.
        stale_dir = _kernel_dir(tmp_path, "stale", TEST_VERSION, metadata='{"ident": "KSTACKNEW"}')
        with pytest.raises(KernelNotBooted, match=r"kern.ident is 'KSTACKTEST', the build's ident is 'KSTACKNEW'"):
            install_and_boot(load_build(stale_dir, name="stale"), transfer=new, shell=new, reboot=reboot)
        assert len(sessions) == 4 and read_proof(sessions[-1]).bootfile == "/boot/stale/kernel"
