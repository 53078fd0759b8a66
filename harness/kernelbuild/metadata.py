"""Build metadata and the build cache: ``metadata.json`` and ``reproducer.sh`` are written before the build
starts (tuxmake's "reproducer first"), so even a killed build says what it was; the key addresses the cache."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shlex
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.kernelbuild.commands import Command
from harness.util.files import atomic_write_json
from harness.util.locking import exclusive_lock

STATUS_BUILDING = "building"
STATUS_COMPLETE = "complete"
STATUS_FAILED = "failed"
KEY_CHARS = 20


@dataclass
class BuildRecord:
    key: str
    status: str
    source: dict[str, Any]
    patches: list[dict[str, Any]]
    kernconf: dict[str, str]
    toolchain: str
    arch: str
    target: str
    target_arch: str
    backend: str
    modules: bool
    reproducer: str
    commands: list[str] = field(default_factory=list)
    kernel_dir: str = "stage/boot/kernel"
    log: str = "build.log"
    started: float = 0.0
    finished: float | None = None
    error: str | None = None


def build_key(parts: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of everything that changes the kernel (not paths, not -j)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:KEY_CHARS]


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    atomic_write_json(path, data, mode=0o644)


def write_record(build_dir: Path, record: BuildRecord) -> Path:
    path = build_dir / "metadata.json"
    write_json_atomic(path, asdict(record))
    return path


def read_record(build_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((build_dir / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_complete(build_dir: Path) -> bool:
    record = read_record(build_dir)
    if record is None or record.get("status") != STATUS_COMPLETE:
        return False
    return (build_dir / str(record.get("kernel_dir", "")) / "kernel").is_file()


def finish(build_dir: Path, record: BuildRecord, *, error: str | None = None) -> None:
    record.status = STATUS_FAILED if error else STATUS_COMPLETE
    record.error = error
    record.finished = time.time()
    write_record(build_dir, record)


def reproducer_script(cli: list[str], commands: list[Command]) -> str:
    lines = [
        "#!/bin/sh",
        "# Rebuilds this kernel: same source revision, patches, KERNCONF, arch and backend.",
        "# The build ran these commands (the patched worktree is temporary, so rerun through harness):",
    ]
    lines += [f"#   {c.display()}" for c in commands]
    lines += ["set -e", "exec " + shlex.join(cli), ""]
    return "\n".join(lines)


def write_reproducer(build_dir: Path, cli: list[str], commands: list[Command]) -> Path:
    path = build_dir / "reproducer.sh"
    path.write_text(reproducer_script(cli, commands), encoding="utf-8")
    path.chmod(0o755)
    return path


def build_lock(build_dir: Path) -> contextlib.AbstractContextManager[None]:
    """One build per key at a time: a second process with the same key waits, then finds the kernel cached."""
    return exclusive_lock(build_dir / ".lock")
