"""The plan of a night: each cell's repeats as ``harness run`` commands, and the kernels they share.

``harness nightly plan`` prints it (text, ``--json``, or ``--format github``: a CI matrix include-list, so a CI
system can be the engine and ``harness nightly merge`` collects its jobs' run directories).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from harness.nightly.matrix import STOCK, Cell, Matrix, is_kernel_dir


@dataclass(frozen=True)
class KernelSpec:
    """A kernel cells share: ``stock`` (the release's own), a patch built once, or a kernel directory."""

    kernel: str
    release: str | None
    arch: str

    @property
    def key(self) -> str | None:
        if self.kernel == STOCK:
            return None
        return f"{self.kernel}@{self.release}-{self.arch}" if not is_kernel_dir(self.kernel) else self.kernel


@dataclass(frozen=True)
class CellTask:
    """One repeat of one cell, as a worker runs it: ``argv`` is ``harness run …`` without ``--kernel`` and
    ``--runs-dir`` (the worker adds both: the kernel unpacked on that worker, a run dir of its own)."""

    cell: str
    repeat: int
    argv: tuple[str, ...]
    kernel_key: str | None = None

    @property
    def key(self) -> str:
        return f"{self.cell}#{self.repeat}"


def kernel_of(cell: Cell) -> KernelSpec:
    return KernelSpec(cell.kernel, cell.release, cell.arch)


def run_argv(cell: Cell, *, patch_in_run: bool = False) -> list[str]:
    """The ``harness run`` command of one cell (every parameter spelled out)."""
    argv = ["harness", "run", "--guest", cell.guest, "--arch", cell.arch]
    if cell.release:
        argv += ["--release", cell.release]
    if patch_in_run and cell.kernel != STOCK:
        argv += ["--kernel", cell.kernel] if is_kernel_dir(cell.kernel) else ["--patch", cell.kernel]
    argv += ["--workload", cell.workload.name]
    argv += [arg for key, value in cell.workload.params for arg in ("--param", f"{cell.workload.name}:{key}={value}")]
    argv += [arg for key, value in cell.model for arg in ("--model", f"{key}={value}")]
    return argv


def tasks(matrix: Matrix) -> list[CellTask]:
    """Every repeat of every cell, repeats interleaved (all first repeats first), so a short night still covers
    the whole matrix early."""
    return [
        CellTask(cell.id, repeat, tuple(run_argv(cell)), kernel_of(cell).key)
        for repeat in range(1, matrix.repeat + 1)
        for cell in matrix.cells
    ]


def kernels(matrix: Matrix) -> list[KernelSpec]:
    """The distinct non-stock kernels of the night: each is built (or packed) once and shared by its cells."""
    found = {kernel_of(cell) for cell in matrix.cells}
    return sorted((k for k in found if k.key), key=lambda k: str(k.key))


def as_json(matrix: Matrix) -> dict[str, Any]:
    return {
        "matrix": str(matrix.path),
        "cells": [cell.axes() for cell in matrix.cells],
        "repeat": matrix.repeat,
        "runs": len(matrix.cells) * matrix.repeat,
        "kernels": [k.key for k in kernels(matrix)],
    }


def github_include(matrix: Matrix) -> str:
    """``{"include": [...]}`` on one line: ``strategy.matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}``.
    Each entry's ``run`` is the whole command, ``--runs-dir`` last, to be completed by the job."""
    include = []
    for repeat in range(1, matrix.repeat + 1):
        for cell in matrix.cells:
            argv = run_argv(cell, patch_in_run=True)
            include.append({**cell.axes(), "repeat": repeat, "run": " ".join(_quote(a) for a in argv)})
    return json.dumps({"include": include}, separators=(",", ":"))


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def text(matrix: Matrix) -> str:
    lines = [f"{len(matrix.cells)} cells × {matrix.repeat} repeat(s) = {len(matrix.cells) * matrix.repeat} runs"]
    for spec in kernels(matrix):
        lines.append(f"kernel {spec.key}: built once, shared by its cells")
    for cell in matrix.cells:
        lines.append(f"{cell.id}: {' '.join(_quote(a) for a in run_argv(cell, patch_in_run=True))}")
    return "\n".join(lines)
