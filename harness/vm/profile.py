"""VM profiles: the TOML files in ``vm_configs/`` that say how to run QEMU for one guest on one arch."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ConfigError, HostError, UsageError
from harness.settings import data_dir
from harness.util import tomlfile


@dataclass(frozen=True)
class NumaNode:
    cpus: str  # QEMU cpu list, "0" or "0-1"
    memory_mb: int


@dataclass(frozen=True)
class Firmware:
    """UEFI pflash pair: a read-only code image and a vars template copied per run (candidates, first found)."""

    code: tuple[str, ...]
    vars: tuple[str, ...]

    def resolve(self) -> tuple[Path, Path]:
        return _first_existing(self.code, "UEFI firmware code"), _first_existing(self.vars, "UEFI vars template")


@dataclass(frozen=True)
class Devices:
    disk: str = "virtio-blk-pci"
    net: str = "virtio-net-pci"
    rng: str = "virtio-rng-pci"
    #: pvpanic device (``pvpanic`` on x86, ``pvpanic-pci`` on arm64 virt); empty for none.
    panic: str = ""


@dataclass(frozen=True)
class VMProfile:
    name: str
    arch: str
    qemu: str
    machine: str
    memory_mb: int
    cpus: int
    #: Accelerators in order of preference; ``kvm`` is used only if the probe proves it works.
    accelerators: tuple[str, ...]
    cpu: dict[str, str]
    machine_options: tuple[str, ...] = ()
    tcg_thread: str = "multi"
    firmware: Firmware | None = None
    devices: Devices = field(default_factory=Devices)
    numa: tuple[NumaNode, ...] = ()
    #: QEMU ``-action panic=...``: ``none`` keeps the VM up after a guest panic so the console shows all of it.
    panic_action: str = "none"
    no_reboot: bool = False
    console_tty: str = ""
    extra_args: tuple[str, ...] = ()
    source: Path | None = None

    def cpu_for(self, accel: str) -> str:
        try:
            return self.cpu[accel]
        except KeyError:
            raise ConfigError(f"profile {self.name}: no [cpu] model for accelerator {accel!r}") from None

    def with_overrides(self, *, memory_mb: int | None = None, cpus: int | None = None) -> VMProfile:
        from dataclasses import replace

        return replace(self, memory_mb=memory_mb or self.memory_mb, cpus=cpus or self.cpus)


def _first_existing(candidates: tuple[str, ...], what: str) -> Path:
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file():
            return path
    raise HostError(
        f"{what} missing: none of {', '.join(candidates)} exists",
        hint="install the firmware package (qemu-efi-aarch64 for arm64, ovmf for amd64 UEFI)",
    )


def profile_path(name: str) -> Path:
    path = Path(name)
    if path.suffix == ".toml" or "/" in name:
        return path
    return data_dir("vm_configs") / f"{name}.toml"


def available() -> list[str]:
    return sorted(p.stem for p in data_dir("vm_configs").glob("*.toml"))


def load(name: str) -> VMProfile:
    """A profile by name (``linuxtest-amd64``) or path; a bad file is a ConfigError naming the file and key."""
    path = profile_path(name)
    if not path.is_file():
        raise UsageError(f"no VM profile {name!r} ({path})", hint=f"available: {', '.join(available()) or 'none'}")
    return _from_table(path.stem, tomlfile.load(path, hint=HINT), path)


HINT = "see the other profiles in vm_configs/"
_DEVICE_KEYS = ("disk", "net", "rng", "panic")
_PANIC_ACTIONS = ("none", "pause", "poweroff", "shutdown")


def _from_table(name: str, raw: tomlfile.Table, source: Path | None = None) -> VMProfile:
    firmware = raw.table("firmware", None) if "firmware" in raw else None
    devices = raw.table("devices", {})
    unknown = [key for key in devices if key not in _DEVICE_KEYS]
    if unknown:
        devices.fail(f"unknown device {unknown[0]!r}, expected one of {', '.join(_DEVICE_KEYS)}", unknown[0])
    memory_mb = raw.integer("memory_mb", low=64, high=1 << 24)
    numa = tuple(
        NumaNode(cpus=node.string("cpus"), memory_mb=node.integer("memory_mb", low=1, high=1 << 24))
        for node in raw.tables("numa", [])
    )
    if numa and sum(n.memory_mb for n in numa) != memory_mb:
        raw.fail("numa node memory must add up to memory_mb", "numa")
    accelerators = raw.strings("accelerators", non_empty=True)
    if set(accelerators) - {"kvm", "tcg"}:
        raw.fail(f"must be kvm and/or tcg, got {list(accelerators)}", "accelerators")
    return VMProfile(
        name=name,
        arch=raw.string("arch"),
        qemu=raw.string("qemu"),
        machine=raw.string("machine"),
        memory_mb=memory_mb,
        cpus=raw.integer("cpus", low=1, high=1024),
        accelerators=accelerators,
        cpu=raw.string_map("cpu"),
        machine_options=raw.strings("machine_options", ()),
        tcg_thread=raw.choice("tcg_thread", ("multi", "single"), "multi"),
        firmware=Firmware(firmware.strings("code", non_empty=True), firmware.strings("vars", non_empty=True))
        if firmware is not None
        else None,
        devices=Devices(**{key: devices.string(key) for key in devices}),
        numa=numa,
        panic_action=raw.choice("panic_action", _PANIC_ACTIONS, "none"),
        no_reboot=raw.boolean("no_reboot", False),
        console_tty=raw.string("console_tty", ""),
        extra_args=raw.strings("extra_args", ()),
        source=source,
    )
