"""Harness arch names → make(1) TARGET/TARGET_ARCH (data in ``data/arches.toml``)."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError
from harness.util import tomlfile

DATA = Path(__file__).parent / "data" / "arches.toml"


@dataclass(frozen=True)
class Arch:
    name: str
    target: str
    target_arch: str
    uname_m: tuple[str, ...]

    @property
    def make_vars(self) -> tuple[str, str]:
        return (f"TARGET={self.target}", f"TARGET_ARCH={self.target_arch}")


def load_arches(path: Path = DATA) -> dict[str, Arch]:
    data = tomlfile.load(path, hint="reinstall the harness")
    return {
        name: Arch(name, t.string("target"), t.string("target_arch"), t.strings("uname_m"))
        for name, t in data.subtables().items()
    }


def get_arch(name: str) -> Arch:
    arches = load_arches()
    if name not in arches:
        raise UsageError(f"unknown arch {name!r}: choose one of {', '.join(sorted(arches))}")
    return arches[name]


def host_arch(machine: str | None = None) -> str | None:
    """The harness arch of this host (``uname -m``), or None when it is neither amd64 nor arm64."""
    machine = machine or platform.machine()
    for arch in load_arches().values():
        if machine in arch.uname_m:
            return arch.name
    return None
