"""Live kernel build from a real FreeBSD source tree.

Runs only when ``HARNESS_FREEBSD_SRC`` names a FreeBSD git checkout (freebsd-src); skipped with that reason
otherwise. Optional: ``HARNESS_LIVE_BACKEND`` (default ``native`` on FreeBSD, ``cross`` elsewhere),
``HARNESS_LIVE_ARCH`` (``amd64``), ``HARNESS_LIVE_PATCH`` (``kstack-pindex``), ``HARNESS_LIVE_JOBS``.
The kernel is built without modules to keep the time down (15–45 min with modules on a few cores).
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.kernelbuild.pipeline import BuildOptions, build

pytestmark = pytest.mark.live

SRC = os.environ.get("HARNESS_FREEBSD_SRC")
#: ELF e_machine of the kernel per arch (x86-64 = 62, AArch64 = 183).
E_MACHINE = {"amd64": 62, "arm64": 183}


@pytest.fixture(scope="module")
def options() -> BuildOptions:
    if not SRC:
        pytest.skip("set HARNESS_FREEBSD_SRC to a FreeBSD git checkout (freebsd-src) to run the live build")
    backend = os.environ.get("HARNESS_LIVE_BACKEND") or ("native" if platform.system() == "FreeBSD" else "cross")
    return BuildOptions(
        patches=(os.environ.get("HARNESS_LIVE_PATCH", "kstack-pindex"),),
        arch=os.environ.get("HARNESS_LIVE_ARCH", "amd64"),
        backend=backend,
        src=Path(SRC),
        jobs=int(os.environ.get("HARNESS_LIVE_JOBS", str(os.cpu_count() or 1))),
        modules=False,
    )


def test_patch_check_applies_or_is_upstream(options: BuildOptions) -> None:
    assert main(["patch", "check", *options.patches, "--src", str(options.src)]) == 0


def test_live_build_produces_a_kernel_that_carries_its_ident(options: BuildOptions) -> None:
    result = build(options)
    kernel = result.kernel_dir / "kernel"
    data = kernel.read_bytes()
    assert data[:4] == b"\x7fELF"
    assert int.from_bytes(data[18:20], "little") == E_MACHINE[options.arch]
    assert result.ident.encode() in data, "the kernel must carry the fingerprinted ident (uname -i)"
    meta = json.loads((result.build_dir / "metadata.json").read_text())
    assert meta["status"] == "complete" and meta["kernconf"]["ident"] == result.ident
    assert json.loads((result.kernel_dir / "metadata.json").read_text())["ident"] == result.ident

    again = build(options)
    assert again.cached and again.kernel_dir == result.kernel_dir
