"""Command lines of the three backends for both arches (what --dry-run prints and the runner executes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import HostError, UsageError
from harness.kernelbuild.arches import get_arch, host_arch
from harness.kernelbuild.backends import (
    BuildSpec,
    CrossBackend,
    GuestBackend,
    NativeBackend,
    make_backend,
)
from harness.kernelbuild.commands import Command

TARGETS = {"amd64": ("TARGET=amd64", "TARGET_ARCH=amd64"), "arm64": ("TARGET=arm64", "TARGET_ARCH=aarch64")}


def spec(tmp_path: Path, arch: str, *, modules: bool = True) -> BuildSpec:
    return BuildSpec(
        arch=get_arch(arch),
        kernconf="HARNESS_0123456789AB",
        jobs=3,
        modules=modules,
        src=tmp_path / "wt",
        objdir=tmp_path / "build" / "obj",
        stage=tmp_path / "build" / "stage",
    )


def stages(commands: list[Command]) -> list[str]:
    return [c.stage for c in commands]


def make_steps(commands: list[Command]) -> list[Command]:
    return [c for c in commands if c.stage in {"kernel-toolchain", "buildkernel", "installkernel"}]


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_cross_uses_make_py_with_targets_and_never_prompts(tmp_path: Path, arch: str) -> None:
    backend = CrossBackend(Path("/usr/lib/llvm-14/bin"))
    s = spec(tmp_path, arch)
    prepare, *commands = backend.plan(s)
    assert prepare.argv == ("mkdir", "-p", str(s.objdir), str(s.stage))
    assert stages(commands) == ["kernel-toolchain", "buildkernel", "installkernel"]
    for command in commands:
        assert command.where == "host"
        assert command.argv[:3] == (
            "python3",
            str(s.src / "tools/build/make.py"),
            "--cross-bindir=/usr/lib/llvm-14/bin",
        )
        assert set(TARGETS[arch]) <= set(command.argv)
        assert "-DWITHOUT_CLEAN" in command.argv
        assert dict(command.env) == {"MAKEOBJDIRPREFIX": str(s.objdir)}
        assert command.cwd == str(s.src)
    assert commands[0].argv[-2] == "kernel-toolchain"
    assert "-j3" in commands[0].argv and "-j3" in commands[1].argv
    assert "KERNCONF=HARNESS_0123456789AB" in commands[1].argv and "buildkernel" in commands[1].argv
    install = commands[2].argv
    assert f"DESTDIR={s.stage}" in install and "-DNO_ROOT" in install and "installkernel" in install
    assert s.kernel_dir == s.stage / "boot" / "kernel"


@pytest.mark.parametrize(
    ("machine", "arch"), [("amd64", "amd64"), ("amd64", "arm64"), ("arm64", "arm64"), ("arm64", "amd64")]
)
def test_native_builds_kernel_toolchain_first_same_arch_too(tmp_path: Path, machine: str, arch: str) -> None:
    """Review H5: buildkernel with the host's compiler breaks on a tree of another age; FreeBSD's CI runs
    kernel-toolchain first for same-arch builds as well."""
    prepare, *commands = NativeBackend(system="FreeBSD", machine=machine).plan(spec(tmp_path, arch))
    assert prepare.stage == "prepare"
    assert stages(commands) == ["kernel-toolchain", "buildkernel", "installkernel"]
    for command in commands:
        assert command.argv[:3] == ("make", "-C", str(tmp_path / "wt"))
        assert set(TARGETS[arch]) <= set(command.argv)


def test_native_refuses_a_linux_host() -> None:
    with pytest.raises(HostError, match="FreeBSD host; this host runs Linux"):
        NativeBackend(system="Linux").preflight()


@pytest.mark.parametrize(("builder", "arch"), [("amd64", "amd64"), ("amd64", "arm64")])
def test_guest_uploads_builds_inside_and_copies_back(tmp_path: Path, builder: str, arch: str) -> None:
    s = spec(tmp_path, arch)
    commands = GuestBackend(builder_arch=builder).plan(s)
    kinds = [(c.where, c.kind, c.stage) for c in commands]
    assert kinds[0] == ("host", "run", "pack")
    assert ("guest", "put", "upload") in kinds and ("guest", "get", "download") in kinds
    assert kinds.index(("guest", "put", "upload")) < kinds.index(("guest", "run", "buildkernel"))
    assert kinds.index(("guest", "run", "installkernel")) < kinds.index(("guest", "get", "download"))
    guest_make = make_steps(commands)
    assert all(c.where == "guest" for c in guest_make)
    assert stages(guest_make) == ["kernel-toolchain", "buildkernel", "installkernel"]  # review H5
    for command in guest_make:
        assert command.argv[0] == "make"
        assert set(TARGETS[arch]) <= set(command.argv)
        assert str(tmp_path) not in command.shell(), "guest commands must use guest paths only"
    last = commands[-1]
    assert last.where == "host" and last.argv[-1] == str(s.stage)


def test_no_modules_is_passed_to_buildkernel_and_installkernel(tmp_path: Path) -> None:
    commands = make_steps(CrossBackend(Path("/usr/lib/llvm-14/bin")).plan(spec(tmp_path, "amd64", modules=False)))
    assert ["NO_MODULES=yes" in c.argv for c in commands] == [False, True, True]


def test_shell_rendering_quotes_and_shows_env(tmp_path: Path) -> None:
    command = Command("buildkernel", ("make", "A=b c"), (("MAKEOBJDIRPREFIX", "/o d"),), "/s")
    assert command.shell() == "cd /s && env 'MAKEOBJDIRPREFIX=/o d' make 'A=b c'"
    assert command.display().startswith("host$ ")


def test_unknown_backend_and_arch_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown backend 'qemu'"):
        make_backend("qemu")
    with pytest.raises(UsageError, match="unknown arch 'riscv64'"):
        get_arch("riscv64")


def test_host_arch_maps_uname() -> None:
    assert host_arch("x86_64") == "amd64"
    assert host_arch("aarch64") == "arm64"
    assert host_arch("ppc64le") is None
