"""The test guest's data (packages.toml, kdb fragments, init files), loaded once per call, typed."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

from harness.errors import UsageError
from harness.util import tomlfile


@dataclass(frozen=True)
class ArchData:
    name: str
    kernel_meta: str
    console_tty: str
    kdb_make_arch: str
    kdb_image: str
    kdb_target: str
    kdb_fragment: str
    kdb_cross_compile: str


@dataclass(frozen=True)
class GuestData:
    userland: list[str]
    modules: list[str]
    arches: dict[str, ArchData]
    kdb_source_package: str
    kdb_required: list[str]

    def arch(self, name: str) -> ArchData:
        try:
            return self.arches[name]
        except KeyError:
            raise UsageError(f"no test guest for arch {name!r}", hint=f"use one of {', '.join(self.arches)}") from None


def read_text(*parts: str) -> str:
    """A data file shipped next to this module (``kdb/common.config``, ``init.sh`` ...)."""
    node = resources.files(__package__)
    for part in parts:
        node = node.joinpath(part)
    return node.read_text(encoding="utf-8")


def load() -> GuestData:
    table = tomlfile.load_resource(__package__, "packages.toml")
    with table.guard():
        raw: dict[str, Any] = table.data
        arches = {name: ArchData(name=name, **fields) for name, fields in raw["arch"].items()}
        return GuestData(
            userland=list(raw["userland"]),
            modules=list(raw["modules"]),
            arches=arches,
            kdb_source_package=raw["kdb"]["source_package"],
            kdb_required=list(raw["kdb"]["required"]),
        )
