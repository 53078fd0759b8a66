"""The generation registry: names, aliases and the kernel class of each (spec §0)."""

from __future__ import annotations

from harness.errors import UsageError
from harness.model.arch import ArchConstants
from harness.model.g0_list import G0ListKernel
from harness.model.g0_uma import G0UmaKernel
from harness.model.g1 import G1Kernel
from harness.model.g2 import G2Kernel
from harness.model.g3 import G3Kernel
from harness.model.kernel import Kernel, ModelParams

GENERATIONS: dict[str, type[Kernel]] = {
    "G0-list": G0ListKernel,
    "G0-uma": G0UmaKernel,
    "G1": G1Kernel,
    "G2": G2Kernel,
    "G3": G3Kernel,
}


def canonical(name: str) -> str:
    """``g1``, ``G0_list``, ``g0list`` … → the canonical name; UsageError for anything else."""
    key = name.strip().lower().replace("_", "-")
    for gen in GENERATIONS:
        if key in (gen.lower(), gen.lower().replace("-", "")):
            return gen
    raise UsageError(f"unknown generation {name!r}", hint=f"use one of: {', '.join(GENERATIONS)}")


def make_kernel(generation: str, arch: ArchConstants, params: ModelParams | None = None) -> Kernel:
    return GENERATIONS[canonical(generation)](arch, params)
