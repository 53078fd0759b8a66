"""Observations from a FreeBSD guest's raw outputs, read with ``harness.parse``.

Names (what ``harness.model`` predictions refer to):

* ``sysctl.<oid>``: every integer sysctl (``sysctl.vm.kstacks``, ``sysctl.kern.kstack_pages``, ...);
* ``zone.<ZONE>.<column>``: ``vmstat -z`` columns ``size limit used free req fail sleep xdomain`` per zone;
* ``kstack_cache.used``/``.free``/``.req``/``.fail``/``.used_plus_free``: the kstack cache zone (G0-uma … G3);
* ``vmstat_s.<counter>``: ``vmstat -s`` by vmmeter name (``vmstat_s.v_forks``, ``vmstat_s.v_swappgsout``);
* ``swap.used_kib``: ``swapinfo -k`` total used;
* ``kstack_object.resident_pages``: RES of the single ``sw`` object with REF 1, SHD 0 and no path whose RES is
  the largest (G1+; ``vmstat -o`` prints no size, so the unique-size test of the spec needs ``vm.objects``).
"""

from __future__ import annotations

from collections.abc import Callable

from harness.errors import ParseError
from harness.parse.procstat import parse_swapinfo
from harness.parse.sysctl import parse_sysctl
from harness.parse.vmstat import parse_vmstat_o, parse_vmstat_s, parse_vmstat_z
from harness.validate.observed import Observations

#: Raw file names of one FreeBSD snapshot (``raw/<workload>/<phase>/<file>``) and what reads them.
SNAPSHOT_FILES = {
    "sysctl.txt": "sysctl -a",
    "vmstat-z.txt": "vmstat -z",
    "vmstat-o.txt": "vmstat -o",
    "vmstat-s.txt": "vmstat -s",
    "swapinfo.txt": "swapinfo -k",
}
KSTACK_ZONE = "kstack_cache"


def sysctl_values(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in parse_sysctl(text).values.items():
        try:
            out[f"sysctl.{name}"] = float(value.as_int())
        except (ParseError, ValueError):
            continue
    return out


def zone_values(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for row in parse_vmstat_z(text).rows:
        columns = {
            "size": row.size,
            "limit": row.limit,
            "used": row.used,
            "free": row.free,
            "req": row.requests,
            "fail": row.fail,
            "sleep": row.sleep,
        }
        if row.xdomain is not None:
            columns["xdomain"] = row.xdomain
        for column, value in columns.items():
            out[f"zone.{row.name}.{column}"] = float(value)
        if row.name == KSTACK_ZONE:
            out.update(
                {
                    "kstack_cache.used": float(row.used),
                    "kstack_cache.free": float(row.free),
                    "kstack_cache.req": float(row.requests),
                    "kstack_cache.fail": float(row.fail),
                    "kstack_cache.used_plus_free": float(row.used + row.free),
                }
            )
    return out


def object_values(text: str) -> dict[str, float]:
    candidates = [
        row for row in parse_vmstat_o(text) if row.type == "sw" and row.ref_count == 1 and row.shadow_count == 0
    ]
    candidates = [row for row in candidates if not row.path]
    if not candidates:
        return {}
    return {"kstack_object.resident_pages": float(max(row.resident for row in candidates))}


def sum_values(text: str) -> dict[str, float]:
    return {f"vmstat_s.{name}": float(value) for name, value in parse_vmstat_s(text).by_name.items()}


def swap_values(text: str) -> dict[str, float]:
    return {"swap.used_kib": float(parse_swapinfo(text).used_kib)}


READERS: dict[str, Callable[[str], dict[str, float]]] = {
    "sysctl.txt": sysctl_values,
    "vmstat-z.txt": zone_values,
    "vmstat-o.txt": object_values,
    "vmstat-s.txt": sum_values,
    "swapinfo.txt": swap_values,
}


def snapshot_values(files: dict[str, str]) -> dict[str, float]:
    """All observables of one snapshot, from the raw files present (file name → text)."""
    out: dict[str, float] = {}
    for file, text in files.items():
        reader = READERS.get(file)
        if reader is not None and text.strip():
            out.update(reader(text))
    return out


def observations(snapshots: dict[str, dict[str, str]], samples: dict[str, list[tuple[float, float]]]) -> Observations:
    """Observations from snapshots by phase (phase → file → text) and sampled series."""
    obs = Observations()
    for phase, files in snapshots.items():
        for name, value in snapshot_values(files).items():
            obs.put(name, phase, value)
    obs.series.update(samples)
    return obs


def parse_samples(text: str) -> dict[str, list[tuple[float, float]]]:
    """The sampler's ticks (``== tick <epoch>`` then ``vmstat -z`` rows and ``sysctl`` lines) as series of
    ``kstack_cache.used``, ``kstack_cache.free``, ``zone.THREAD.used`` … against seconds since the first tick."""
    series: dict[str, list[tuple[float, float]]] = {}
    ticks: list[tuple[float, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("== tick "):
            try:
                ticks.append((float(line.split()[2]), []))
            except (IndexError, ValueError):
                continue
        elif ticks and line.strip():
            ticks[-1][1].append(line)
    if not ticks:
        return series
    start = ticks[0][0]
    wanted = ("kstack_cache.", "zone.THREAD.used", "zone.PROC.used", "zone.VM OBJECT.used", "sysctl.")
    for stamp, lines in ticks:
        zone_lines = [line for line in lines if ":" in line and "," in line]
        sysctl_lines = [line for line in lines if line not in zone_lines]
        values: dict[str, float] = {}
        try:
            if zone_lines:
                values.update(zone_values("\n".join(zone_lines)))
            if sysctl_lines:
                values.update(sysctl_values("\n".join(sysctl_lines)))
        except ParseError:
            continue  # a tick cut off by the end of the run
        for name, value in values.items():
            if name.startswith(wanted) and not name.startswith("kstack_cache.fail"):
                series.setdefault(name, []).append((stamp - start, value))
    return series
