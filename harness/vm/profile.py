"""VM profiles: the TOML files in ``vm_configs/`` that say how to run QEMU for one guest on one arch."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, HostError, UsageError
from harness.settings import data_dir


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
    """A profile by name (``linuxtest-amd64``) or path; a bad file is a ConfigError naming the problem."""
    path = profile_path(name)
    if not path.is_file():
        raise UsageError(f"no VM profile {name!r} ({path})", hint=f"available: {', '.join(available()) or 'none'}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return _from_dict(path.stem, raw, path)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: bad or missing field: {exc}") from None


def _from_dict(name: str, raw: dict[str, Any], source: Path | None = None) -> VMProfile:
    firmware = raw.get("firmware")
    numa = tuple(NumaNode(cpus=str(n["cpus"]), memory_mb=int(n["memory_mb"])) for n in raw.get("numa", []))
    profile = VMProfile(
        name=name,
        arch=str(raw["arch"]),
        qemu=str(raw["qemu"]),
        machine=str(raw["machine"]),
        memory_mb=int(raw["memory_mb"]),
        cpus=int(raw["cpus"]),
        accelerators=tuple(raw["accelerators"]),
        cpu={str(k): str(v) for k, v in raw["cpu"].items()},
        machine_options=tuple(raw.get("machine_options", ())),
        tcg_thread=str(raw.get("tcg_thread", "multi")),
        firmware=Firmware(tuple(firmware["code"]), tuple(firmware["vars"])) if firmware else None,
        devices=Devices(**raw.get("devices", {})),
        numa=numa,
        panic_action=str(raw.get("panic_action", "none")),
        no_reboot=bool(raw.get("no_reboot", False)),
        console_tty=str(raw.get("console_tty", "")),
        extra_args=tuple(raw.get("extra_args", ())),
        source=source,
    )
    _validate(profile)
    return profile


def _validate(profile: VMProfile) -> None:
    if profile.memory_mb < 64 or profile.cpus < 1:
        raise ValueError(f"memory_mb must be >= 64 and cpus >= 1 (got {profile.memory_mb}, {profile.cpus})")
    if not profile.accelerators or set(profile.accelerators) - {"kvm", "tcg"}:
        raise ValueError(f"accelerators must be a non-empty list of kvm/tcg, got {list(profile.accelerators)}")
    if profile.numa and sum(n.memory_mb for n in profile.numa) != profile.memory_mb:
        raise ValueError("numa node memory must add up to memory_mb")
    if profile.panic_action not in {"none", "pause", "poweroff", "shutdown"}:
        raise ValueError(f"panic_action {profile.panic_action!r} is not one QEMU accepts")
