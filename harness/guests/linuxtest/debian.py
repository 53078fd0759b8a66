"""Debian packages without installing them: resolve, download (`apt-get download`), unpack (`dpkg-deb`)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HostError, InfraError
from harness.settings import cache_dir
from harness.util.files import atomic_write_json

#: What apt's answers depend on: the package lists, the sources and dpkg's architectures. Their names, sizes and
#: modification times key the on-disk memo of those answers (``apt-get update`` or a new source changes them).
APT_STATE = (Path("/var/lib/apt/lists"), Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
DPKG_ARCHES = Path("/var/lib/dpkg/arch")


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


def _apt_state() -> str | None:
    """A digest of what apt's answers depend on, or None where there is no apt state to key by."""
    digest = hashlib.sha256()
    found = False
    for top in (*APT_STATE, DPKG_ARCHES):
        for path in [top, *(sorted(top.iterdir()) if top.is_dir() else [])]:
            try:
                st = path.stat()
            except OSError:
                continue
            found = True
            digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest() if found else None


def _apt_answer(args: list[str]) -> str:
    """``_apt(args)`` for a query whose answer only apt's state changes, remembered on disk under that state.

    Every ``harness run`` checks the test guest's cache key, which needs apt's resolution of its packages; apt
    takes seconds for it (more on a busy host), the same answer each time until the next ``apt-get update``.
    """
    state = _apt_state()
    if state is None:
        return _apt(args)
    key = hashlib.sha256(json.dumps([state, args]).encode()).hexdigest()[:32]
    memo = cache_dir("testguests", "apt-answers") / f"{key}.json"
    try:
        stored = json.loads(memo.read_text(encoding="utf-8"))
        if isinstance(stored, dict) and stored.get("args") == args and isinstance(stored.get("out"), str):
            return str(stored["out"])
    except (OSError, ValueError):
        pass
    out = _apt(args)
    with contextlib.suppress(InfraError):  # a memo that cannot be written only costs the next run the same seconds
        atomic_write_json(memo, {"args": args, "out": out})
    return out


@functools.lru_cache(maxsize=16)
def real_kernel_package(meta: str, arch: str) -> str:
    """``linux-image-cloud-amd64`` is a metapackage; the image package is its versioned dependency."""
    out = _apt_answer(["apt-cache", "depends", f"{meta}:{arch}"])
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
    out = _apt_answer(["apt-get", "download", "--print-uris", "-q", *specs])
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
