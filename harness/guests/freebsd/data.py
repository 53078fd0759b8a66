"""The FreeBSD adapter's data (``freebsd.toml`` next to this module), loaded and typed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.util import tomlfile
from harness.vm.guest import StartHints


@dataclass(frozen=True)
class Timeouts:
    boot: float
    login: float
    command: float
    reboot: float
    ssh: float


@dataclass(frozen=True)
class ConsoleData:
    prompt_tag: str
    user: str
    cursor_report: str
    input_pace: float
    shell_setup: tuple[str, ...]


@dataclass(frozen=True)
class FirstBootData:
    loader_conf: dict[str, str]
    rc_conf: dict[str, str]
    sshd_config: tuple[str, ...]
    stamp: str


@dataclass(frozen=True)
class KernelData:
    default_name: str
    reboot_command: str


@dataclass(frozen=True)
class DdbData:
    pager_answer: str
    disable_pager: str
    resume: str
    eol: str
    enter_sysctl: str
    alt_break: str
    sysctls: tuple[str, ...]
    panic_script: str


@dataclass(frozen=True)
class FirmwareData:
    amd64_uefi_code: tuple[str, ...]
    amd64_uefi_vars: tuple[str, ...]


@dataclass(frozen=True)
class FreeBSDData:
    timeouts: Timeouts
    console: ConsoleData
    firstboot: FirstBootData
    kernel: KernelData
    ddb: DdbData
    firmware: FirmwareData
    start: StartHints


def _tuples(table: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in table.items()}


def load() -> FreeBSDData:
    table = tomlfile.load_resource(__package__, "freebsd.toml")
    with table.guard():
        raw = table.data
        return FreeBSDData(
            timeouts=Timeouts(**raw["timeouts"]),
            console=ConsoleData(**_tuples(raw["console"])),
            firstboot=FirstBootData(**_tuples(raw["firstboot"])),
            kernel=KernelData(**raw["kernel"]),
            ddb=DdbData(**_tuples(raw["ddb"])),
            firmware=FirmwareData(**_tuples(raw["firmware"])),
            start=StartHints.from_tables(raw["clock"], raw["phases"]),
        )
