"""The kdb kernel: Debian's linux-source with the kdb config fragment, built once and cached.

Debian's own kernels have no KGDB, so the debugger driver is proven on this self-built kernel. Cache key: the
source package version plus a hash of the merged fragments; a finished entry holds the image and its ``.config``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from harness.errors import BuildError
from harness.guests.linuxtest import data as guestdata
from harness.guests.linuxtest import debian
from harness.guests.linuxtest.process import run_logged
from harness.settings import cache_dir
from harness.steps import step
from harness.util.locking import exclusive_lock


@dataclass(frozen=True)
class KdbKernel:
    arch: str
    image: Path
    config: Path
    key: str


def fragments(arch: guestdata.ArchData) -> dict[str, str]:
    return {
        "common.config": guestdata.read_text("kdb", "common.config"),
        arch.kdb_fragment: guestdata.read_text("kdb", arch.kdb_fragment),
    }


def cache_key(arch: guestdata.ArchData, source_version: str) -> str:
    digest = hashlib.sha256()
    for name, text in sorted(fragments(arch).items()):
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    return f"{arch.name}-{source_version}-{digest.hexdigest()[:12]}"


def cached(arch_name: str) -> KdbKernel | None:
    """The cached kernel for the current source version, or None (cheap: one apt query, no build)."""
    data = guestdata.load()
    arch = data.arch(arch_name)
    (source,) = debian.resolve([data.kdb_source_package], "all")
    key = cache_key(arch, source.version)
    entry = cache_dir("testguests", "kdb") / key
    image, config = entry / "kernel", entry / "config"
    if image.is_file() and config.is_file():
        return KdbKernel(arch_name, image, config, key)
    return None


def ensure(arch_name: str, jobs: int | None = None) -> KdbKernel:
    """Build (or reuse) the kdb kernel for ``arch_name``. About 5–6 min on 2 cores the first time."""
    data = guestdata.load()
    arch = data.arch(arch_name)
    (source,) = debian.resolve([data.kdb_source_package], "all")
    key = cache_key(arch, source.version)
    root = cache_dir("testguests", "kdb")
    entry = root / key
    with exclusive_lock(root / f"{key}.lock"):
        found = cached(arch_name)
        if found:
            return found
        with step("kdb kernel build", arch=arch_name, key=key):
            _build(data, arch, source, entry, jobs or os.cpu_count() or 2)
    built = cached(arch_name)
    if built is None:  # pragma: no cover - _build publishes both files or raises
        raise BuildError(f"kdb kernel {key} was built but not published")
    return built


def _build(
    data: guestdata.GuestData, arch: guestdata.ArchData, source: debian.DebianPackage, entry: Path, jobs: int
) -> None:
    work = cache_dir("testguests", "work", f"kdb-{arch.name}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = work / "build.log"
    (deb,) = debian.download([source], cache_dir("testguests", "debs", "all"))
    tree = work / "src"
    tree.mkdir()
    member = f"./usr/src/{data.kdb_source_package}.tar.xz"
    with step("unpack linux-source", version=source.version):
        run_logged(
            [
                "bash",
                "-o",
                "pipefail",
                "-c",
                f'dpkg-deb --fsys-tarfile "$0" | tar -xO {member} | xz -dc -T2 | tar -x',
                str(deb),
            ],
            log=log,
            cwd=tree,
        )
    (srcdir,) = [p for p in tree.iterdir() if p.is_dir()]
    out = work / "out"
    out.mkdir()
    for name, text in fragments(arch).items():
        (work / name).write_text(text)
    make = ["make", f"O={out}", f"ARCH={arch.kdb_make_arch}"]
    if arch.kdb_cross_compile:
        make.append(f"CROSS_COMPILE={arch.kdb_cross_compile}")
    with step("configure", fragments=",".join(fragments(arch))):
        run_logged([*make, "tinyconfig"], log=log, cwd=srcdir)
        run_logged(
            [
                str(srcdir / "scripts/kconfig/merge_config.sh"),
                "-m",
                "-O",
                str(out),
                str(out / ".config"),
                *[str(work / n) for n in fragments(arch)],
            ],
            log=log,
            cwd=srcdir,
        )
        run_logged([*make, "olddefconfig"], log=log, cwd=srcdir)
    config_text = (out / ".config").read_text()
    missing = [opt for opt in data.kdb_required if opt not in config_text.splitlines()]
    if missing:
        raise BuildError(f"kdb kernel config lacks {', '.join(missing)}", hint=f"check the fragments; log: {log}")
    with step("make", target=arch.kdb_target, jobs=jobs):
        run_logged([*make, f"-j{jobs}", arch.kdb_target], log=log, cwd=srcdir)
    staging = entry.with_name(entry.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shutil.copy2(out / arch.kdb_image, staging / "kernel")
    shutil.copy2(out / ".config", staging / "config")
    shutil.rmtree(entry, ignore_errors=True)
    staging.rename(entry)  # publish atomically: a half-built entry is never seen as cached
    shutil.rmtree(work, ignore_errors=True)
