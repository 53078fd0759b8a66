"""Live tests need real FreeBSD artefacts; each is named by an environment variable and skipped without it.

``HARNESS_FREEBSD_IMAGE``: an official FreeBSD VM image file, as published (``.xz``, checked against the release's
CHECKSUM file when reachable or cached) or decompressed (raw/qcow2). The release and arch are read from its name
(``FreeBSD-14.4-RELEASE-arm64-aarch64-ufs.qcow2.xz``) or given by ``HARNESS_FREEBSD_RELEASE`` /
``HARNESS_FREEBSD_ARCH``. ``HARNESS_FREEBSD_KERNEL``: a kernel directory built with ``options DDB`` (optional).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

_NAME = re.compile(r"FreeBSD-(?P<version>\d+\.\d+)-RELEASE-(?P<arch>amd64|arm64-aarch64)")


@dataclass(frozen=True)
class LiveImage:
    path: Path
    release: str
    arch: str


@pytest.fixture(scope="session")
def freebsd_image() -> LiveImage:
    value = os.environ.get("HARNESS_FREEBSD_IMAGE")
    if not value:
        pytest.skip("set HARNESS_FREEBSD_IMAGE to an official FreeBSD VM image (.xz or decompressed) to boot it")
    path = Path(value)
    if not path.is_file():
        pytest.fail(f"HARNESS_FREEBSD_IMAGE={value} does not exist")
    match = _NAME.search(path.name)
    release = os.environ.get("HARNESS_FREEBSD_RELEASE") or (match["version"] if match else "14")
    arch = os.environ.get("HARNESS_FREEBSD_ARCH") or ("arm64" if match and match["arch"] != "amd64" else "amd64")
    return LiveImage(path, release, arch)


@pytest.fixture(scope="session")
def freebsd_kernel_dir() -> Path:
    value = os.environ.get("HARNESS_FREEBSD_KERNEL")
    if not value:
        pytest.skip("set HARNESS_FREEBSD_KERNEL to a kernel directory built with `options DDB` to test nextboot")
    return Path(value)
