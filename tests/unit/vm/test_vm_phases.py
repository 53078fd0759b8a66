"""Boot phases: marks from the harness and from the time-stamped console log become back-to-back steps; the
report reads them back from steps.jsonl and draws them; a restore's command line differs only by -incoming."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from harness.guests.freebsd.data import load as freebsd_data
from harness.guests.linuxtest.adapter import LinuxTestGuest
from harness.report import timeline as report_timeline
from harness.report.html import render
from harness.report.results import RunResult
from harness.steps import JsonlRecorder, StepEvent, listening
from harness.vm import profile as vm_profiles
from harness.vm.cmdline import RunPaths, build_command
from harness.vm.machine import BootSpec, Disk
from harness.vm.phases import Timeline, console_marks

LOG = """# guest.console opened 2026-12-03T07:22:17+0000
[    0.500] SeaBIOS (version 1.16.2)
[    3.250] guestinit: loading modules
[    4.000] [128] Dec 03 07:22:40 Running in background
[    4.900] guestinit: up 3.9s
[    5.100] guest:/# PS1='@HX''-PROMPT@ '
[    6.000] guestinit: up again (not a new phase)
"""


def test_console_marks_follow_the_markers_in_order(tmp_path: Path) -> None:
    log = tmp_path / "guest.console.log"
    log.write_text(LOG)
    markers = LinuxTestGuest().start_hints.boot_markers
    assert console_marks(log, 100.0, markers) == [("kernel", 103.25), ("init", 104.9)]
    # A marker the console never showed is skipped; a later one is searched after the last found.
    marks = console_marks(log, 0.0, [("firmware", "no such line"), ("init", "guestinit: up"), ("kernel", "loading")])
    assert marks == [("init", 4.9)]
    assert console_marks(tmp_path / "missing.log", 0.0, markers) == []


def test_freebsd_markers_match_a_real_boot_transcript() -> None:
    lines = ["Consoles: EFI console", "FreeBSD/arm64 EFI loader, Revision 1.1", "---<<BOOT>>---", "Copyright (c)"]
    lines += [
        "Trying to mount root from ufs:/dev/gpt/rootfs [rw]...",
        "Starting sshd.",
        "",
        "FreeBSD/amd64 (h) (ttyu0)",
    ]
    lines += ["", "login: "]
    text = "".join(f"[{i:9.3f}] {line}\n" for i, line in enumerate(lines, start=1))
    path = Path(__file__).parent / "_freebsd_console.log"
    try:
        path.write_text(text)
        marks = console_marks(path, 0.0, freebsd_data().start.boot_markers)
    finally:
        path.unlink()
    assert marks == [("firmware", 1.0), ("loader", 3.0), ("kernel", 5.0), ("userland", 10.0)]


def test_phases_are_back_to_back_steps_marked_with_their_kind(tmp_path: Path) -> None:
    timeline = Timeline(origin=10.0)
    timeline.mark("ssh ready", 16.0)
    timeline.mark("qemu start", 10.5)
    timeline.marks += [("kernel", 13.0), ("login", 15.0)]
    assert [(p.name, p.start, p.end) for p in timeline.phases()] == [
        ("qemu start", 10.0, 10.5),
        ("kernel", 10.5, 13.0),
        ("login", 13.0, 15.0),
        ("ssh ready", 15.0, 16.0),
    ]
    assert timeline.total == 6.0
    events: list[StepEvent] = []
    steps = tmp_path / "steps.jsonl"
    with listening(events.append), listening(JsonlRecorder(steps)):
        timeline.emit("boot")
    ends = [e for e in events if e.state == "end"]
    assert [(e.name, e.duration, e.fields) for e in ends][1] == ("kernel", 2.5, {"phase": "boot"})
    assert ends[1].time - ends[0].time == 2.5  # wall-clock times keep the spacing
    spans = report_timeline.read(steps)
    assert [(s["name"], s["start"], s["seconds"]) for s in spans] == [
        ("qemu start", 0.0, 0.5),
        ("kernel", 0.5, 2.5),
        ("login", 3.0, 2.0),
        ("ssh ready", 5.0, 1.0),
    ]


def test_the_report_draws_the_timeline_and_escapes_names(tmp_path: Path) -> None:
    steps = tmp_path / "steps.jsonl"
    hostile = {
        "name": "<script>x</script>",
        "state": "end",
        "time": 5.0,
        "duration": 1.0,
        "fields": {"phase": "restore"},
    }
    other = {"name": "workload", "state": "end", "time": 9.0, "duration": 3.0, "fields": {}}
    steps.write_text("\n".join([json.dumps(hostile), "not json", json.dumps(other), json.dumps([1])]) + "\n")
    spans = report_timeline.read(steps)
    assert spans == [{"name": "<script>x</script>", "kind": "restore", "start": 0.0, "seconds": 1.0}]
    result = RunResult("r1", "linuxtest", "amd64", None, None, [], timeline=spans)
    result.metadata["vm_start"] = {"how": "restore", "seconds": 1.0, "snapshot": "abc123"}
    html = render(result)
    assert "Where the VM start went" in html and "Restored from snapshot <code>abc123</code>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_restore_changes_only_where_the_state_comes_from() -> None:
    profile = vm_profiles.load("linuxtest-amd64")
    paths = RunPaths(Path("/s/serial.sock"), Path("/s/qmp.sock"), Path("/r/vars.fd"), (Path("/r/disk0.qcow2"),))
    boot = BootSpec(kernel=Path("/k"), initrd=Path("/i"), append="quiet", disks=(Disk(Path("/b.qcow2")),))
    cold = build_command(profile, boot, paths, "tcg", None, 22)
    restored = build_command(profile, boot, dataclasses.replace(paths, incoming_fd=7), "tcg", None, 22)
    assert restored == [*cold, "-incoming", "fd:7"]
    assert "-incoming" not in cold
