"""Observations from a FreeBSD guest's raw outputs, read with ``harness.parse``, named as ``harness.model.predict``
names its predictions:

* every integer sysctl by its own name (``kern.kstack_pages``, ``vm.kstacks``, ``vm.kvm_free``), and
  ``vm.uma.kstack_cache.*`` also as ``uma.kstack_cache.*``;
* ``vmstat -z``: ``kstack_cache.<column>`` (``used free req fail size limit sleep``), ``thread.used``,
  ``proc.used_plus_free``, ``vm_object.used``/``.req``, ``thread.used_minus_kstack_cache.used``; and every zone
  as ``zone.<ZONE>.<column>``;
* ``vmstat -s`` counters by vmmeter name (``v_forks``, ``v_swappgsin``);
* ``vmstat -o``: ``kstack_object.resident_pages``/``.ref``/``.shadow`` of the kstack object when exactly one row
  has its identity (:func:`kstack_object_rows`), else ``kstack_object.candidates`` (how many rows could be it), and
  ``kstack_object.resident_minus_pk_cache`` = RES − P_k·(USED + FREE);
* ``swapinfo -k``: ``swap.used_kib``, and ``swap.used_after_exit`` in 4 KiB pages (the model's unit);
* ``ps``: ``ps.swapped_procs``, processes whose state *flags* have ``W`` (not the run-state letter).
"""

from __future__ import annotations

from collections.abc import Callable

from harness.errors import ParseError
from harness.parse.ddb_vm import parse_show_object, parse_show_vmem
from harness.parse.procstat import parse_swapinfo
from harness.parse.sysctl import parse_sysctl
from harness.parse.text import nonblank_lines
from harness.parse.vmstat import ObjectRow, parse_vmstat_o, parse_vmstat_s, parse_vmstat_z
from harness.validate.observed import Observations

#: Raw file names of one FreeBSD snapshot (``raw/<workload>/<phase>/<file>``) and what reads them.
SNAPSHOT_FILES = {
    "sysctl.txt": "sysctl -a",
    "vmstat-z.txt": "vmstat -z",
    "vmstat-o.txt": "vmstat -o",
    "vmstat-s.txt": "vmstat -s",
    "swapinfo.txt": "swapinfo -k",
    "ps.txt": "ps -axo pid,state",
}
#: Zones the model names, with the columns it reads.
ZONE_ALIASES = {"THREAD": "thread", "PROC": "proc", "VM OBJECT": "vm_object"}
KSTACK_ZONE = "kstack_cache"


def sysctl_values(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in parse_sysctl(text).values.items():
        try:
            number = float(value.as_int())
        except (ParseError, ValueError):
            continue
        out[name] = number
        if name.startswith("vm.uma.kstack_cache."):
            out[name.removeprefix("vm.")] = number
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
            out.update({f"kstack_cache.{column}": float(value) for column, value in columns.items()})
            out["kstack_cache.used_plus_free"] = float(row.used + row.free)
        alias = ZONE_ALIASES.get(row.name)
        if alias:
            out.update({f"{alias}.used": float(row.used), f"{alias}.req": float(row.requests)})
            out[f"{alias}.used_plus_free"] = float(row.used + row.free)
    if "thread.used" in out and "kstack_cache.used" in out:
        out["thread.used_minus_kstack_cache.used"] = out["thread.used"] - out["kstack_cache.used"]
    return out


#: vmstat -o's TP letter of kstack_object by generation (display_object in usr.bin/vmstat/vmstat.c: OBJT_SWAP →
#: "sw", OBJT_PHYS → "ph"). G1/G2 allocate it OBJT_SWAP (D24473 f13fa9df, D38852 7a79d066 sys/vm/vm_glue.c). G3:
#: the post-removal trees read (CHERI-Alliance/freebsd-src @50b6cd94, jrtc27/freebsd-src @360282d5
#: kstack_cache_init) use OBJT_PHYS; upstream 15.x is unverified, so both stay possible until the guest is probed
#: (harness.guests.freebsd.fingerprint.kstack_object_type) or DDB shows the object (review H2, M5).
KSTACK_OBJECT_TYPES = {"G1": ("sw",), "G2": ("sw",), "G3": ("sw", "ph")}
ANY_KSTACK_OBJECT_TYPE = ("sw", "ph")


def kstack_object_rows(text: str, types: tuple[str, ...] = ANY_KSTACK_OBJECT_TYPE) -> list[ObjectRow]:
    """The ``vmstat -o`` rows that have kstack_object's identity on every generation (review H2).

    ``vmstat -o`` prints neither the object's size nor its address (display_object: RES ACT INACT REF SHD CM TP
    PATH), so the object is recognised by what only kernel-owned wired objects look like: type ``types``; REF 1 and
    SHD 0 (vm_object_allocate, never mapped or shadowed); no path; resident pages, all of them wired: stack pages
    are allocated VM_ALLOC_WIRED and never enter a page queue (vm_glue.c vm_thread_stack_back), and
    sysctl_vm_object_list (sys/vm/vm_object.c) counts ACT/INACT from the page queues, so ACT = INACT = 0. A user
    process's anonymous memory (``sw`` on 14+, or once paged out on 13) has its pages on the active/inactive
    queues (vm_fault), so the swap-pressure hog is not a candidate whatever its size."""
    return [
        row
        for row in parse_vmstat_o(text)
        if row.type in types
        and row.ref_count == 1
        and row.shadow_count == 0
        and not row.path
        and row.resident > 0
        and row.active == 0
        and row.inactive == 0
    ]


def object_values(text: str, types: tuple[str, ...] = ANY_KSTACK_OBJECT_TYPE) -> dict[str, float]:
    """kstack_object's values when exactly one row has its identity; else only how many rows could be it (an
    ambiguous snapshot gives no number rather than a guessed one; DDB's ``show object *kstack_object`` decides)."""
    candidates = kstack_object_rows(text, types)
    if len(candidates) != 1:
        return {"kstack_object.candidates": float(len(candidates))}
    row = candidates[0]
    return {
        "kstack_object.candidates": 1.0,
        "kstack_object.resident_pages": float(row.resident),
        "kstack_object.ref": float(row.ref_count),
        "kstack_object.shadow": float(row.shadow_count),
    }


def sum_values(text: str) -> dict[str, float]:
    return {name: float(value) for name, value in parse_vmstat_s(text).by_name.items()}


def swap_values(text: str) -> dict[str, float]:
    used = float(parse_swapinfo(text).used_kib)
    return {"swap.used_kib": used, "swap.used_after_exit": used / 4}


def ps_values(text: str) -> dict[str, float]:
    """``ps -axo pid,state``: processes swapped out (pre-G3). bin/ps/print.c state(): the first letter is the run
    state, where ``W`` means SWAIT (every idle interrupt thread: ``[intr]`` shows ``WL``); only a ``W`` among the
    flags after it means "not in memory" (``if (!(flag & P_INMEM)) *cp++ = 'W'``) (review H1)."""
    rows = [line.split() for line in text.splitlines()[1:] if line.strip()]
    return {"ps.swapped_procs": float(sum(1 for row in rows if len(row) >= 2 and "W" in row[1][1:]))}


READERS: dict[str, Callable[[str], dict[str, float]]] = {
    "sysctl.txt": sysctl_values,
    "vmstat-z.txt": zone_values,
    "vmstat-o.txt": object_values,
    "vmstat-s.txt": sum_values,
    "swapinfo.txt": swap_values,
    "ps.txt": ps_values,
}


def snapshot_values(
    files: dict[str, str], where: str = "", object_types: tuple[str, ...] = ANY_KSTACK_OBJECT_TYPE
) -> dict[str, float]:
    """All observables of one snapshot, from the raw files present (file name → text). ``where``: their directory
    (``raw/<workload>/<phase>``), named in a parse error with the file. ``object_types``: the TP letters the
    kstack object may have on this kernel (:data:`KSTACK_OBJECT_TYPES`, narrowed by the guest probe)."""
    out: dict[str, float] = {}
    for file, text in files.items():
        reader = READERS.get(file)
        if reader is not None and text.strip():
            try:
                out.update(object_values(text, object_types) if file == "vmstat-o.txt" else reader(text))
            except ParseError as exc:
                raise ParseError(f"{where + '/' if where else ''}{file}: {exc.message}") from None
    needed = ("kstack_object.resident_pages", "kern.kstack_pages", "kstack_cache.used_plus_free")
    if all(name in out for name in needed):
        resident, pages, stacks = (out[name] for name in needed)
        out["kstack_object.resident_minus_pk_cache"] = resident - pages * stacks
    return out


#: The snapshot phases; any other phase directory is a moment a workload snapshotted in the guest.
PHASES = ("before", "plateau", "after")
#: Moment observables the model states relative to the ``before`` snapshot ("after exit − before").
DELTA_MOMENTS = frozenset({"kstack_cache.used.after_exit"})


def observations(
    snapshots: dict[str, dict[str, str]],
    samples: dict[str, list[tuple[float, float]]],
    *,
    where: str = "raw",
    object_types: tuple[str, ...] = ANY_KSTACK_OBJECT_TYPE,
) -> Observations:
    """Observations from snapshots by phase (phase → file → text) and sampled series. A moment snapshot
    (``after_idle``) gives ``<name>.<moment>`` observed at phase ``after``, the model's naming. ``where``: the
    directory the snapshots were read from (``raw/<workload>``)."""
    obs = Observations()
    for phase, files in snapshots.items():
        for name, value in snapshot_values(files, f"{where}/{phase}", object_types).items():
            if phase in PHASES:
                obs.put(name, phase, value)
    for moment, files in snapshots.items():
        if moment in PHASES:
            continue
        for name, value in snapshot_values(files, f"{where}/{moment}", object_types).items():
            moment_name = f"{name}.{moment}"
            if moment_name in DELTA_MOMENTS:
                before = obs.get(name, "before")
                if before is None:
                    continue
                value -= before
            obs.put(moment_name, "after", value)
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
    wanted = ("kstack_cache.", "thread.used", "proc.used", "vm_object.used", "vm.kvm_free", "vm.stats.vm.")
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


def ddb_values(captures: dict[str, str], kstack_pages: float | None, cache_stacks: float | None) -> dict[str, float]:
    """Observables of the DDB capture at the plateau (command → output): ``show object *kstack_object`` gives the
    object's size, residency, references and shadows; ``show all vmem`` the G2+ per-domain ``kstack arena``s,
    compared with the cache as the model states it (``(P_k+1)·4096`` bytes and one busy tag per stack)."""
    out: dict[str, float] = {}
    shown = captures.get("show object *kstack_object")
    if shown:
        objects = parse_show_object(nonblank_lines(shown))
        if objects:
            obj = objects[0]
            out.update(
                {
                    "kstack_object.size_pages": float(obj.size_pages),
                    "kstack_object.resident_pages": float(obj.resident),
                    "kstack_object.ref": float(obj.ref_count),
                    "kstack_object.shadow": float(obj.shadow_count),
                }
            )
    vmem = captures.get("show all vmem")
    if vmem and kstack_pages is not None and cache_stacks is not None:
        arenas = [a for a in parse_show_vmem(nonblank_lines(vmem)) if a.name == "kstack arena"]
        if arenas:
            slot_bytes = (kstack_pages + 1) * 4096
            out["vmem.kstack_arena.inuse_minus_cache"] = sum(a.inuse for a in arenas) - slot_bytes * cache_stacks
            out["vmem.kstack_arena.busy_tags_minus_cache"] = sum(a.busy_tags for a in arenas) - cache_stacks
    return out


def kstack_object_type(vmstat_o: str) -> tuple[str | None, str]:
    """The TP letter of kstack_object on a G3 kernel, probed from ``vmstat -o`` of the freshly booted guest
    (``raw/fingerprint/vmstat-o.txt``), with the evidence (review M5).

    Among the wired-only kernel rows (:func:`kstack_object_rows`): on a fresh boot no user object is wired, and
    kernel_object (vm_object.c vm_object_init: OBJT_PHYS, REF 1) is always one ``ph`` row. So a wired-only ``sw``
    row can only be a kstack object (OBJT_SWAP, as G2), and two or more ``ph`` rows with none ``sw`` mean the
    kstack objects are OBJT_PHYS (the CHERI-derived trees' kstack_cache_init). Anything else decides nothing."""
    if not vmstat_o.strip():
        return None, "no boot-time vmstat -o (raw/fingerprint/vmstat-o.txt)"
    rows = kstack_object_rows(vmstat_o)
    swap = sum(1 for row in rows if row.type == "sw")
    phys = sum(1 for row in rows if row.type == "ph")
    if swap:
        return "sw", f"{swap} wired-only unnamed sw object(s) at boot: the kstack objects are OBJT_SWAP"
    if phys >= 2:
        return "ph", f"{phys} wired-only unnamed ph objects at boot (kernel_object + kstack objects): OBJT_PHYS"
    return None, f"vmstat -o at boot shows {phys} ph and no sw wired-only object: the type stays undecided"


def kstack_cache_item_size(vmstat_z: str, sysctl: dict[str, float], page_size: int = 4096) -> tuple[str | None, str]:
    """Which kstack_cache item size the kernel uses: ``kstack_pages·PAGE_SIZE`` (G1/G2 uma_zcache_create in
    vm_glue.c @7a79d066) or ``(kstack_pages + KSTACK_GUARD_PAGES)·PAGE_SIZE`` (the post-removal trees read,
    CHERI-Alliance/freebsd-src @50b6cd94); from ``vmstat -z`` SIZE and ``kern.kstack_pages`` (review M5)."""
    pages = sysctl.get("kern.kstack_pages")
    size = zone_values(vmstat_z).get("kstack_cache.size") if vmstat_z.strip() else None
    if pages is None or size is None:
        return None, "no kstack_cache row or no kern.kstack_pages: the item size stays undecided"
    if size == pages * page_size:
        return "stack", f"kstack_cache SIZE {size:.0f} = kstack_pages·PAGE_SIZE"
    if size == (pages + 1) * page_size:
        return "stack+guard", f"kstack_cache SIZE {size:.0f} = (kstack_pages + KSTACK_GUARD_PAGES)·PAGE_SIZE"
    return None, f"kstack_cache SIZE {size:.0f} is neither {pages:.0f} nor {pages + 1:.0f} pages"
