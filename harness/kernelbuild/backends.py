"""The three build backends behind one interface: ``native`` (FreeBSD host), ``cross`` (Linux host with
``tools/build/make.py``), ``guest`` (inside a FreeBSD builder VM). Each turns a :class:`BuildSpec` into the list of
:class:`Command` s that build and stage the kernel; the runner executes them (or prints them for ``--dry-run``).

All three stage the result with ``installkernel DESTDIR=<stage> -DNO_ROOT`` (no root needed, METALOG written),
so the kernel directory is always ``<stage>/boot/kernel`` (freebsd-facts §C.1, §D).
"""

from __future__ import annotations

import abc
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from harness.errors import HostError, UsageError
from harness.kernelbuild.arches import Arch, host_arch
from harness.kernelbuild.commands import Command
from harness.kernelbuild.preflight import Preflight, check_cross_host

BACKENDS = ("native", "cross", "guest")
#: Where the guest backend works inside the builder VM.
GUEST_ROOT = PurePosixPath("/var/tmp/harness-build")


@dataclass(frozen=True)
class BuildSpec:
    arch: Arch
    kernconf: str
    jobs: int
    modules: bool
    src: Path  # the patched worktree on the host
    objdir: Path  # MAKEOBJDIRPREFIX on the host
    stage: Path  # DESTDIR of installkernel on the host

    @property
    def kernel_dir(self) -> Path:
        return self.stage / "boot" / "kernel"

    def kernel_make_args(self) -> list[str]:
        args = [f"KERNCONF={self.kernconf}"]
        if not self.modules:
            args.append("NO_MODULES=yes")
        return args


def _first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (out.stdout.strip().splitlines() or [""])[0]


class Backend(abc.ABC):
    name: str

    @abc.abstractmethod
    def preflight(self) -> None:
        """Raise ``HostError`` naming what this host lacks for this backend."""

    @abc.abstractmethod
    def toolchain(self) -> str:
        """The compiler that will build the kernel (part of the build key and the metadata)."""

    @abc.abstractmethod
    def plan(self, spec: BuildSpec) -> list[Command]:
        """Every command of the build, in order."""


def make_commands(make: list[str], src: str, objdir: str, stage: str, spec: BuildSpec, *, where: str) -> list[Command]:
    """kernel-toolchain, buildkernel, installkernel into the stage.

    kernel-toolchain runs for every build, same arch too (review H5): buildkernel otherwise uses the host's
    compiler, and a kernel (built with -Werror) from a tree older or newer than that compiler fails. FreeBSD's
    own CI does the same (freebsd/freebsd-ci scripts/build/build-kernel-LINT.sh; syzkaller's pkg/build/freebsd.go
    runs ``make kernel-toolchain -DNO_CLEAN`` before buildkernel); it is incremental on a kept objdir."""
    env = (("MAKEOBJDIRPREFIX", objdir),)
    target = list(spec.arch.make_vars)
    jobs = [f"-j{spec.jobs}"]
    commands = [Command("kernel-toolchain", (*make, *jobs, *target, "kernel-toolchain"), env, src, where=where)]
    commands.append(
        Command("buildkernel", (*make, *jobs, *target, *spec.kernel_make_args(), "buildkernel"), env, src, where)
    )
    install = (*make, *target, *spec.kernel_make_args(), f"DESTDIR={stage}", "-DNO_ROOT", "installkernel")
    commands.append(Command("installkernel", install, env, src, where))
    return commands


def prepare_dirs(spec: BuildSpec) -> Command:
    """make.py refuses a MAKEOBJDIRPREFIX that does not exist; the stage holds installkernel's METALOG."""
    return Command("prepare", ("mkdir", "-p", str(spec.objdir), str(spec.stage)))


class NativeBackend(Backend):
    """On a FreeBSD host: ``make kernel-toolchain`` then ``make buildkernel`` in the tree."""

    name = "native"

    def __init__(self, system: str | None = None, machine: str | None = None) -> None:
        self.system = system or platform.system()
        self.machine = machine or platform.machine()

    def preflight(self) -> None:
        if self.system != "FreeBSD":
            raise HostError(
                f"the native backend builds on a FreeBSD host; this host runs {self.system}",
                hint="use --backend cross (Linux, tools/build/make.py) or --backend guest (a FreeBSD builder VM)",
            )

    def toolchain(self) -> str:
        return _first_line(["cc", "--version"]) or "cc (host)"

    def plan(self, spec: BuildSpec) -> list[Command]:
        return [
            prepare_dirs(spec),
            *make_commands(
                ["make", "-C", str(spec.src)],
                str(spec.src),
                str(spec.objdir),
                str(spec.stage),
                spec,
                where="host",
            ),
        ]


class CrossBackend(Backend):
    """On Linux: FreeBSD's ``tools/build/make.py`` with Debian's clang/lld as the cross toolchain.

    ``TARGET``/``TARGET_ARCH`` are always given (mandatory off FreeBSD) and ``-DWITHOUT_CLEAN`` is passed, so
    make.py never asks whether to clean; stdin is closed as well, so no version of it can wait for an answer.
    """

    name = "cross"

    def __init__(self, cross_bindir: Path | None = None, *, root: Path = Path("/")) -> None:
        self.host = check_cross_host(cross_bindir, root=root)

    @property
    def checks(self) -> Preflight:
        return self.host

    def preflight(self) -> None:
        self.host.raise_if_missing()

    def toolchain(self) -> str:
        clang = self.host.cross_bindir / "clang"
        version = _first_line([str(clang), "--version"]) if clang.exists() else ""
        return f"{version or 'clang'} ({self.host.cross_bindir})"

    def plan(self, spec: BuildSpec) -> list[Command]:
        make_py = ["python3", str(spec.src / "tools/build/make.py"), f"--cross-bindir={self.host.cross_bindir}"]
        commands = [prepare_dirs(spec)]
        for command in make_commands(make_py, str(spec.src), str(spec.objdir), str(spec.stage), spec, where="host"):
            # make.py passes unknown arguments to bmake; -DWITHOUT_CLEAN answers its clean-build question.
            commands.append(Command(command.stage, (*command.argv, "-DWITHOUT_CLEAN"), command.env, command.cwd))
        return commands


class GuestBackend(Backend):
    """Inside a FreeBSD builder VM: upload the patched tree, build with the guest's own toolchain, copy back.

    Needs nothing FreeBSD-specific on the host. The VM comes from a :class:`harness.kernelbuild.guest.BuilderGuest`.
    """

    name = "guest"

    def __init__(self, builder_arch: str = "amd64", guest_release: str | None = None) -> None:
        self.builder_arch = builder_arch
        self.guest_release = guest_release

    def for_source(self, major: str | None) -> GuestBackend:
        """The same backend with a builder of the source tree's major release (a 14.x tree builds in 14.x)."""
        return GuestBackend(self.builder_arch, self.guest_release or major)

    def preflight(self) -> None:
        try:  # the VM layer is only needed when building for real
            from harness.guests.freebsd.boot import booted  # noqa: F401
        except ImportError as exc:
            raise HostError(f"the guest backend needs the FreeBSD guest adapter: {exc}") from None

    def toolchain(self) -> str:
        return f"cc of the FreeBSD {self.guest_release or 'default'} builder guest ({self.builder_arch})"

    def plan(self, spec: BuildSpec) -> list[Command]:
        work = GUEST_ROOT / spec.kernconf
        src, obj, stage = work / "src", work / "obj", work / "stage"
        tarball = spec.objdir.parent / "src.tar.gz"
        kernel_tar = spec.objdir.parent / "kernel.tar.gz"
        commands = [
            Command("pack", ("tar", "-C", str(spec.src), "--exclude=.git", "-czf", str(tarball), ".")),
            Command("prepare", ("rm", "-rf", str(work)), where="guest"),
            Command("prepare", ("mkdir", "-p", str(src), str(obj), str(stage)), where="guest"),
            Command("upload", where="guest", kind="put", local=str(tarball), remote=str(work / "src.tar.gz")),
            Command("unpack", ("tar", "-xzf", str(work / "src.tar.gz"), "-C", str(src)), where="guest"),
        ]
        commands += make_commands(
            ["make", "-C", str(src)],
            str(src),
            str(obj),
            str(stage),
            spec,
            where="guest",
        )
        commands += [
            Command("pack", ("tar", "-czf", str(work / "kernel.tar.gz"), "-C", str(stage), "boot"), where="guest"),
            Command("download", where="guest", kind="get", local=str(kernel_tar), remote=str(work / "kernel.tar.gz")),
            Command("unpack", ("mkdir", "-p", str(spec.stage))),
            Command("unpack", ("tar", "-xzf", str(kernel_tar), "-C", str(spec.stage))),
        ]
        return commands


def make_backend(name: str, *, cross_bindir: Path | None = None, builder_arch: str | None = None) -> Backend:
    if name == "native":
        return NativeBackend()
    if name == "cross":
        return CrossBackend(cross_bindir)
    if name == "guest":
        return GuestBackend(builder_arch or host_arch() or "amd64")
    raise UsageError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")
