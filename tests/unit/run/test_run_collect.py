"""The collectors drive a real workload through a Remote: here the host itself, so the background jobs, the plateau
hand-shake, the sampler and the raw files are exercised for real without a VM (the VM path: tests/integration)."""

from __future__ import annotations

import dataclasses
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.run.collect import run_workload, upload
from harness.run.profiles import load_profiles
from harness.run.rundir import RunDir
from harness.validate import linux
from harness.workloads.catalogue import load_catalogue, render
from harness.workloads.hostbuild import build_static


@dataclass
class LocalResult:
    output: str
    status: int
    stderr: str


class LocalRemote:
    """Runs commands with the host's sh, as an SSH session would in the guest."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    def run(self, command: str, timeout: float = 60.0, *, check: bool = False) -> LocalResult:
        self.commands.append(command)
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=timeout, check=check)
        return LocalResult(done.stdout, done.returncode, done.stderr)

    def put(self, local: Path, remote: str) -> None:
        shutil.copyfile(local, remote)


@pytest.mark.skipif(shutil.which("x86_64-linux-gnu-gcc") is None, reason="needs the host gcc")
def test_thread_hold_through_the_collectors(tmp_path: Path) -> None:
    profile = load_profiles()["linuxtest"]
    guest_dir = tmp_path / "guest"
    run = RunDir.create(tmp_path / "runs", "r1", {"guest": "linuxtest", "arch": "amd64"}, ["harness", "run"])
    catalogue = load_catalogue()
    workload = catalogue.get("thread-hold")
    rendered = render(
        workload,
        guest_os="linuxtest",
        run_id="r1",
        workdir=str(guest_dir),
        overrides={"threads": 32, "hold_seconds": 60},
        compile_in_guest=False,
        console=str(tmp_path / "console"),
    )
    binary = build_static(catalogue, workload, "amd64", tmp_path / "bin")
    remote = LocalRemote()
    upload(remote, rendered, binary, tmp_path / "staging")
    outcome = run_workload(remote, run, profile, rendered)
    assert outcome.status == "done" and outcome.plateau and outcome.exit_status == 0
    assert "harness: plateau threads=32 failed=0" in outcome.stdout
    assert "released=file" in outcome.stdout  # the host's release, not the 60 s timeout
    assert outcome.seconds < 30
    assert run.raw_phases("thread-hold") == ["after", "before", "plateau"]
    for phase in ("before", "plateau", "after"):
        values = linux.parse_snapshot(run.read_raw("thread-hold", phase, "snapshot.txt") or "")
        assert values["linux.nr_kernel_stack_kib"] > 0 and values["linux.tasks"] > 0
    samples = linux.parse_samples(run.read_raw("thread-hold", "samples.txt") or "")
    assert len(samples) >= 1
    console = (tmp_path / "console").read_text().splitlines()
    assert console[0].startswith("HARNESS-WORKLOAD-START name=thread-hold")
    assert console[-1].endswith("rc=0")


@pytest.mark.skipif(shutil.which("x86_64-linux-gnu-gcc") is None, reason="needs the host gcc")
def test_before_and_after_snapshots_see_the_same_harness_tasks(tmp_path: Path) -> None:
    """The 1 s sampler is tasks of the harness in the guest (a shell loop and its sleep): if it ran during the
    `before` snapshot but not during `after`, LX-3 (after − before = 0) would be off by its tasks' stacks."""
    guest_dir = tmp_path / "guest"
    sampler_done = shlex.quote(str(guest_dir / "thread-hold.samples.rc"))
    profile = dataclasses.replace(
        load_profiles()["linuxtest"],
        snapshot={"sampler.txt": f"if [ -e {sampler_done} ]; then echo stopped; else echo running; fi"},
        plateau_dwell_seconds=0.0,
    )
    run = RunDir.create(tmp_path / "runs", "r1", {"guest": "linuxtest", "arch": "amd64"}, ["harness", "run"])
    catalogue = load_catalogue()
    workload = catalogue.get("thread-hold")
    rendered = render(
        workload,
        guest_os="linuxtest",
        run_id="r1",
        workdir=str(guest_dir),
        overrides={"threads": 4, "hold_seconds": 60},
        compile_in_guest=False,
        console=str(tmp_path / "console"),
    )
    upload(LocalRemote(), rendered, build_static(catalogue, workload, "amd64", tmp_path / "bin"), tmp_path / "staging")
    assert run_workload(LocalRemote(), run, profile, rendered).status == "done"
    seen = {phase: run.read_raw("thread-hold", phase, "sampler.txt") for phase in ("before", "plateau", "after")}
    assert seen == {"before": "running\n", "plateau": "running\n", "after": "running\n"}
