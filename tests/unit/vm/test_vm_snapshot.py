"""VM snapshots without QEMU: the key, the store's choices (exact match only; foreign, half-written and broken
snapshots removed with a note), pruning, and the keys a changed kernel or VM profile gets."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest

from harness.run import vmstart
from harness.run.session import linuxtest_key
from harness.steps import StepEvent, listening
from harness.vm import profile as vm_profiles
from harness.vm.snapshot import KEY_FILE, META_FILE, SnapshotKey, SnapshotStore
from tests.support.snapshots import key, write_snapshot


@pytest.fixture
def store(tmp_path: Path) -> SnapshotStore:
    return SnapshotStore(tmp_path / "snapshots")


@pytest.fixture
def notes() -> list[str]:
    seen: list[str] = []

    def listener(event: StepEvent) -> None:
        if event.state == "note":
            seen.append(str(event.message))

    with listening(listener):
        yield seen


def test_every_key_field_changes_the_id_and_is_named() -> None:
    base = key()
    assert base.id == key().id
    for name in ("guest", "arch", "image_digest", "kernel_digest", "profile_digest", "harness_version"):
        other = dataclasses.replace(base, **{name: "changed"})
        assert other.id != base.id
        assert base.differences(other) == [name.replace("_", " ")]


def test_key_from_json_refuses_what_is_not_a_key() -> None:
    good = dataclasses.asdict(key())
    assert SnapshotKey.from_json(good) == key()
    for bad in ({**good, "extra": "x"}, {k: v for k, v in good.items() if k != "arch"}, {**good, "arch": 1}, []):
        with pytest.raises(ValueError):
            SnapshotKey.from_json(bad)  # type: ignore[arg-type]


def test_find_returns_only_the_exact_key(store: SnapshotStore, notes: list[str]) -> None:
    write_snapshot(store, key())
    found = store.find(key())
    assert found is not None and found.key == key() and found.meta["console_prompt"] == "# "
    assert store.find(key(kernel_digest="another kernel")) is None
    assert any("kernel digest" in n and "booting cold" in n for n in notes)
    assert store.find(key(profile_digest="another profile")) is None
    assert any("profile digest" in n for n in notes)


def test_a_foreign_snapshot_under_the_right_name_is_removed(store: SnapshotStore, notes: list[str]) -> None:
    path = write_snapshot(store, key())
    (path / KEY_FILE).write_text(json.dumps(dataclasses.asdict(key(kernel_digest="someone else's"))))
    assert store.find(key()) is None
    assert not path.exists()
    assert any("does not match its key" in n for n in notes)


def test_a_half_written_snapshot_is_never_used(store: SnapshotStore) -> None:
    path = write_snapshot(store, key())
    (path / META_FILE).unlink()  # meta.json is written last: without it the save did not finish
    assert store.all() == []
    assert store.find(key()) is None
    assert not path.exists()


def test_a_snapshot_whose_base_image_is_gone_is_stale(store: SnapshotStore, tmp_path: Path) -> None:
    base = tmp_path / "base.qcow2"
    base.write_bytes(b"x")
    write_snapshot(store, key(), backing_files=[str(base)])
    assert store.find(key()) is not None
    base.unlink()
    assert store.find(key()) is None


def test_prune_keeps_the_most_recently_used(store: SnapshotStore) -> None:
    paths = [write_snapshot(store, key(kernel_digest=str(i))) for i in range(3)]
    for age, path in enumerate(paths):  # paths[0] is the newest
        os.utime(path / META_FILE, (1_000_000 - age * 100, 1_000_000 - age * 100))
    assert store.prune(keep=1) == paths[1:]
    assert [s.path for s in store.all()] == paths[:1]


def test_prune_stale_removes_other_versions_and_broken_dirs(store: SnapshotStore) -> None:
    current = write_snapshot(store, key())
    old = write_snapshot(store, key(harness_version="0.0.1"))
    broken = store.root / "not-a-snapshot"
    broken.mkdir()
    assert sorted(store.prune(stale=True)) == sorted([old, broken])
    assert current.exists()
    assert store.prune(everything=True) == [current]
    assert list(store.root.iterdir()) == []


def test_staging_becomes_the_snapshot_only_on_success(store: SnapshotStore) -> None:
    with pytest.raises(RuntimeError), store.staging(key()) as tmp:
        (tmp / "state.bin").write_bytes(b"x")
        raise RuntimeError("save failed")
    assert list(store.root.iterdir()) == []


def test_no_snapshot_means_no_store(notes: list[str]) -> None:
    def must_not_be_called() -> SnapshotKey:
        raise AssertionError("--no-snapshot must not even compute a key")

    chance = vmstart.lookup(False, must_not_be_called)
    assert chance.store is None and chance.snapshot is None
    assert any("--no-snapshot" in n for n in notes)


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="the key reads QEMU's version")
def test_a_changed_kernel_or_profile_never_restores_an_old_snapshot(store: SnapshotStore, tmp_path: Path) -> None:
    kernel, initramfs = tmp_path / "kernel", tmp_path / "initramfs"
    kernel.write_bytes(b"kernel one")
    initramfs.write_bytes(b"initramfs")
    profile = vm_profiles.load("linuxtest-amd64")
    old = linuxtest_key("amd64", kernel, initramfs, "quiet", profile, "tcg")
    write_snapshot(store, old)
    assert store.find(linuxtest_key("amd64", kernel, initramfs, "quiet", profile, "tcg")) is not None

    kernel.write_bytes(b"kernel two")
    assert store.find(linuxtest_key("amd64", kernel, initramfs, "quiet", profile, "tcg")) is None
    kernel.write_bytes(b"kernel one")
    for changed in (
        dataclasses.replace(profile, memory_mb=profile.memory_mb * 2),
        dataclasses.replace(profile, cpus=2),
        dataclasses.replace(profile, devices=dataclasses.replace(profile.devices, panic="")),
    ):
        assert store.find(linuxtest_key("amd64", kernel, initramfs, "quiet", changed, "tcg")) is None
    assert store.find(linuxtest_key("amd64", kernel, initramfs, "quiet", profile, "kvm")) is None
    assert store.find(linuxtest_key("amd64", kernel, initramfs, "quiet kdb", profile, "tcg")) is None
    # The file a profile came from is not part of it: the same settings elsewhere restore the same snapshot.
    moved = dataclasses.replace(profile, source=tmp_path / "elsewhere.toml")
    assert store.find(linuxtest_key("amd64", kernel, initramfs, "quiet", moved, "tcg")) is not None


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="the key reads QEMU's version")
def test_freebsd_keys_follow_the_image_the_kernel_and_the_profile(tmp_path: Path) -> None:
    from harness.guests.freebsd.kernel import KernelBuild
    from harness.images import BaseImage, load_manifests, select
    from harness.run.freebsd_session import Prepared, freebsd_key

    manifest = select("14", "amd64", load_manifests())
    image = tmp_path / "image.raw"
    image.write_bytes(b"disk")
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "kernel").write_bytes(b"patched kernel")
    build = KernelBuild(tmp_path / "k", "harness", None, None)
    profile = vm_profiles.load("freebsd-amd64")
    stock = Prepared(manifest, BaseImage(manifest, image, "raw"), None)
    patched = Prepared(manifest, BaseImage(manifest, image, "raw"), build)
    first = freebsd_key(patched, profile, "tcg", ())
    assert first == freebsd_key(patched, profile, "tcg", ())
    assert first.kernel_digest != freebsd_key(stock, profile, "tcg", ()).kernel_digest
    (tmp_path / "k" / "kernel").write_bytes(b"rebuilt kernel")
    assert freebsd_key(patched, profile, "tcg", ()).differences(first) == ["kernel digest"]
    (tmp_path / "k" / "kernel").write_bytes(b"patched kernel")
    assert freebsd_key(patched, profile, "tcg", ("-machine", "graphics=off")).differences(first) == ["profile digest"]
    os.utime(image, (1, 1))  # another image file at the same path (re-downloaded, replaced)
    assert freebsd_key(patched, profile, "tcg", ()).differences(first) == ["image digest"]


def test_the_key_names_the_guest_side_code_so_a_code_change_never_restores_an_old_state(tmp_path: Path) -> None:
    from harness import __version__
    from harness.vm.snapshot import SnapshotKey, code_digest, current_harness_version

    assert SnapshotKey("linuxtest", "amd64", "i", "k", "p").harness_version == current_harness_version()
    assert current_harness_version().startswith(__version__ + "+")
    (tmp_path / "vm").mkdir()
    module = tmp_path / "vm" / "boot.py"
    module.write_text("LOGIN = 'root'\n")
    before = code_digest(tmp_path)
    module.write_text("LOGIN = 'admin'\n")
    assert code_digest(tmp_path) != before
    (tmp_path / "vm" / "notes.txt").write_text("not code")
    module.write_text("LOGIN = 'root'\n")
    assert code_digest(tmp_path) == before
