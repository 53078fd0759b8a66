"""Observations from the Linux test guest's raw outputs: /proc/vmstat, /proc/meminfo, the task count, samples.

The snapshot is one command run over SSH (so all three are read within milliseconds of each other); its sections
start with ``== <name>`` lines. The sampler prints ``== tick <epoch seconds>`` and then ``nr_kernel_stack N``.
These are Linux files, not FreeBSD text, so they are read here rather than in ``harness.parse``. The commands
that produce them are in ``harness/run/profiles.toml``.
"""

from __future__ import annotations

from harness.errors import ParseError
from harness.model.linux_task import KSTACK, MEMINFO, TASKS
from harness.parse.text import to_int
from harness.validate.observed import Observations


def split_sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("== "):
            current = sections.setdefault(line[3:].strip(), [])
        elif current is not None and line.strip():
            current.append(line)
    return sections


def _key_values(lines: list[str], section: str) -> dict[str, int]:
    values: dict[str, int] = {}
    for no, line in enumerate(lines, 1):
        parts = line.replace(":", " ").split()
        if len(parts) < 2:
            raise ParseError(f"{section}: expected 'name value'", line_no=no, line=line)
        try:
            values[parts[0]] = to_int(parts[1])
        except ValueError:
            raise ParseError(f"{section}: value is not a 64-bit integer", line_no=no, line=line) from None
    return values


def parse_snapshot(text: str) -> dict[str, float]:
    """The observables of one snapshot: nr_kernel_stack (KiB), KernelStack (kB) and the number of tasks."""
    sections = split_sections(text)
    missing = {"vmstat", "meminfo", "tasks"} - set(sections)
    if missing:
        raise ParseError(f"Linux snapshot lacks the section(s) {', '.join(sorted(missing))}")
    vmstat = _key_values(sections["vmstat"], "/proc/vmstat")
    meminfo = _key_values(sections["meminfo"], "/proc/meminfo")
    if "nr_kernel_stack" not in vmstat or "KernelStack" not in meminfo:
        raise ParseError("Linux snapshot lacks nr_kernel_stack (/proc/vmstat) or KernelStack (/proc/meminfo)")
    try:
        tasks = to_int(sections["tasks"][0].strip())
    except (IndexError, ValueError):
        raise ParseError("Linux snapshot: the task count is not a number") from None
    return {KSTACK: vmstat["nr_kernel_stack"], MEMINFO: meminfo["KernelStack"], TASKS: tasks}


def parse_samples(text: str) -> list[tuple[float, float]]:
    """(epoch seconds, nr_kernel_stack KiB) per sampler tick; a tick cut off by the end of the run is dropped."""
    samples: list[tuple[float, float]] = []
    tick: float | None = None
    for line in text.splitlines():
        if line.startswith("== tick "):
            try:
                tick = float(line.split()[2])
            except (IndexError, ValueError):
                tick = None
        elif line.startswith("nr_kernel_stack ") and tick is not None:
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                samples.append((tick, float(parts[1])))
            tick = None
    return samples


def observations(snapshots: dict[str, str], samples: str | None = None, *, where: str = "raw") -> Observations:
    """Observations from raw snapshot texts by phase (``before``/``plateau``/``after``) and the sampler output.
    ``where``: the directory the snapshots were read from (``raw/<workload>``), named in errors and sources."""
    obs = Observations()
    for phase, text in snapshots.items():
        source = f"{where}/{phase}/snapshot.txt"
        try:
            values = parse_snapshot(text)
        except ParseError as exc:
            raise ParseError(f"{source}: {exc.message}") from None
        for name, value in values.items():
            obs.put(name, phase, value, source=source)
    if samples:
        series = parse_samples(samples)
        if series:
            start = series[0][0]
            obs.series[KSTACK] = [(t - start, v) for t, v in series]
    return obs
