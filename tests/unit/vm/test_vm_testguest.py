"""The Linux test guest's pieces that need no QEMU: cpio writer, module order, cache keys, adapter data."""

from __future__ import annotations

import gzip
import re
import stat
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from harness.guests.linuxtest import data, kdbkernel
from harness.guests.linuxtest.adapter import LinuxTestGuest
from harness.guests.linuxtest.builder import TestGuest, resolve_modules
from harness.guests.linuxtest.cpio import CpioWriter, read_names
from harness.vm.guest import GuestAdapter

_NAME = st.text(alphabet="abcxyz_-.", min_size=1, max_size=6).filter(lambda s: s not in {".", ".."})


@given(st.lists(st.lists(_NAME, min_size=1, max_size=4), min_size=1, max_size=12))
def test_cpio_writes_every_directory_before_its_contents(paths: list[list[str]]) -> None:
    writer = CpioWriter()
    for parts in paths:
        writer.file("/".join(parts) + "/f", b"data", 0o600)
    entries = read_names(writer.finish())
    seen: set[str] = set()
    for name, _mode, _ in entries:
        parent = name.rsplit("/", 1)[0] if "/" in name else ""
        assert not parent or parent in seen, f"{name} comes before its directory"
        seen.add(name)
    files = [(n, m, d) for n, m, d in entries if stat.S_ISREG(m)]
    assert all(stat.S_IMODE(m) == 0o600 and d == b"data" for _, m, d in files)


def test_cpio_symlinks_and_trailer_alignment() -> None:
    writer = CpioWriter()
    writer.symlink("bin/sh", "busybox")
    archive = writer.finish()
    assert len(archive) % 512 == 0
    (_, _dir_mode, _), (name, mode, target) = read_names(archive)
    assert (name, stat.S_ISLNK(mode), target) == ("bin/sh", True, b"busybox")


def _module(path: Path, depends: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x7fELF junk\0license=GPL\0depends=" + depends.encode() + b"\0name=x\0")


def test_modules_come_after_their_dependencies(tmp_path: Path) -> None:
    _module(tmp_path / "kernel/drivers/net/virtio_net.ko", "net_failover,virtio_ring")
    _module(tmp_path / "kernel/drivers/net/net_failover.ko", "failover")
    _module(tmp_path / "kernel/net/core/failover.ko", "")
    _module(tmp_path / "kernel/drivers/virtio/virtio_ring.ko", "")
    _module(tmp_path / "kernel/drivers/char/hw_random/virtio-rng.ko", "virtio_ring")
    order = [p.stem for p in resolve_modules(tmp_path, ["virtio_net", "virtio-rng", "button"])]
    assert order == ["failover", "net_failover", "virtio_ring", "virtio_net", "virtio-rng"]


def test_per_run_key_archive_is_appended(tmp_path: Path) -> None:
    base = tmp_path / "initramfs.cpio.gz"
    base.write_bytes(gzip.compress(CpioWriter().finish()))
    guest = TestGuest("amd64", tmp_path / "kernel", base, False, "k", "ttyS0", 0)
    out = guest.initramfs_with_key("ssh-ed25519 AAAA harness", tmp_path / "run.gz")
    raw = out.read_bytes()
    assert raw.startswith(base.read_bytes())
    appended = read_names(gzip.decompress(raw[len(base.read_bytes()) :]))
    keys = {n: (stat.S_IMODE(m), d) for n, m, d in appended}
    assert keys["root/.ssh/authorized_keys"] == (0o600, b"ssh-ed25519 AAAA harness\n")
    assert keys["root/.ssh"][0] == 0o700


def test_kdb_cache_key_changes_with_the_fragment_and_the_source_version() -> None:
    arch = data.load().arch("amd64")
    key = kdbkernel.cache_key(arch, "6.1.192-2")
    assert key.startswith("amd64-6.1.192-2-")
    assert kdbkernel.cache_key(arch, "6.1.193-1") != key
    other = data.load().arch("arm64")
    assert kdbkernel.cache_key(other, "6.1.192-2").split("-")[-1] != key.split("-")[-1]


def test_kdb_fragment_enables_kdb_and_the_required_options() -> None:
    guest_data = data.load()
    common = data.read_text("kdb", "common.config").splitlines()
    for option in guest_data.kdb_required:
        assert option in common


def test_adapter_implements_the_protocol_and_its_prompt_skips_its_own_echo() -> None:
    adapter = LinuxTestGuest()
    assert isinstance(adapter, GuestAdapter)
    echoed = "PS1='@HX''-PROMPT@ '"
    assert not re.search(adapter.prompt, echoed)
    assert re.search(adapter.prompt, "@HX-PROMPT@ ")
    assert adapter.debugger.eol == "\r" and adapter.debugger.resume == "go"
    assert re.search(adapter.debugger.prompt, "[0]kdb> ") and re.search(adapter.debugger.pager or "", "more> ")
    panic = "[    4.496377] Kernel panic - not syncing: sysrq triggered crash"
    assert any(re.search(p, panic) for p in adapter.death_strings.panic)
    assert not any(re.search(p, "guest:/# echo panic") for p in adapter.death_strings.all())
