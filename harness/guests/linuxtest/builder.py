"""Build the Linux test guest (kernel + busybox/dropbear initramfs) from Debian packages, cached by versions.

Nothing is installed on the host: ``apt-get download`` fetches the .debs, ``dpkg-deb -x`` unpacks them, and the
initramfs is a cpio written here. The cache key covers every package file name (so every version), the guest's
data files, and for the kdb variant the kdb kernel's own key. The SSH key is not baked in: each run appends a
tiny second archive holding its ``authorized_keys`` (the kernel unpacks concatenated initramfs archives in order).
"""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import string
from dataclasses import dataclass
from pathlib import Path

from harness.errors import BuildError
from harness.guests.linuxtest import data as guestdata
from harness.guests.linuxtest import debian, kdbkernel
from harness.guests.linuxtest.cpio import CpioWriter
from harness.settings import cache_dir
from harness.steps import step
from harness.util import tomlfile
from harness.util.locking import exclusive_lock

_DIRS = ("bin", "sbin", "usr/bin", "usr/sbin", "usr/lib", "etc", "proc", "sys", "dev", "tmp", "run", "var/log", "mnt")
_PRIVATE_DIRS = ("root", "root/.ssh", "etc/dropbear")
_SKIP_LIB_PARTS = ("/gconv", "modules", "/dropbear", "usr/lib/openssh")


@dataclass(frozen=True)
class TestGuest:
    __test__ = False  # not a pytest test class

    arch: str
    kernel: Path
    initramfs: Path
    kdb: bool
    key: str
    console_tty: str
    module_count: int

    @property
    def append(self) -> str:
        """Kernel command line besides ``console=`` (which the VM profile adds)."""
        args = ["quiet"]
        if self.kdb:
            args.append(f"kgdboc={self.console_tty},115200")
        return " ".join(args)

    def initramfs_with_key(self, public_line: str, dest: Path) -> Path:
        """The cached initramfs plus a second archive with ``/root/.ssh/authorized_keys`` (mode 0600)."""
        extra = CpioWriter()
        extra.directory("root", 0o700)
        extra.directory("root/.ssh", 0o700)
        extra.file("root/.ssh/authorized_keys", (public_line.strip() + "\n").encode(), 0o600)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(self.initramfs.read_bytes() + gzip.compress(extra.finish(), compresslevel=6))
        return dest


def _data_digest(data: guestdata.GuestData) -> str:
    digest = hashlib.sha256()
    for parts in (("packages.toml",), ("rootfs", "init.sh"), ("rootfs", "files.toml")):
        digest.update(guestdata.read_text(*parts).encode())
    return digest.hexdigest()


def ensure(arch_name: str, *, kdb: bool = False) -> TestGuest:
    """The test guest for ``arch_name`` (built on first use, then from the cache in well under a second)."""
    data = guestdata.load()
    arch = data.arch(arch_name)
    kdb_kernel = kdbkernel.ensure(arch_name) if kdb else None
    kernel_pkg = None if kdb else debian.real_kernel_package(arch.kernel_meta, arch_name)
    names = [*([kernel_pkg] if kernel_pkg else []), *data.userland]
    packages = debian.resolve(names, arch_name)
    digest = hashlib.sha256(_data_digest(data).encode())
    for package in packages:
        digest.update(package.filename.encode())
    if kdb_kernel:
        digest.update(kdb_kernel.key.encode())
    key = f"{arch_name}-{'kdb' if kdb else 'debian'}-{digest.hexdigest()[:16]}"
    root = cache_dir("testguests", "guests")
    entry = root / key
    with exclusive_lock(root / f"{key}.lock"):
        if not (entry / "initramfs.cpio.gz").is_file():
            with step("build test guest", arch=arch_name, kdb=kdb, key=key):
                _build(data, arch, packages, kernel_pkg, kdb_kernel, entry)
    modules = (entry / "modules.count").read_text().strip()
    return TestGuest(arch_name, entry / "kernel", entry / "initramfs.cpio.gz", kdb, key, arch.console_tty, int(modules))


def _build(
    data: guestdata.GuestData,
    arch: guestdata.ArchData,
    packages: list[debian.DebianPackage],
    kernel_pkg: str | None,
    kdb_kernel: kdbkernel.KdbKernel | None,
    entry: Path,
) -> None:
    work = cache_dir("testguests", "work", f"guest-{arch.name}")
    shutil.rmtree(work, ignore_errors=True)
    unpacked = work / "x"
    debs = debian.download(packages, cache_dir("testguests", "debs", arch.name))
    with step("unpack debs", count=len(debs)):
        debian.extract(debs, unpacked)
    staging = entry.with_name(entry.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if kernel_pkg:
        kver = kernel_pkg.removeprefix("linux-image-")
        shutil.copyfile(unpacked / "boot" / f"vmlinuz-{kver}", staging / "kernel")
        modules = resolve_modules(unpacked / "lib" / "modules" / kver, data.modules)
        module_root = unpacked / "lib" / "modules" / kver
    else:
        assert kdb_kernel is not None
        shutil.copyfile(kdb_kernel.image, staging / "kernel")
        kver, modules, module_root = "", [], unpacked
    archive = _initramfs(arch, unpacked, kver, module_root, modules)
    (staging / "initramfs.cpio.gz").write_bytes(gzip.compress(archive, compresslevel=6))
    (staging / "modules.count").write_text(f"{len(modules)}\n")
    (staging / "packages.txt").write_text("".join(f"{p.filename}\n" for p in packages))
    shutil.rmtree(entry, ignore_errors=True)
    staging.rename(entry)  # publish atomically
    shutil.rmtree(work, ignore_errors=True)


def _initramfs(arch: guestdata.ArchData, unpacked: Path, kver: str, module_root: Path, modules: list[Path]) -> bytes:
    cpio = CpioWriter()
    for name in _DIRS:
        cpio.directory(name)
    for name in _PRIVATE_DIRS:
        cpio.directory(name, 0o700)
    cpio.file("init", guestdata.read_text("rootfs", "init.sh").encode(), 0o755)
    _require(unpacked, "bin/busybox", "usr/sbin/dropbear", "usr/lib/openssh/sftp-server")
    cpio.copy(unpacked / "bin/busybox", "bin/busybox")
    cpio.symlink("bin/sh", "busybox")
    _add_libraries(cpio, unpacked)
    cpio.copy(unpacked / "usr/sbin/dropbear", "usr/sbin/dropbear")
    cpio.copy(unpacked / "usr/lib/openssh/sftp-server", "usr/lib/openssh/sftp-server")
    cpio.symlink("usr/lib/sftp-server", "openssh/sftp-server")  # dropbear's compiled-in sftp-server path
    order = []
    for module in modules:
        relative = module.relative_to(module_root).as_posix()
        cpio.copy(module, f"lib/modules/{kver}/{relative}")
        order.append(relative)
    cpio.file("etc/modules.order", "".join(f"{m}\n" for m in order).encode())
    for item in tomlfile.load_resource("harness.guests.linuxtest", "rootfs", "files.toml").tables("file"):
        text = string.Template(item.string("text")).safe_substitute(tty=arch.console_tty)
        cpio.file(item.string("path"), text.encode(), item.integer("mode", low=0, high=0o7777))
    return cpio.finish()


def _require(unpacked: Path, *names: str) -> None:
    missing = [n for n in names if not (unpacked / n).exists()]
    if missing:
        raise BuildError(f"the unpacked Debian packages lack {', '.join(missing)}", hint="check packages.toml")


def _add_libraries(cpio: CpioWriter, unpacked: Path) -> None:
    """Shared libraries of the guest's arch from the unpacked debs (never the host's)."""
    for base in ("lib", "lib64", "usr/lib"):
        top = unpacked / base
        if not top.is_dir():
            continue
        for path in sorted(top.rglob("*")):
            relative = path.relative_to(unpacked).as_posix()
            if any(part in relative for part in _SKIP_LIB_PARTS) or ".so" not in path.name:
                continue
            if path.is_symlink() or path.is_file():
                cpio.copy(path, relative)


_DEPENDS = re.compile(rb"depends=([^\0]*)\0")


def module_depends(path: Path) -> list[str]:
    """The ``depends=`` list from a module's .modinfo (no kmod/depmod on the host, none in the .deb)."""
    found = _DEPENDS.search(path.read_bytes())
    return [d for d in found.group(1).decode().split(",") if d] if found else []


def resolve_modules(module_dir: Path, wanted: list[str]) -> list[Path]:
    """Wanted modules and their dependencies, dependencies first (the order ``insmod`` needs). Modules that do
    not exist are built in (or absent) and skipped."""
    index: dict[str, Path] = {}
    for path in module_dir.rglob("*.ko"):
        index[path.stem.replace("-", "_")] = path
    order: list[Path] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        key = name.replace("-", "_")
        if key in seen:
            return
        seen.add(key)
        path = index.get(key)
        if path is None:
            return
        for dependency in module_depends(path):
            visit(dependency)
        order.append(path)

    for name in wanted:
        visit(name)
    return order
