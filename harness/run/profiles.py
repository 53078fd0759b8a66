"""Guest profiles of a run (``profiles.toml``): workdir, program build, snapshot and sampler commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.errors import UsageError
from harness.util import tomlfile


@dataclass(frozen=True)
class DdbPlan:
    commands: tuple[str, ...]
    threads: str
    thread_command: str
    sample_threads: int


@dataclass(frozen=True)
class GuestProfile:
    name: str
    description: str
    workdir: str
    compile_in_guest: bool
    default_workloads: tuple[str, ...]
    settle_seconds: float
    plateau_dwell_seconds: float
    boot_timeout: float
    snapshot: dict[str, str]
    sampler: str
    cc: str = "cc"
    fingerprint: dict[str, str] = field(default_factory=dict)
    ddb: DdbPlan | None = None


def load_profiles(text: str | None = None) -> dict[str, GuestProfile]:
    if text is None:
        data = tomlfile.load_resource("harness.run", "profiles.toml")
    else:
        data = tomlfile.parse(text, "guest profiles", hint="see harness/run/profiles.toml")
    profiles = {}
    for name, entry in data.table("guest").subtables().items():
        with entry.guard():
            profiles[name] = _profile(name, entry.data)
    return profiles


def _profile(name: str, entry: dict[str, Any]) -> GuestProfile:
    ddb = entry.get("ddb")
    return GuestProfile(
        name=name,
        description=str(entry["description"]),
        workdir=str(entry["workdir"]),
        compile_in_guest=bool(entry["compile_in_guest"]),
        default_workloads=tuple(entry["default_workloads"]),
        settle_seconds=float(entry["settle_seconds"]),
        plateau_dwell_seconds=float(entry.get("plateau_dwell_seconds", 0.0)),
        boot_timeout=float(entry["boot_timeout"]),
        snapshot=dict(entry["snapshot"]),
        sampler=str(entry["sampler"]["command"]),
        cc=str(entry.get("cc", "cc")),
        fingerprint=dict(entry.get("fingerprint", {})),
        ddb=DdbPlan(
            commands=tuple(ddb["commands"]),
            threads=ddb["threads"],
            thread_command=ddb["thread_command"],
            sample_threads=int(ddb["sample_threads"]),
        )
        if ddb
        else None,
    )


def profile(name: str) -> GuestProfile:
    profiles = load_profiles()
    try:
        return profiles[name]
    except KeyError:
        raise UsageError(f"unknown guest {name!r}", hint=f"known guests: {', '.join(profiles)}") from None
