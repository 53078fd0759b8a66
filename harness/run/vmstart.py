"""How a run's VM starts: restored from the VM snapshot of the same image, kernel, VM profile and harness version,
or booted cold and then saved as that snapshot (``harness.vm.snapshot``).

The decision lives here, in the run pipeline, so everything that runs the pipeline (``harness run --repeat``,
nightly cells, bisect steps on one kernel) restores without asking; ``RunRequest.snapshot = False``
(``--no-snapshot``) always boots cold and saves nothing. Both guest kinds share this code: a session boots its own
way and hands the booted machine to ``save``, or gets a restored machine from ``restore``.

After a restore the guest's TCP state is gone (SSH connects afresh to the new host forward) and its wall clock
stood still while the state was saved (it is set from the host, and the remaining skew is recorded).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import InfraError, SSHError, VMError
from harness.steps import note, step
from harness.vm.guest import StartHints
from harness.vm.machine import BootSpec, Machine
from harness.vm.phases import Timeline
from harness.vm.snapshot import Snapshot, SnapshotKey, SnapshotStore, save
from harness.vm.ssh import SSHKey, SSHSession

#: Builds the session's Machine for a boot spec; ``incoming`` is the saved state to load (None: boot).
MachineFactory = Callable[[BootSpec, Path | None], Machine]


@dataclass
class Chance:
    """Whether this run may use snapshots, the key it would use, and the snapshot found for it."""

    store: SnapshotStore | None = None
    key: SnapshotKey | None = None
    snapshot: Snapshot | None = None


@dataclass
class Started:
    """A VM up with SSH, and how it got there (``boot`` or ``restore``, seconds from launch to SSH ready)."""

    machine: Machine
    ssh: SSHSession
    key: SSHKey
    how: str
    seconds: float
    facts: dict[str, Any] = field(default_factory=dict)
    snapshot: str | None = None

    def record(self) -> dict[str, Any]:
        """What metadata.json says about the start (``vm_start``)."""
        return {"how": self.how, "seconds": round(self.seconds, 2), "snapshot": self.snapshot}


def lookup(enabled: bool, make_key: Callable[[], SnapshotKey], store: SnapshotStore | None = None) -> Chance:
    if not enabled:
        note("snapshot", "--no-snapshot: booting cold, saving no snapshot")
        return Chance()
    store = store or SnapshotStore()
    key = make_key()
    return Chance(store, key, store.find(key))


def sync_clock(ssh: SSHSession, hints: StartHints) -> float:
    """Set the guest's wall clock from the host's; returns the skew left (guest minus host, seconds)."""
    ssh.run(hints.set_clock.format(epoch=round(time.time())), timeout=30, check=True)
    output = ssh.run(hints.read_clock, timeout=30, check=True).output.strip()
    try:
        return float(output) - time.time()
    except ValueError:
        raise SSHError(f"the guest's clock reads {output[:80]!r}, not seconds") from None


def restore(
    stack: contextlib.ExitStack,
    snapshot: Snapshot,
    boot: BootSpec,
    make_machine: MachineFactory,
    *,
    hints: StartHints,
    key_dir: Path,
    ssh_timeout: float,
) -> Started | None:
    """Start the snapshot's VM (its machine then belongs to ``stack``); None, with a note, when that fails (the
    snapshot is then removed and the caller boots cold)."""
    machine = make_machine(snapshot.restore_spec(boot), snapshot.state)
    try:
        key_dir.mkdir(parents=True, exist_ok=True)
        key_path = key_dir / "id_ed25519"
        shutil.copyfile(snapshot.ssh_key, key_path)
        key_path.chmod(0o600)
        key = SSHKey.load(key_path)
        with step("restore", snapshot=snapshot.key.id):
            stack.enter_context(machine)
            timeline = Timeline(machine.launch_started)
            timeline.mark("qemu start", machine.connected_at)
            timeline.mark("load state", machine.ready_at)
            console = machine.console
            console.prompt = _saved_prompt(snapshot)
            console.sendline("")  # the saved guest sat at its prompt: a fresh one proves it runs
            console.expect(console.prompt, timeout=60, what="the restored guest's shell prompt")
            timeline.mark("console")
            ssh = machine.ssh(key, timeout=ssh_timeout)
            timeline.mark("ssh ready")
            skew = sync_clock(ssh, hints)
            timeline.mark("clock sync")
            timeline.emit("restore")
        note("snapshot", f"restored {snapshot.key.id} in {timeline.total:.1f} s; guest clock skew {skew:+.1f} s")
    except (InfraError, OSError) as exc:
        machine.shutdown(None, powerdown_timeout=0, quit_timeout=5)
        why = exc.one_line() if isinstance(exc, InfraError) else str(exc)
        note("snapshot", f"restoring {snapshot.key.id} failed ({why}): removed, booting cold")
        shutil.rmtree(snapshot.path, ignore_errors=True)
        return None
    snapshot.touch()
    saved = snapshot.meta.get("facts")
    facts = dict(saved) if isinstance(saved, dict) else {}
    return Started(machine, ssh, key, "restore", timeline.total, facts, snapshot.key.id)


def _saved_prompt(snapshot: Snapshot) -> str:
    prompt = snapshot.meta.get("console_prompt")
    if not isinstance(prompt, str) or not prompt:
        raise VMError(f"snapshot {snapshot.key.id} records no console prompt")
    return prompt


def save_booted(
    chance: Chance,
    started: Started,
    *,
    prompt: str,
    ssh_timeout: float,
    files: Mapping[str, Path] | None = None,
) -> None:
    """After a cold boot: save the VM as the snapshot for ``chance.key`` and reconnect SSH (``started.ssh`` is
    replaced). A failed save is a note, not a failed run: the VM runs on."""
    if chance.store is None or chance.key is None:
        return
    started.ssh.close()  # no TCP connection may be inside a saved guest: restored copies could never close it
    try:
        with step("save snapshot", snapshot=chance.key.id):
            saved = save(
                chance.store,
                started.machine,
                chance.key,
                ssh_key=started.key.path,
                files=files,
                meta={
                    "console_prompt": prompt,
                    "facts": started.facts,
                    "boot_seconds": round(started.seconds, 2),
                },
            )
        started.snapshot = saved.key.id
    except (InfraError, OSError) as exc:  # OSError: e.g. the cache's disk is full
        why = exc.one_line() if isinstance(exc, InfraError) else str(exc)
        note("snapshot", f"saving the snapshot failed ({why}); the run goes on without one")
    started.ssh = started.machine.ssh(started.key, timeout=ssh_timeout)
