"""What ``harness run`` was asked for: one record from the CLI (or bisect) to the pipeline and the guest kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.workloads.catalogue import ParamValue


#: A ``--model KEY=VALUE`` value as parsed; the guest kind accepts only non-negative integers.
ModelValue = int | float | str
ModelOverrides = dict[str, ModelValue]


@dataclass
class RunRequest:
    guest: str
    arch: str
    workloads: list[str]
    params: dict[str, dict[str, ParamValue]] = field(default_factory=dict)
    release: str | None = None
    kernel: Path | None = None
    patch: str | None = None
    ddb: bool = False
    keep_vm: bool = False
    runs_root: Path = Path("runs")
    model: ModelOverrides = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)
    #: The resolved release (``14.4-RELEASE`` for ``--release 14``), set by the guest kind before the run starts.
    release_name: str | None = None
    mirror: str | None = None
    offline: bool = False
    #: ``--pin ALGO:HEX``: a known-good digest of the image the mirror's checksum list must agree with.
    pin: str | None = None
    #: An image file the user downloaded (``--image``): used instead of fetching the release's image.
    image: Path | None = None
    #: Restore the VM from its snapshot when one matches, else boot cold and save one (``--no-snapshot``: False).
    snapshot: bool = True
