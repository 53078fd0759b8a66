"""Debian packages without installing them: resolve, download (`apt-get download`), unpack (`dpkg-deb`)."""

from __future__ import annotations

import functools
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HostError


@dataclass(frozen=True)
class DebianPackage:
    name: str
    arch: str
    version: str
    filename: str

    @property
    def spec(self) -> str:
        return self.name if self.arch == "all" else f"{self.name}:{self.arch}"


def _apt(args: list[str], cwd: Path | None = None) -> str:
    try:
        proc = subprocess.run(args, cwd=cwd, check=False, text=True, capture_output=True)
    except FileNotFoundError:
        raise HostError(
            f"{args[0]} not found", hint="the test guests are built with apt and dpkg (Debian/Ubuntu)"
        ) from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise HostError(
            f"{' '.join(args[:2])} failed (exit {proc.returncode}): {' | '.join(tail)}",
            hint="for arm64 run `dpkg --add-architecture arm64 && apt-get update` first",
        )
    return proc.stdout


@functools.lru_cache(maxsize=16)
def real_kernel_package(meta: str, arch: str) -> str:
    """``linux-image-cloud-amd64`` is a metapackage; the image package is its versioned dependency."""
    out = _apt(["apt-cache", "depends", f"{meta}:{arch}"])
    for line in out.splitlines():
        found = re.match(r"\s*Depends:\s*(linux-image-\d\S*)", line)
        if found:
            return found.group(1).split(":")[0]
    raise HostError(f"cannot resolve the kernel package behind {meta}:{arch}", hint="run `apt-get update`")


def resolve(names: list[str], arch: str) -> list[DebianPackage]:
    """Exact versions and file names of what ``apt-get download`` would fetch (no download). Asked once per
    process: every boot of a test guest checks its cache key, and apt takes a second or two each time."""
    return list(_resolve(tuple(names), arch))


@functools.lru_cache(maxsize=16)
def _resolve(names: tuple[str, ...], arch: str) -> tuple[DebianPackage, ...]:
    specs = list(names) if arch == "all" else [f"{n}:{arch}" for n in names]
    out = _apt(["apt-get", "download", "--print-uris", "-q", *specs])
    packages = []
    for line in out.splitlines():
        found = re.match(r"'[^']+' (\S+\.deb) ", line)
        if not found:
            continue
        filename = found.group(1)
        name, version, _ = filename.split("_", 2)
        packages.append(DebianPackage(name, arch, version.replace("%3a", ":"), filename))
    missing = set(names) - {p.name for p in packages}
    if missing:
        raise HostError(f"apt cannot find {', '.join(sorted(missing))} for {arch}", hint="run `apt-get update`")
    return tuple(packages)


def download(packages: list[DebianPackage], dest: Path) -> list[Path]:
    """Fetch the .debs into ``dest`` (kept there, so a rebuild needs no network)."""
    dest.mkdir(parents=True, exist_ok=True)
    wanted = [p for p in packages if not (dest / p.filename).is_file()]
    if wanted:
        _apt(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", *[p.spec for p in wanted]], cwd=dest)
    return [dest / p.filename for p in packages]


def extract(debs: list[Path], dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for deb in debs:
        _apt(["dpkg-deb", "-x", str(deb), str(dest)])


def host_arch() -> str:
    return _apt(["dpkg", "--print-architecture"]).strip()
