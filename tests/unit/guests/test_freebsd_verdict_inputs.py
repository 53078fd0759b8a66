"""Verdicts read the right things (review H1, H2, H3, M5).

Inputs: the real 12.1 ``sysctl -a`` transcript (../shared/fixtures, skipped when absent) and files WRITTEN FROM
FreeBSD's FORMAT STRINGS in tests/golden/fixtures (``*__format*``): ``ps -axo pid,state`` from bin/ps/print.c
state() (run-state letter, then flag letters: ``W`` not in memory, ``L`` P_SYSTEM, ``s`` session leader, ``+``
foreground), ``vmstat -o`` from usr.bin/vmstat/vmstat.c display_object (``%5ju %5ju %5ju %3d %3d %-3s %-2s``),
``nm`` lines as nm(1) prints them (``<address> T <name>``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.guests.freebsd.fingerprint import FingerprintConflict, fingerprint, sysctls_from_names
from harness.settings import fixtures_dir
from harness.validate import freebsd
from tests.support.paths import FORMAT_FIXTURES

GOLDEN = FORMAT_FIXTURES


def _golden(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8")


def _nm(*names: str) -> str:
    return "".join(f"ffffffff80{i:06x} T {name}\n" for i, name in enumerate(names))


# -- H1: ps state letters ----------------------------------------------------------------------------------------


def test_intr_wait_state_is_not_swapped_out() -> None:
    """``[intr]`` prints ``WL`` (SWAIT run state + P_SYSTEM): not swapped. ``IW``/``IWs`` are."""
    values = freebsd.ps_values(_golden("ps-axo-state__format.txt"))
    assert values["ps.swapped_procs"] == 2


def test_an_idle_system_has_no_swapped_process() -> None:
    assert freebsd.ps_values("  PID STAT\n    0 DLs\n   11 RNL\n   12 WL\n  640 Ss\n")["ps.swapped_procs"] == 0


# -- H2: the kstack object in vmstat -o --------------------------------------------------------------------------


def test_swap_pressure_hog_is_never_taken_for_the_kstack_object() -> None:
    """The hog's 300000-page sw object (pages on the active/inactive queues) loses to the wired-only one."""
    values = freebsd.object_values(_golden("vmstat-o-swap-pressure__format.txt"), ("sw",))
    assert values["kstack_object.resident_pages"] == 1412
    assert values["kstack_object.candidates"] == 1


def test_g3_phys_kstack_object_is_found_by_its_type_and_kernel_object_makes_it_ambiguous() -> None:
    """OBJT_PHYS kstack object (post-2024 trees): with kernel_object also wired-only ``ph``, vmstat -o alone cannot
    say which is which, so no number is given rather than a guess."""
    text = _golden("vmstat-o-g3-phys__format.txt")
    assert [r.resident for r in freebsd.kstack_object_rows(text, ("ph",))] == [51230, 1412]
    values = freebsd.object_values(text, ("ph",))
    assert values == {"kstack_object.candidates": 2.0}
    assert freebsd.object_values(text, ("sw",)) == {"kstack_object.candidates": 0.0}  # the sw user row is no match


def test_snapshot_values_use_the_generations_object_types() -> None:
    files = {"vmstat-o.txt": _golden("vmstat-o-swap-pressure__format.txt")}
    assert freebsd.snapshot_values(files, object_types=("sw",))["kstack_object.resident_pages"] == 1412
    assert "kstack_object.resident_pages" not in freebsd.snapshot_values(files, object_types=("sw", "ph"))


# -- M5: probing the kstack object's type and kstack_cache's item size on the guest ------------------------------


def test_kstack_object_type_probe() -> None:
    assert freebsd.kstack_object_type(_golden("vmstat-o-g3-phys__format.txt"))[0] == "ph"
    assert freebsd.kstack_object_type(_golden("vmstat-o-swap-pressure__format.txt"))[0] == "sw"
    kernel_only = "  RES   ACT INACT REF SHD  CM TP PATH\n51230     0     0   1   0 WB  ph \n"
    decided, why = freebsd.kstack_object_type(kernel_only)
    assert decided is None and "undecided" in why


@pytest.mark.parametrize(("size", "layout"), [(16384, "stack"), (20480, "stack+guard"), (12288, None)])
def test_kstack_cache_item_size_probe(size: int, layout: str | None) -> None:
    zone = _golden("vmstat-z-kstack__format.txt").replace(
        "kstack_cache:         16384,", f"kstack_cache:         {size},"
    )
    assert freebsd.kstack_cache_item_size(zone, {"kern.kstack_pages": 4.0})[0] == layout


# -- H3: G2 vs G3 by symbols a real kernel keeps -----------------------------------------------------------------


def test_g2_kernel_with_vm_thread_swapin_inlined_is_g2() -> None:
    """vm_thread_swapin is static with one caller (vm_swapout.c @7a79d066): clang inlines it. faultin and swapper
    are global and stay."""
    found = fingerprint(_nm("kstack_object", "kstack_alt_object", "faultin", "swapper"), "vm.uma.kstack_cache.size\n")
    assert found.generation == "G2" and "faultin" in found.reason


def test_g3_kernel_without_swapout_functions_is_g3() -> None:
    assert fingerprint(_nm("kstack_object", "kstack_alt_object"), "vm.uma.kstack_cache.size\n").generation == "G3"


def test_swapout_sysctl_of_a_real_kernel_cross_checks_the_symbols() -> None:
    path = fixtures_dir() / "freebsd" / "sysctl-a__12.1-RELEASE__amd64__1.txt"
    if not path.is_file():
        pytest.skip(f"no real sysctl -a transcript at {path}")
    names = "\n".join(line.split(":", 1)[0] for line in path.read_text(errors="replace").splitlines() if ":" in line)
    assert "vm.swap_idle_enabled" in sysctls_from_names(names)
    # The real 12.1 sysctls (swapout present) contradict symbols that say "no stack swapping": refused, not guessed.
    with pytest.raises(FingerprintConflict, match=r"vm\.swap_idle_enabled is present"):
        fingerprint(_nm("kstack_object", "kstack_alt_object"), names.replace("vm.kstacks", "vm.kstacks_gone"))


def test_the_analysis_says_which_kstack_object_type_it_took(tmp_path: Path) -> None:
    """M5: on G3 the boot-time vmstat -o decides the type; without it both are admitted and the note says so.
    What the probes decided reaches the model as parameters, so the G3 prediction narrows to the probed size."""
    from harness.model.arch import ArchConstants
    from harness.run.freebsd_analysis import object_types, predictions_for, probed_facts, workload_params
    from harness.run.rundir import RunDir

    run = RunDir.create(tmp_path, "g3-run", {"guest": "freebsd", "arch": "amd64", "workloads": []}, ["harness"])
    types, notes = object_types(run, "G3")
    assert types == ("sw", "ph") and notes[0].startswith("assumption: kstack object type sw or ph")
    assert object_types(run, "G1") == (("sw",), [])
    run.write_raw(_golden("vmstat-o-g3-phys__format.txt"), "fingerprint", "vmstat-o.txt")
    types, notes = object_types(run, "G3")
    assert types == ("ph",) and notes[0].startswith("kstack object type detected: ph")
    run.write_raw("kern.kstack_pages: 4\n", "fingerprint", "sysctl.txt")
    zone = _golden("vmstat-z-kstack__format.txt").replace(
        "kstack_cache:         16384,", "kstack_cache:         20480,"
    )
    run.write_raw(zone, "fingerprint", "vmstat-z.txt")
    undecided, _ = probed_facts(run, "G3", ("sw", "ph"))
    assert "g3_object_type" not in undecided
    facts, notes = probed_facts(run, "G3", types)
    assert facts == {"g3_object_type": "ph", "g3_kstack_cache_item_size": 20480}
    assert notes[0].startswith("kstack_cache item size detected: stack+guard")
    assert probed_facts(run, "G2", ("sw",)) == ({}, [])

    def size_prediction(start: dict[str, object]) -> tuple[object, object, object]:
        params = workload_params("thread-hold", {}, None, {}, start)
        arch = ArchConstants.from_sysctls("amd64", {}, "G3")
        (size,) = [p for p in predictions_for("G3", arch, "thread-hold", params) if p.name == "kstack_cache.size"]
        return size.expected, size.low, size.high

    assert size_prediction({}) == (None, 16384, 20480)
    assert size_prediction(facts) == (20480, None, None)
