"""Per-run qcow2 overlays on top of a cached base image, grown before first boot so growfs can use the space."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from harness.errors import HostError, UsageError, VMError

_SUFFIX = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


_DECIMAL = re.compile(r"[0-9]{1,15}(\.[0-9]{1,9})?")
#: Far beyond any test disk, well inside what qemu-img accepts.
MAX_DISK = 64 << 40


def parse_size(text: str) -> int:
    """``"16G"``, ``"512M"``, ``"1073741824"`` → bytes (binary units, as qemu-img reads them)."""
    raw = text.strip().lower().removesuffix("b")
    factor = _SUFFIX.get(raw[-1:], 1)
    digits = raw[:-1] if raw[-1:] in _SUFFIX else raw
    # Plain decimal only: float() would also take "inf", "nan", "1e400" and "1_000".
    if not _DECIMAL.fullmatch(digits):
        raise UsageError(f"not a disk size: {text[:40]!r}", hint="use a number with K, M, G or T, e.g. 16G")
    value = int(Decimal(digits) * factor)
    if value <= 0:
        raise UsageError(f"disk size must be positive: {text!r}")
    if value > MAX_DISK:
        raise UsageError(f"disk size {text!r} is larger than 64T", hint="use a size such as 16G")
    return value


def _qemu_img(*args: str) -> str:
    binary = shutil.which("qemu-img")
    if binary is None:
        raise HostError("qemu-img not found", hint="apt-get install qemu-utils")
    proc = subprocess.run([binary, *args], capture_output=True, text=True, check=False, timeout=120)
    if proc.returncode != 0:
        raise VMError(f"qemu-img {args[0]} failed: {proc.stderr.strip() or proc.returncode}")
    return proc.stdout


def virtual_size(image: Path, fmt: str | None = None) -> int:
    args = ["info", "--output=json", *(["-f", fmt] if fmt else []), str(image)]
    return int(json.loads(_qemu_img(*args))["virtual-size"])


@dataclass(frozen=True)
class Overlay:
    path: Path
    base: Path
    base_format: str
    size: int


def create_overlay(base: Path, base_format: str, dest: Path, size: int | None = None) -> Overlay:
    """A qcow2 at ``dest`` backed by ``base`` (never written), then resized to ``size`` if that is larger.

    The resize must happen before the guest's first boot: FreeBSD's growfs is a ``firstboot`` rc script.
    """
    base = base.resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    _qemu_img("create", "-q", "-f", "qcow2", "-F", base_format, "-b", str(base), str(dest))
    # What the guest writes (its sshd host keys, everything a workload leaves) is the run owner's alone.
    os.chmod(dest, 0o600)
    current = virtual_size(dest, "qcow2")
    if size is not None and size > current:
        _qemu_img("resize", "-q", "-f", "qcow2", str(dest), str(size))
        current = size
    return Overlay(dest, base, base_format, current)
