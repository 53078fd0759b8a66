"""VM snapshots on the real Linux test guest (amd64, TCG): ``run --repeat 3`` boots once and restores twice with
the cold run's verdicts; ``--no-snapshot`` boots cold though a snapshot exists; restored VMs share no disk and no
state, and their clock is the host's.

One snapshot store for the module (a temp dir, not the user's cache); one QEMU at a time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.guests.linuxtest import builder
from harness.guests.linuxtest.adapter import LinuxTestGuest
from harness.run import vmstart
from harness.run.pipeline import execute
from harness.run.repeat import SUMMARY, RepeatOutcome, execute_repeats
from harness.run.request import RunRequest
from harness.run.rundir import STEPS
from harness.steps import listening
from harness.vm import profile as vm_profiles
from harness.vm import snapshot as snapshots
from harness.vm.machine import BootSpec, Disk, Machine
from harness.vm.ssh import SSHKey
from tests.support.snapshots import key

pytestmark = pytest.mark.integration

ARCH = "amd64"
MARK_BASE = "harness-disk-base"
MARK_A = "written-by-repeat-a"


def _need() -> None:
    for tool in ("qemu-system-x86_64", "qemu-img", "x86_64-linux-gnu-gcc", "apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[snapshots.SnapshotStore]:
    root = tmp_path_factory.mktemp("snapshots")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(snapshots, "default_root", lambda: root)
        yield snapshots.SnapshotStore(root)


@pytest.fixture(scope="module")
def repeated(store: snapshots.SnapshotStore, tmp_path_factory: pytest.TempPathFactory) -> RepeatOutcome:
    _need()
    request = RunRequest(
        guest="linuxtest",
        arch=ARCH,
        workloads=["thread-hold"],
        params={"thread-hold": {"threads": 200}},
        runs_root=tmp_path_factory.mktemp("runs"),
    )
    return execute_repeats(request, 3)


def _steps(run_dir: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (run_dir / STEPS).read_text().splitlines()]


def _ended(run_dir: Path, name: str) -> bool:
    return any(e["name"] == name and e["state"] == "end" for e in _steps(run_dir))


def test_repeat_boots_once_then_restores_with_the_cold_runs_verdicts(repeated: RepeatOutcome) -> None:
    first, *restored = repeated.runs
    assert _ended(first.run.path, "boot") and not _ended(first.run.path, "restore")
    for outcome in restored:
        assert _ended(outcome.run.path, "restore") and not _ended(outcome.run.path, "boot")
    starts = [o.result.metadata["vm_start"] for o in repeated.runs]
    assert [s["how"] for s in starts] == ["boot", "restore", "restore"]
    assert starts[0]["snapshot"] and {s["snapshot"] for s in starts} == {starts[0]["snapshot"]}

    cold = {(v.workload, v.check): v.status for v in first.result.verdicts}
    assert cold and all(o.result.exit_code == 0 for o in repeated.runs)
    for outcome in restored:
        assert {(v.workload, v.check): v.status for v in outcome.result.verdicts} == cold

    summary = json.loads((repeated.cell / SUMMARY).read_text())
    assert summary["verdict"] == "pass" and summary["exit_code"] == 0
    assert [r["vm_start"]["how"] for r in summary["repeats"]] == ["boot", "restore", "restore"]
    assert len({r["run_dir"] for r in summary["repeats"]}) == 3


def test_phases_are_recorded_and_shown(repeated: RepeatOutcome) -> None:
    boot_phases = [p["name"] for p in repeated.runs[0].result.timeline]
    assert boot_phases[0] == "qemu start" and boot_phases[-1] == "ssh ready" and "kernel" in boot_phases
    restore = repeated.runs[1].result.timeline
    assert [p["name"] for p in restore] == ["qemu start", "load state", "console", "ssh ready", "clock sync"]
    assert {p["kind"] for p in restore} == {"restore"}
    html = repeated.runs[1].reports["html"].read_text()
    assert "Restored from snapshot" in html and "<svg" in html


def test_restored_guests_sample_with_the_hosts_clock(repeated: RepeatOutcome) -> None:
    """The sampler stamps its ticks with the guest's clock: after a restore it must be the host's time."""
    for outcome in repeated.runs[1:]:
        samples = outcome.run.read_raw("thread-hold", "samples.txt") or ""
        ticks = [int(t) for t in re.findall(r"^== tick (\d+)", samples, re.M)]
        created = str(outcome.run.metadata().created)
        started = dt.datetime.fromisoformat(created).timestamp()
        finished = outcome.run.path.joinpath("results.json").stat().st_mtime
        assert ticks and started - 5 <= ticks[0] and ticks[-1] <= finished + 5, (created, ticks)


def test_no_snapshot_boots_cold_although_a_snapshot_exists(
    repeated: RepeatOutcome, store: snapshots.SnapshotStore, tmp_path: Path
) -> None:
    before = [s.path for s in store.all()]
    assert before, "the repeat saved a snapshot"
    request = RunRequest(guest="linuxtest", arch=ARCH, workloads=[], runs_root=tmp_path, snapshot=False)
    outcome = execute(request)
    assert _ended(outcome.run.path, "boot") and not _ended(outcome.run.path, "restore")
    start = outcome.result.metadata["vm_start"]
    assert start["how"] == "boot" and start["snapshot"] is None and start["seconds"] > 0
    assert [s.path for s in store.all()] == before  # nothing restored, nothing saved


# --- disks and state: the VM layer with a scratch disk ----------------------------------------------------------


def _machine(run_dir: Path, boot: BootSpec, incoming: Path | None, adapter: LinuxTestGuest) -> Machine:
    return Machine(
        vm_profiles.load(f"linuxtest-{ARCH}"),
        boot,
        run_dir,
        death=adapter.death_strings,
        poweroff_command=adapter.poweroff_command,
        name="guest",
        accel="tcg",
        incoming=incoming,
    )


def _read_disk(ssh: object) -> str:
    command = "sync; echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=512 count=1 2>/dev/null | tr -d '\\000'"
    return str(ssh.run(command, check=True).output)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def disk_snapshot(store: snapshots.SnapshotStore, tmp_path_factory: pytest.TempPathFactory) -> snapshots.Snapshot:
    """A cold-booted test guest with a scratch disk holding MARK_BASE, saved as a snapshot."""
    _need()
    work = tmp_path_factory.mktemp("disk-snapshot")
    scratch = work / "scratch.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(scratch), "8M"], check=True)
    guest, adapter = builder.ensure(ARCH), LinuxTestGuest()
    ssh_key = SSHKey.generate(work / "keys")
    initrd = guest.initramfs_with_key(ssh_key.public_line, work / "initrd")
    boot = BootSpec(guest.kernel, initrd, guest.append, disks=(Disk(scratch, "qcow2", overlay=True),))
    with _machine(work / "cold", boot, None, adapter) as machine:
        adapter.login(machine.console, 300)
        with machine.ssh(ssh_key, timeout=300) as ssh:
            ssh.run(f"printf {MARK_BASE} | dd of=/dev/vda bs=512 count=1 conv=sync 2>/dev/null; sync", check=True)
            assert _read_disk(ssh) == MARK_BASE
        saved = snapshots.save(
            store,
            machine,
            key(guest="linuxtest-scratch-disk"),
            ssh_key=ssh_key.path,
            files={"initrd": initrd},
            meta={"console_prompt": adapter.prompt},
        )
        machine.shutdown(adapter.poweroff_command)
    # A restore right after the save would hide a missing clock sync: let the saved clock fall behind first.
    time.sleep(max(0.0, 8 - (time.time() - dt.datetime.fromisoformat(saved.meta["created"]).timestamp())))
    return saved


@contextlib.contextmanager
def _restored(snapshot: snapshots.Snapshot, run_dir: Path) -> Iterator[vmstart.Started]:
    guest, adapter = builder.ensure(ARCH), LinuxTestGuest()
    boot = BootSpec(guest.kernel, snapshot.file("initrd"), guest.append, disks=(Disk(Path("unused")),))
    with contextlib.ExitStack() as stack:
        started = vmstart.restore(
            stack,
            snapshot,
            boot,
            lambda spec, incoming: _machine(run_dir, spec, incoming, adapter),
            hints=adapter.start_hints,
            key_dir=run_dir / "keys",
            ssh_timeout=120,
        )
        assert started is not None, "the restore failed (see the notes)"
        try:
            yield started
        finally:
            started.ssh.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_restored_vms_share_no_disk_and_no_state(disk_snapshot: snapshots.Snapshot, tmp_path: Path) -> None:
    saved_disk = _digest(disk_snapshot.disk(0))
    with _restored(disk_snapshot, tmp_path / "a") as a:
        skew = float(a.ssh.run("date -u +%s", check=True).output) - time.time()
        assert abs(skew) < 3, f"guest clock {skew:+.1f} s off the host's after the restore"
        assert _read_disk(a.ssh) == MARK_BASE
        a.ssh.run(f"printf {MARK_A} | dd of=/dev/vda bs=512 count=1 conv=sync 2>/dev/null; sync", check=True)
        a.ssh.run("echo a > /tmp/repeat-a", check=True)
        assert _read_disk(a.ssh) == MARK_A
        disk_a = a.machine.writable_disks()[0]
    with _restored(disk_snapshot, tmp_path / "b") as b:
        assert _read_disk(b.ssh) == MARK_BASE, "B sees what A wrote to its disk"
        assert b.ssh.run("test -e /tmp/repeat-a").status != 0, "B sees a file A wrote"
        disk_b = b.machine.writable_disks()[0]
    assert disk_a != disk_b and disk_snapshot.path not in disk_a.parents
    assert MARK_A.encode() in disk_a.read_bytes() and MARK_A.encode() not in disk_b.read_bytes()
    assert _digest(disk_snapshot.disk(0)) == saved_disk, "a restore wrote to the snapshot's disk"


def test_a_state_qemu_cannot_load_is_removed_and_the_caller_boots_cold(
    disk_snapshot: snapshots.Snapshot, tmp_path: Path
) -> None:
    broken_dir = tmp_path / "broken-snapshot"
    shutil.copytree(disk_snapshot.path, broken_dir)
    (broken_dir / snapshots.STATE_FILE).write_bytes(b"QEVM\x00\x00\x00\x03" + b"\xff" * 4096)
    broken = snapshots.Snapshot(broken_dir, disk_snapshot.key, dict(disk_snapshot.meta))
    guest, adapter = builder.ensure(ARCH), LinuxTestGuest()
    boot = BootSpec(guest.kernel, broken.file("initrd"), guest.append, disks=(Disk(Path("unused")),))
    notes: list[str] = []
    with (
        listening(lambda e: notes.append(str(e.message)) if e.state == "note" else None),
        contextlib.ExitStack() as stack,
    ):
        started = vmstart.restore(
            stack,
            broken,
            boot,
            lambda spec, incoming: _machine(tmp_path / "run", spec, incoming, adapter),
            hints=adapter.start_hints,
            key_dir=tmp_path / "keys",
            ssh_timeout=60,
        )
    assert started is None
    assert not broken_dir.exists()
    assert any("failed" in n and "booting cold" in n and "QEMU exited" in n for n in notes), notes
    # QEMU itself refused the state (not, say, a missing file of the snapshot).
    assert "load of migration failed" in (tmp_path / "run" / "guest.qemu.stderr").read_text()
