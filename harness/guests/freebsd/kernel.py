"""Install a test kernel into a running FreeBSD guest and prove it booted.

The FreeBSD way (freebsd-facts §C.1-C.2): copy the kernel directory to ``/boot/<name>/`` (``/boot/kernel`` stays
the known-good fallback), ``kldxref`` it when it carries modules, ``nextboot -k <name>`` (one-shot: the loader
rewrites nextboot.conf to ``nextboot_enable="NO"`` before booting it), reboot, and check ``kern.bootfile``,
``kern.ident`` and ``uname -v`` against what was built. A fallback to the default kernel is an error, not a pass.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import InfraError, UsageError
from harness.guests.freebsd.shell import Shell, must
from harness.steps import step
from harness.vm.shell import RemoteShell

#: ``version[]`` as newvers.sh writes it into the kernel: ``FreeBSD 14.4-RELEASE releng/14.4-n... GENERIC\n`` or
#: ``FreeBSD 15.0-CURRENT #0 main-n...: <date>\n    user@host:/usr/obj/.../sys/IDENT\n``; NUL-terminated.
_VERSION_IN_ELF = re.compile(rb"(FreeBSD \d+\.\d+-[A-Z][A-Za-z0-9.-]* [^\x00\n]*\n(?:[ \t]+[^\x00\n]*\n)?)\x00")
#: A directory name under /boot: starts with a letter, digit or ``_`` (so never ``.``, ``..`` or an option ``-rf``).
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
METADATA_FILE = "metadata.json"


class KernelNotBooted(InfraError):
    """After the reboot the guest runs another kernel than the one installed (fallback, stale ident, wrong build)."""


@dataclass(frozen=True)
class KernelBuild:
    """A built kernel directory and what it must report once booted."""

    directory: Path
    name: str
    ident: str | None
    version: str | None  # kern.version (``uname -v`` prints it with newlines and tabs as spaces)
    #: __FreeBSD_version of the kernel's source (sys/sys/param.h, recorded by harness build), or the floor of the
    #: release its version string names; None when neither is known.
    freebsd_version: int | None = None

    @property
    def kernel(self) -> Path:
        return self.directory / "kernel"

    @property
    def bootfile(self) -> str:
        return f"/boot/{self.name}/kernel"

    def files(self) -> list[Path]:
        """The kernel, its modules and linker.hints (debug files stay home: they are large and not needed)."""
        wanted = [p for p in sorted(self.directory.iterdir()) if p.is_file() and not p.name.endswith((".debug",))]
        return [p for p in wanted if p.name != METADATA_FILE]


def version_from_elf(kernel: Path) -> str | None:
    """The kernel's ``version[]`` string, read from the ELF file (no FreeBSD tools needed on the host)."""
    match = _VERSION_IN_ELF.search(kernel.read_bytes())
    return match.group(1).decode("utf-8", errors="replace") if match else None


def ident_from_version(version: str) -> str | None:
    """The config ident: the build directory's last component (``.../sys/GENERIC``), or the last word of the
    one-line release form (``FreeBSD 14.4-RELEASE releng/14.4-n... GENERIC``)."""
    lines = [line.strip() for line in version.strip().splitlines() if line.strip()]
    if len(lines) > 1 and "/" in lines[-1]:
        return lines[-1].rstrip("/").rsplit("/", 1)[-1]
    words = lines[0].split() if lines else []
    if len(words) >= 3 and "#" not in lines[0]:
        return words[-1]
    return None


def _read_metadata(directory: Path) -> dict[str, Any]:
    path = directory / METADATA_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} is not readable JSON: {exc}") from None
    return data if isinstance(data, dict) else {}


def load_build(directory: Path, name: str | None = None) -> KernelBuild:
    """A kernel for ``--kernel DIR``: a directory holding ``kernel`` (+ modules), or a harness build directory
    whose ``metadata.json`` names it (``kernel_dir``, ``kernconf.ident``). Without metadata, the ident and
    ``uname -v`` to expect are read from the kernel file itself."""
    metadata = _read_metadata(directory)
    kernel_dir = directory / str(metadata.get("kernel_dir", "")) if metadata.get("kernel_dir") else directory
    if not (kernel_dir / "kernel").is_file():
        raise UsageError(f"{kernel_dir} has no `kernel` file", hint="pass the directory `make installkernel` filled")
    raw_kernconf = metadata.get("kernconf")
    kernconf: dict[str, Any] = raw_kernconf if isinstance(raw_kernconf, dict) else {}
    version = metadata.get("version") or version_from_elf(kernel_dir / "kernel")
    ident = metadata.get("ident") or kernconf.get("ident") or (ident_from_version(version) if version else None)
    chosen = name or metadata.get("name") or "harness"
    if not isinstance(chosen, str) or not _NAME.fullmatch(chosen) or chosen in {"kernel", "kernel.old", "modules"}:
        raise UsageError(
            f"cannot install a kernel as /boot/{str(chosen)[:80]}",
            hint="pick a plain name such as `testk` (letters, digits, '.', '_', '-'; not starting with '.' or '-')",
        )
    recorded = metadata.get("freebsd_version")
    osversion = recorded if isinstance(recorded, int) else (release_floor(version) if version else None)
    return KernelBuild(kernel_dir, chosen, ident, version, osversion)


_RELEASE_IN_VERSION = re.compile(r"(?<![\d.])(?P<major>\d+)\.(?P<minor>\d+)(?![\d.])")


def release_floor(text: str) -> int | None:
    """The lowest __FreeBSD_version a ``X.Y`` release (or the ``FreeBSD X.Y-BRANCH …`` version string) can have:
    sys/sys/param.h numbers a release ``X0Y0zz`` (14.4-RELEASE is 1404000, 14.0-RELEASE 1400097, a 13.0-CURRENT
    tree 13000zz), so ``X·100000 + Y·1000`` is a floor for every tree of that name."""
    found = _RELEASE_IN_VERSION.search(text)
    return int(found["major"]) * 100000 + int(found["minor"]) * 1000 if found else None


def check_userland(build: KernelBuild, release: str) -> None:
    """A kernel runs an older userland (GENERIC carries COMPAT_FREEBSD<N>), never a newer one: a userland newer than
    the kernel's source uses interfaces it lacks (14.x route(8), called by dhclient-script, speaks netlink(4),
    which kernels before late 2022 do not have), and fails as an SSH timeout after the reboot (review M2)."""
    floor = release_floor(release)
    if build.freebsd_version is None or floor is None or build.freebsd_version >= floor:
        return
    raise UsageError(
        f"the kernel's source (__FreeBSD_version {build.freebsd_version}) is older than the FreeBSD {release} image's "
        f"userland (>= {floor}); FreeBSD runs an older userland on a newer kernel, not the reverse",
        hint="leave out --release (the image is then chosen by the kernel's age) or name an older one",
    )


def normalise_uname_v(text: str) -> str:
    """``uname -v`` turns kern.version's newlines and tabs into spaces (usr.bin/uname); compare word by word."""
    return " ".join(text.split())


def upload(build: KernelBuild, transfer: RemoteShell, shell: Shell) -> str:
    """Copy the kernel directory to ``/boot/<name>/`` (through a staging dir) and check the kernel's digest."""
    staging = f"/boot/{build.name}.harness-new"
    target = f"/boot/{build.name}"
    must(shell, f"rm -rf {staging} && mkdir -p {staging}", why="preparing the kernel directory")
    with step("upload-kernel", files=len(build.files())):
        for path in build.files():
            transfer.put(path, f"{staging}/{path.name}")
    expected = hashlib.sha256(build.kernel.read_bytes()).hexdigest()
    got = must(shell, f"sha256 -q {staging}/kernel", why="checking the uploaded kernel").strip()
    if got != expected:
        raise InfraError(f"uploaded kernel is damaged: sha256 {got[:16]}… != {expected[:16]}…", hint="run again")
    must(shell, f"rm -rf {target} && mv {staging} {target}", why="installing the kernel directory")
    if any(p.suffix == ".ko" for p in build.files()):
        must(shell, f"kldxref {target}", why="indexing the kernel's modules")
    return target


def nextboot_command(build: KernelBuild) -> str:
    return f"nextboot -k {shlex.quote(build.name)}"


@dataclass(frozen=True)
class BootProof:
    bootfile: str
    ident: str
    uname_v: str


def read_proof(shell: Shell) -> BootProof:
    bootfile = must(shell, "sysctl -n kern.bootfile", why="reading kern.bootfile").strip()
    ident = must(shell, "sysctl -n kern.ident", why="reading kern.ident").strip()
    uname_v = must(shell, "uname -v", why="reading uname -v").strip()
    return BootProof(bootfile, ident, uname_v)


def verify(build: KernelBuild, proof: BootProof) -> None:
    """The guest runs ``build``'s kernel, or ``KernelNotBooted`` saying what runs instead."""
    if proof.bootfile != build.bootfile:
        fallback = proof.bootfile == "/boot/kernel/kernel"
        raise KernelNotBooted(
            f"the guest booted {proof.bootfile}, not {build.bootfile}"
            + (" (the loader fell back to the default kernel)" if fallback else ""),
            hint="read the console log of the reboot: the loader or the new kernel failed",
        )
    if build.ident and proof.ident != build.ident:
        raise KernelNotBooted(f"kern.ident is {proof.ident!r}, the build's ident is {build.ident!r}")
    if build.version and normalise_uname_v(proof.uname_v) != normalise_uname_v(build.version):
        raise KernelNotBooted(
            f"uname -v is {normalise_uname_v(proof.uname_v)!r}, the build says {normalise_uname_v(build.version)!r}",
            hint="a stale kernel directory was installed; rebuild or pass the right --kernel DIR",
        )


def install_and_boot(
    build: KernelBuild,
    *,
    transfer: RemoteShell,
    shell: Shell,
    reboot: Callable[[], Shell],
) -> BootProof:
    """Upload, ``nextboot -k``, reboot (``reboot`` returns a shell on the rebooted guest), prove the kernel."""
    with step("install-kernel", kernel=build.name):
        upload(build, transfer, shell)
        must(shell, nextboot_command(build), why="nextboot")
    with step("reboot-into-kernel", kernel=build.name):
        after = reboot()
    proof = read_proof(after)
    verify(build, proof)
    return proof
