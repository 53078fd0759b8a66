"""Build workload programs on the host, statically, for guests that have no compiler (the Linux test guest)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from harness.errors import BuildError, HostError
from harness.steps import step
from harness.workloads.catalogue import COMMON_HEADER, Catalogue, Workload, program_source

#: Seconds a single small C program may take to compile.
COMPILE_TIMEOUT = 120


def host_compiler(catalogue: Catalogue, arch: str) -> str:
    """The cross compiler for ``arch`` named in the catalogue, if it is installed on the host."""
    name = catalogue.host_cc.get(arch)
    if name is None:
        raise HostError(f"no host compiler is configured for arch {arch}", hint="add it to [host_cc] in catalogue.toml")
    path = shutil.which(name)
    if path is None:
        package = "gcc" if arch == "amd64" else f"gcc-{name.removesuffix('-gcc')}"
        raise HostError(f"{name} is not installed", hint=f"apt-get install {package}")
    return path


def build_static(catalogue: Catalogue, workload: Workload, arch: str, out_dir: Path) -> Path:
    """Compile ``workload``'s program for ``arch`` into ``out_dir``; returns the binary's path."""
    if workload.program is None:
        raise BuildError(f"workload {workload.name} has no program to build")
    compiler = host_compiler(catalogue, arch)
    out_dir.mkdir(parents=True, exist_ok=True)
    binary = out_dir / workload.name.replace("-", "_")
    with tempfile.TemporaryDirectory(prefix="harness-wl-") as tmp, step("compile", workload=workload.name, arch=arch):
        src = Path(tmp)
        (src / workload.program).write_text(program_source(workload.program), encoding="utf-8")
        (src / COMMON_HEADER).write_text(program_source(COMMON_HEADER), encoding="utf-8")
        command = [compiler, "-static", "-O2", "-Wall", "-pthread", "-o", str(binary), str(src / workload.program)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=COMPILE_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise BuildError(f"{compiler} took more than {COMPILE_TIMEOUT} s for {workload.program}") from None
        if done.returncode != 0:
            raise BuildError(f"{compiler} failed for {workload.program}: {done.stderr.strip()[-400:]}")
    return binary
