"""VM snapshots: the saved state of a booted, logged-in, SSH-ready guest, kept in the XDG cache and restored
instead of booting again (``harness run --repeat``, nightly cells and bisect steps on the same kernel).

A snapshot is a directory ``<cache>/snapshots/<id>/``::

    key.json      what it was made from: guest, arch, image and kernel digests, VM profile digest, harness version
    state.bin     the QEMU migration stream (RAM and devices), saved with ``Machine.save_state``
    disk<i>.qcow2 the guest's disks at that moment (qcow2 overlays on the base image); every restore boots a fresh
                  overlay of these, so two restored VMs never share a writable disk
    files/        per-boot inputs the restored QEMU needs again (the test guest's keyed initramfs)
    ssh/          the key the saved guest authorises
    meta.json     written last (its presence makes the snapshot complete): size, times, console prompt, guest facts

``<id>`` is a digest of the key, so a changed kernel, image or profile simply has no snapshot; ``key.json`` is
compared field by field before use, and a directory whose key does not match (foreign, stale, half-written) is
removed and rebuilt, with a note. The key's profile digest covers the resolved VM profile, the accelerator and the
QEMU version: QEMU restores a state only into the same machine and devices.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import __version__
from harness.errors import VMError
from harness.settings import cache_dir
from harness.steps import note
from harness.util import tomlfile
from harness.util.files import atomic_write_json
from harness.vm.machine import BootSpec, Disk, Machine
from harness.vm.profile import VMProfile

KEY_FILE = "key.json"
META_FILE = "meta.json"
STATE_FILE = "state.bin"
#: Bound on what is read back from a snapshot's JSON files (they are small; anything bigger is not ours).
_JSON_LIMIT = 1 << 20


@dataclass(frozen=True)
class Settings:
    """``snapshot.toml``: how many snapshots the cache keeps and how long saving or loading one may take."""

    keep: int
    save_timeout: float
    restore_timeout: float


def settings() -> Settings:
    table = tomlfile.load_resource("harness.vm", "snapshot.toml")
    with table.guard():
        return Settings(table.integer("keep"), table.number("save_timeout"), table.number("restore_timeout"))


#: The packages whose code and data set up a guest before its state is saved.
GUEST_SIDE_PACKAGES = ("vm", "guests", "run", "workloads")
_CODE_SUFFIXES = {".py", ".toml", ".j2", ".sh", ".c", ".h", ".config"}


def code_digest(root: Path, packages: tuple[str, ...] = GUEST_SIDE_PACKAGES) -> str:
    """A digest of the code and data files under ``root/<package>`` (names and contents, in a fixed order)."""
    digest = hashlib.sha256()
    for package in packages:
        for path in sorted((root / package).rglob("*")):
            if path.is_file() and path.suffix in _CODE_SUFFIXES:
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


@functools.cache
def current_harness_version() -> str:
    """The package version plus a digest of the guest-side code (``GUEST_SIDE_PACKAGES``).

    ``__version__`` does not move with every commit; a snapshot saved by older guest set-up code (login, sshd,
    fingerprint) must not be restored by newer code, so the code itself is part of the key.
    """
    return f"{__version__}+{code_digest(Path(__file__).resolve().parent.parent)}"


@dataclass(frozen=True)
class SnapshotKey:
    """What a saved state is valid for; any difference means it must not be restored."""

    guest: str
    arch: str
    image_digest: str
    kernel_digest: str
    profile_digest: str
    harness_version: str = dataclasses.field(default_factory=current_harness_version)

    @property
    def id(self) -> str:
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:20]

    def differences(self, other: SnapshotKey) -> list[str]:
        """The fields that differ, worded for a note (``kernel digest``, ``VM profile``...)."""
        return [
            f.name.replace("_", " ")
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        ]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SnapshotKey:
        names = [f.name for f in dataclasses.fields(cls)]
        if not isinstance(data, Mapping) or set(data) != set(names) or not all(isinstance(data[n], str) for n in names):
            raise ValueError("not a snapshot key")
        return cls(**{n: str(data[n]) for n in names})


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.cache
def qemu_version(qemu: str) -> str:
    """``qemu-system-x86_64 --version``'s first line (a state loads reliably only into the QEMU that saved it)."""
    try:
        done = subprocess.run([qemu, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise VMError(f"cannot run {qemu} --version: {exc}") from exc
    return (done.stdout.splitlines() or ["unknown"])[0].strip()


def profile_digest(profile: VMProfile, accel: str, *extra: str) -> str:
    """The resolved profile (not its file name), the accelerator, the QEMU version and any guest extras."""
    fields = dataclasses.asdict(dataclasses.replace(profile, source=None))
    blob = json.dumps([fields, accel, qemu_version(profile.qemu), *extra], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class Snapshot:
    path: Path
    key: SnapshotKey
    meta: dict[str, Any]

    @property
    def state(self) -> Path:
        return self.path / STATE_FILE

    def disk(self, index: int) -> Path:
        return self.path / f"disk{index}.qcow2"

    def file(self, name: str) -> Path:
        return self.path / "files" / name

    @property
    def ssh_key(self) -> Path:
        return self.path / "ssh" / "id_ed25519"

    @property
    def size(self) -> int:
        return int(self.meta.get("size_bytes", 0))

    def restore_spec(self, boot: BootSpec) -> BootSpec:
        """``boot`` with its disks replaced by fresh per-run overlays of the snapshot's disks."""
        disks = tuple(Disk(self.disk(i), "qcow2", overlay=True) for i in range(len(boot.disks)))
        return dataclasses.replace(boot, disks=disks)

    def touch(self) -> None:
        """Mark it used (pruning keeps the most recently used)."""
        os.utime(self.path / META_FILE)


def _read_json(path: Path) -> Any:
    with path.open("rb") as handle:
        data = handle.read(_JSON_LIMIT + 1)
    if len(data) > _JSON_LIMIT:
        raise ValueError(f"{path.name} is larger than {_JSON_LIMIT} bytes")
    return json.loads(data)


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def default_root() -> Path:
    """``<cache>/snapshots`` (``HARNESS_CACHE_DIR``/``XDG_CACHE_HOME``)."""
    return cache_dir("snapshots")


class SnapshotStore:
    """The snapshots in one directory (default ``default_root()``)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or default_root()
        self.root.mkdir(parents=True, exist_ok=True)

    def _load(self, path: Path) -> Snapshot | None:
        """A complete snapshot whose directory name matches its key, or None."""
        try:
            key = SnapshotKey.from_json(_read_json(path / KEY_FILE))
            meta = _read_json(path / META_FILE)
        except (OSError, ValueError, TypeError):
            return None
        if key.id != path.name or not isinstance(meta, dict) or not (path / STATE_FILE).is_file():
            return None
        return Snapshot(path, key, meta)

    def all(self) -> list[Snapshot]:
        found = [s for p in sorted(self.root.iterdir()) if p.is_dir() and (s := self._load(p))]
        return sorted(found, key=lambda s: (s.path / META_FILE).stat().st_mtime, reverse=True)

    def broken(self) -> list[Path]:
        """Directories that are not a usable snapshot (half-written, foreign, corrupt)."""
        return [p for p in sorted(self.root.iterdir()) if p.is_dir() and self._load(p) is None]

    def find(self, key: SnapshotKey) -> Snapshot | None:
        """The snapshot for exactly ``key``; a note says why none is used when one was expected."""
        path = self.root / key.id
        if path.exists():
            snapshot = self._load(path)
            if snapshot is not None and snapshot.key == key and _backing_files_present(snapshot):
                return snapshot
            note("snapshot", f"snapshot {key.id} is incomplete or does not match its key: removed, booting cold")
            shutil.rmtree(path, ignore_errors=True)
            return None
        for other in self.all():
            if other.key.guest == key.guest and other.key.arch == key.arch:
                changed = ", ".join(key.differences(other.key))
                note("snapshot", f"no snapshot for this {changed} (the cached one is for another): booting cold")
                break
        return None

    @contextlib.contextmanager
    def staging(self, key: SnapshotKey) -> Iterator[Path]:
        """A scratch directory that becomes the snapshot for ``key`` when the block ends without error."""
        tmp = self.root / f".{key.id}.{secrets.token_hex(4)}.tmp"
        tmp.mkdir()
        try:
            yield tmp
            _write_json(tmp / KEY_FILE, dataclasses.asdict(key))
            try:
                tmp.rename(self.root / key.id)
            except OSError:  # another harness saved the same key first: theirs is as good
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def prune(self, *, keep: int | None = None, stale: bool = False, everything: bool = False) -> list[Path]:
        """Remove snapshots: all of them; or those of another harness version and broken ones (``stale``); or
        all but the ``keep`` most recently used. Returns what was removed."""
        removed: list[Path] = []
        snapshots = self.all()
        if everything:
            removed += [s.path for s in snapshots]
        else:
            if stale:
                removed += [s.path for s in snapshots if s.key.harness_version != current_harness_version()]
                removed += [s.path for s in snapshots if not _backing_files_present(s)]
            if keep is not None:
                removed += [s.path for s in snapshots[keep:]]
        removed += self.broken() if (stale or everything) else []
        unique = list(dict.fromkeys(removed))
        for path in unique:
            shutil.rmtree(path, ignore_errors=True)
        return unique


def _backing_files_present(snapshot: Snapshot) -> bool:
    """A snapshot's disks are overlays on a base image in the image cache; pruning that image breaks them."""
    return all(Path(p).is_file() for p in snapshot.meta.get("backing_files", []))


def _write_json(path: Path, data: Any) -> None:
    atomic_write_json(path, data)


def _backing_file(disk: Path) -> str | None:
    done = subprocess.run(
        ["qemu-img", "info", "-U", "--output=json", str(disk)], capture_output=True, text=True, check=False, timeout=60
    )
    if done.returncode != 0:
        raise VMError(f"qemu-img info {disk} failed: {done.stderr.strip()}")
    backing = json.loads(done.stdout).get("full-backing-filename") or json.loads(done.stdout).get("backing-filename")
    return str(backing) if backing else None


def save(
    store: SnapshotStore,
    machine: Machine,
    key: SnapshotKey,
    *,
    ssh_key: Path,
    files: Mapping[str, Path] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Snapshot:
    """Save the running ``machine`` as the snapshot for ``key`` and resume it.

    The caller closes its SSH sessions first (a TCP connection cannot survive into a restored copy) and leaves the
    console at the shell prompt. The guest is stopped while its state and disks are copied, then runs on.
    """
    limits = settings()
    started = time.monotonic()
    with store.staging(key) as tmp:
        try:
            state_bytes = machine.save_state(tmp / STATE_FILE, timeout=limits.save_timeout)
            backing = []
            for index, disk in enumerate(machine.writable_disks()):
                shutil.copyfile(disk, tmp / f"disk{index}.qcow2")
                if found := _backing_file(tmp / f"disk{index}.qcow2"):
                    backing.append(found)
        finally:
            if machine.running:
                machine.resume()
        (tmp / "files").mkdir()
        for name, source in (files or {}).items():
            shutil.copyfile(source, tmp / "files" / name)
        (tmp / "ssh").mkdir(mode=0o700)
        shutil.copyfile(ssh_key, tmp / "ssh" / "id_ed25519")
        os.chmod(tmp / "ssh" / "id_ed25519", 0o600)
        record = {
            **(meta or {}),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "state_bytes": state_bytes,
            "backing_files": backing,
            "save_seconds": round(time.monotonic() - started, 3),
        }
        record["size_bytes"] = _dir_size(tmp)
        _write_json(tmp / META_FILE, record)
    snapshot = store._load(store.root / key.id)
    if snapshot is None:
        raise VMError(f"the snapshot {key.id} could not be stored in {store.root}")
    note("snapshot", f"saved {key.id} ({snapshot.size / 2**20:.0f} MiB) in {record['save_seconds']:.1f} s")
    for path in store.prune(keep=limits.keep):
        note("snapshot", f"removed the least recently used snapshot {path.name} (keeping {limits.keep})")
    return snapshot
