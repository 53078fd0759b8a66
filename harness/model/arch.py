"""Per-architecture constants, loaded from ``arch.toml`` and overridable from a guest's sysctls (spec §3)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from harness.errors import ConfigError, UsageError
from harness.util import tomlfile

ARCHES = ("amd64", "arm64")

#: sysctl name -> ArchConstants field it overrides.
SYSCTL_FIELDS: dict[str, str] = {
    "vm.min_kernel_address": "vm_min_kernel_address",
    "vm.max_kernel_address": "vm_max_kernel_address",
    "kern.kstack_pages": "kstack_pages",
    "hw.ncpu": "ncpu",
    "vm.ndomains": "ndomains",
}


@dataclass(frozen=True)
class ArchConstants:
    """The machine facts the model computes with. Addresses are integers; sizes are in pages unless named bytes."""

    arch: str
    page_shift: int
    kstack_pages: int
    kstack_guard_pages: int
    kstack_max_pages: int
    vm_min_kernel_address: int
    vm_max_kernel_address: int
    reserv_order: int  # VM_LEVEL_0_ORDER: pages per level-0 reservation (vm.reserv.*) = 1 << reserv_order
    kva_quantum_order: int  # KVA_QUANTUM / KVA_KSTACK_QUANTUM = 1 << (kva_quantum_order + page_shift)
    maxmemdom: int
    ncpu: int
    ndomains: int
    vm_pageout_page_count: int
    vm_object_size: int

    def __post_init__(self) -> None:
        problems = []
        if self.page_shift < 12:
            problems.append(f"page_shift {self.page_shift} < 12")
        if not 1 <= self.kstack_pages <= self.kstack_max_pages:
            problems.append(f"kstack_pages {self.kstack_pages} not in 1..{self.kstack_max_pages}")
        if self.kstack_guard_pages < 0:
            problems.append("kstack_guard_pages < 0")
        if self.vm_max_kernel_address <= self.vm_min_kernel_address:
            problems.append("vm.max_kernel_address <= vm.min_kernel_address")
        if self.vm_min_kernel_address % self.page_size or self.vm_max_kernel_address % self.page_size:
            problems.append("kernel address bounds not page aligned")
        if self.ncpu < 1:
            problems.append(f"ncpu {self.ncpu} < 1")
        if not 1 <= self.ndomains <= self.maxmemdom:
            problems.append(f"ndomains {self.ndomains} not in 1..{self.maxmemdom}")
        if problems:
            raise UsageError(f"bad {self.arch} constants: " + "; ".join(problems))

    # --- derived values -----------------------------------------------------------------------------------------

    @property
    def page_size(self) -> int:
        return 1 << self.page_shift

    @property
    def stack_slot_pages(self) -> int:
        """Pages of KVA one default stack takes: kstack_pages + guard pages (P in the spec)."""
        return self.kstack_pages + self.kstack_guard_pages

    @property
    def kstack_object_size(self) -> int:
        """``atop(VM_MAX_KERNEL_ADDRESS - VM_MIN_KERNEL_ADDRESS)``: the size of kstack_object in pages (§1.3)."""
        return (self.vm_max_kernel_address - self.vm_min_kernel_address) >> self.page_shift

    @property
    def kvm_size(self) -> int:
        """``vm.kvm_size`` on amd64/arm64: VM_MAX_KERNEL_ADDRESS - VM_MIN_KERNEL_ADDRESS, in bytes."""
        return self.vm_max_kernel_address - self.vm_min_kernel_address

    @property
    def reservation_pages(self) -> int:
        return 1 << self.reserv_order

    @property
    def kva_quantum(self) -> int:
        """KVA_QUANTUM (vm_kern.c) and KVA_KSTACK_QUANTUM (G2), in bytes. With one reservation level this is one
        level-0 reservation; with two (arm64 on 15) it is a level-1 reservation, 2 MiB, not the 64 KiB level 0."""
        return 1 << (self.kva_quantum_order + self.page_shift)

    @property
    def kstack_import_quantum(self) -> int:
        """G2 ``vm_thread_kstack_import_quantum()``: KVA_KSTACK_QUANTUM * (kstack_pages + guard), bytes."""
        return self.kva_quantum * self.stack_slot_pages

    @property
    def kstack_arena_span(self) -> int:
        """Bytes the G2 kstack arena adds per import: the import quantum less one stack (§2.1)."""
        return self.kstack_import_quantum - self.stack_slot_pages * self.page_size

    @property
    def slots_per_import(self) -> int:
        return (self.kstack_arena_span >> self.page_shift) // self.stack_slot_pages

    @property
    def default_kstack_cache_size(self) -> int:
        """``kstack_cache_size = imax(128, mp_ncpus * 4)`` (G1 and later)."""
        return max(128, self.ncpu * 4)

    def atop(self, addr: int) -> int:
        return addr >> self.page_shift

    def ptoa(self, pages: int) -> int:
        return pages << self.page_shift

    # --- construction -------------------------------------------------------------------------------------------

    @classmethod
    def load(cls, arch: str, generation: str | None = None, **overrides: int) -> ArchConstants:
        """The defaults for ``arch`` from arch.toml, then its ``[arch.generations.<generation>]`` values (a
        version edge such as arm64's two reservation levels on G3), then keyword overrides."""
        table = _arch_table()
        if arch not in table:
            raise UsageError(f"unknown arch {arch!r}", hint=f"use one of: {', '.join(sorted(table))}")
        values: dict[str, Any] = dict(table[arch])
        per_generation = values.pop("generations", {})
        if generation is not None and isinstance(per_generation.get(generation), dict):
            values.update(per_generation[generation])
        names = {f.name for f in dataclasses.fields(cls)}
        for key, value in overrides.items():
            if key not in names or key == "arch":
                raise UsageError(f"unknown arch constant {key!r}")
            values[key] = value
        try:
            return cls(arch=arch, **values)
        except TypeError as exc:
            raise ConfigError(f"arch.toml [{arch}] is malformed: {exc}") from None

    @classmethod
    def from_sysctls(
        cls, arch: str, sysctls: Mapping[str, str], generation: str | None = None, **overrides: int
    ) -> ArchConstants:
        """Defaults for ``arch`` overridden by the guest's sysctl values (strings, as ``sysctl -n`` prints them).

        Recognised names: vm.min_kernel_address, vm.max_kernel_address, kern.kstack_pages, hw.ncpu, vm.ndomains.
        Others are ignored. A value that is not an integer is a usage error naming the sysctl.
        """
        values: dict[str, int] = {}
        for name, field in SYSCTL_FIELDS.items():
            if name not in sysctls:
                continue
            text = str(sysctls[name]).strip()
            try:
                values[field] = int(text, 0)
            except ValueError:
                raise UsageError(f"sysctl {name} is not an integer: {text!r}") from None
        values.update(overrides)
        return cls.load(arch, generation, **values)

    def with_changes(self, **changes: Any) -> ArchConstants:
        return dataclasses.replace(self, **changes)


@cache
def _arch_table() -> dict[str, dict[str, Any]]:
    data = tomlfile.load_resource("harness.model", "arch.toml").data
    return {k: v for k, v in data.items() if isinstance(v, dict)}
