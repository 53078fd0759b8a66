"""FreeBSD observations from the real transcripts, named as the model names its predictions."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ParseError
from harness.validate import freebsd


def test_sysctl_capture_gives_bare_names(freebsd_fixtures: Path) -> None:
    values = freebsd.sysctl_values((freebsd_fixtures / "sysctl-a__12.1-RELEASE__amd64__1.txt").read_text())
    assert values["kern.kstack_pages"] == 4
    assert values["vm.kstacks"] == 128 and values["vm.kstack_cache_size"] == 128
    assert values["vm.kvm_size"] == values["vm.max_kernel_address"] - values["vm.min_kernel_address"]
    assert "kern.ostype" not in values  # not an integer


def test_zone_rows_get_model_aliases(freebsd_fixtures: Path) -> None:
    values = freebsd.zone_values((freebsd_fixtures / "vmstat-z__unknown__amd64__1.txt").read_text())
    assert values["vm_object.used"] == 5749 and values["vm_object.req"] == 49019
    assert values["zone.VM OBJECT.free"] == 116
    assert "kstack_cache.used" not in values  # this capture has no kstack_cache zone


def test_kstack_cache_row_and_thread_difference() -> None:
    text = (
        "kstack_cache:         16384,      0,     120,      8,     500,   0,   0,   0\n"
        "THREAD:                1824,      0,     130,     10,    1000,   0,   0,   0\n"
    )
    values = freebsd.zone_values(text)
    assert values["kstack_cache.used_plus_free"] == 128 and values["kstack_cache.size"] == 16384
    assert values["thread.used_minus_kstack_cache.used"] == 10


def test_vmstat_s_counters_by_vmmeter_name(freebsd_fixtures: Path) -> None:
    values = freebsd.sum_values((freebsd_fixtures / "vmstat-s__14.0-CURRENT__amd64__1.txt").read_text())
    assert values["v_forks"] == 1567 and values["v_swappgsin"] == 0


def test_kstack_object_row_and_resident_minus_cache() -> None:
    files = {
        "vmstat-o.txt": (
            "  RES   ACT INACT REF SHD CM TP PATH\n  520     0     0   1   0 WB sw\n    3     1     0   2   0 WB sw\n"
        ),
        "vmstat-z.txt": "kstack_cache:         16384,      0,     120,      8,     500,   0,   0,   0\n",
        "sysctl.txt": "kern.kstack_pages: 4\n",
    }
    values = freebsd.snapshot_values(files)
    assert values["kstack_object.resident_pages"] == 520 and values["kstack_object.ref"] == 1
    assert values["kstack_object.resident_minus_pk_cache"] == 520 - 4 * 128


def test_ps_counts_swapped_processes() -> None:
    assert freebsd.ps_values("  PID STAT\n    1 ILs\n   22 IW\n   23 DWL\n")["ps.swapped_procs"] == 2


def test_sampler_ticks_become_series() -> None:
    text = (
        "== tick 100\nkstack_cache:         16384,      0,     120,      8,     500,   0,   0,   0\n"
        "vm.kvm_free: 2000\n== tick 101\nkstack_cache:         16384,      0,     380,      8,     800,   0,   0,   0\n"
        "vm.kvm_free: 1000\n== tick 102\nkstack_cache:   16384,"
    )
    series = freebsd.parse_samples(text)
    assert series["kstack_cache.used"] == [(0.0, 120.0), (1.0, 380.0)]
    assert series["vm.kvm_free"] == [(0.0, 2000.0), (1.0, 1000.0)]


def test_moment_snapshots_become_the_models_after_observables() -> None:
    def zone(used: int, free: int) -> dict[str, str]:
        return {
            "vmstat-z.txt": f"kstack_cache:         16384,      0,     {used},      {free},     500,   0,   0,   0\n"
        }

    obs = freebsd.observations(
        {"before": zone(120, 8), "after_exit": zone(123, 60), "after_reclaim_drain_cpu": zone(121, 0)}, {}
    )
    # "after exit − before" for USED, as the model states it; FREE stays absolute.
    assert obs.get("kstack_cache.used.after_exit", "after") == 3
    assert obs.get("kstack_cache.free.after_exit", "after") == 60
    assert obs.get("kstack_cache.free.after_reclaim_drain_cpu", "after") == 0
    assert obs.get("kstack_cache.used", "after_exit") is None


def test_a_malformed_stored_file_is_named_with_its_phase_and_workload() -> None:
    with pytest.raises(ParseError) as caught:
        freebsd.observations({"before": {"vmstat-z.txt": "ITEM  SIZE LIMIT\nbogus\n"}}, {}, where="raw/thread-hold")
    assert caught.value.message.startswith("raw/thread-hold/before/vmstat-z.txt: line 1: not a vmstat -z row")
