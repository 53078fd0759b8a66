"""The workload catalogue, its templates and its C programs: they render, parse as sh, compile and really run."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harness.errors import ConfigError, UsageError
from harness.workloads.catalogue import (
    COMMON_HEADER,
    load_catalogue,
    parse_param_overrides,
    plateau_threads,
    program_source,
    render,
)

CATALOGUE = load_catalogue()
PROGRAMS = sorted({w.program for w in CATALOGUE.workloads.values() if w.program})
SPEC_WORKLOADS = {"thread-hold", "thread-churn", "fork-churn", "burst-and-idle", "swap-pressure", "stress2", "crash"}


def test_catalogue_has_every_workload_of_the_spec() -> None:
    assert set(CATALOGUE.workloads) == SPEC_WORKLOADS
    assert set(CATALOGUE.for_guest("linuxtest")) == {
        "thread-hold",
        "thread-churn",
        "fork-churn",
        "burst-and-idle",
        "crash",
    }


def test_unknown_workload_is_a_usage_error_naming_the_known_ones() -> None:
    with pytest.raises(UsageError) as info:
        CATALOGUE.get("thread-hodl")
    assert "thread-hold" in (info.value.hint or "")


def test_overrides_are_typed_against_the_defaults() -> None:
    hold = CATALOGUE.get("thread-hold")
    assert hold.with_params(parse_param_overrides(["threads=0x20"]))["threads"] == 32
    with pytest.raises(UsageError):
        hold.with_params({"threads": "many"})
    with pytest.raises(UsageError):
        hold.with_params({"thread": "3"})
    with pytest.raises(UsageError):
        hold.with_params({"threads": "-1"})
    with pytest.raises(UsageError):
        parse_param_overrides(["threads"])


def test_a_workload_without_program_or_template_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        load_catalogue('[workload.x]\ndescription = "x"\nguests = ["freebsd"]\n')


def test_linux_guests_cannot_run_swap_pressure() -> None:
    with pytest.raises(UsageError):
        render(CATALOGUE.get("swap-pressure"), guest_os="linuxtest", run_id="r", workdir="/tmp/h")


@pytest.mark.parametrize("name", sorted(SPEC_WORKLOADS))
@pytest.mark.parametrize("guest_os", ["freebsd", "linuxtest"])
def test_every_rendering_is_valid_sh_with_markers(name: str, guest_os: str, tmp_path: Path) -> None:
    workload = CATALOGUE.get(name)
    if guest_os not in workload.guests:
        pytest.skip(f"{name} does not run on {guest_os}")
    rendered = render(workload, guest_os=guest_os, run_id="run-1", workdir="/tmp/harness w")
    script = tmp_path / "w.sh"
    script.write_text(rendered.script)
    subprocess.run(["sh", "-n", str(script)], check=True)
    assert "HARNESS-WORKLOAD-$1 name=" + name in rendered.script
    assert "marker START" in rendered.script and "marker END" in rendered.script
    assert "workdir='/tmp/harness w'" in rendered.script  # quoted for the shell
    if workload.plateau:
        assert rendered.ready_path and rendered.ready_path in rendered.script
    if workload.program:
        assert set(rendered.files) == {workload.program, COMMON_HEADER}


def test_uma_reclaim_only_on_freebsd() -> None:
    burst = CATALOGUE.get("burst-and-idle")
    assert "debug.uma_reclaim=2" in render(burst, guest_os="freebsd", run_id="r", workdir="/w").script
    assert "uma_reclaim" not in render(burst, guest_os="linuxtest", run_id="r", workdir="/w").script


@pytest.mark.parametrize("program", PROGRAMS)
@pytest.mark.parametrize("std", [["-std=c99", "-D_POSIX_C_SOURCE=200809L"], []])
def test_programs_compile_warning_free(program: str, std: list[str], tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    for name in (program, COMMON_HEADER):
        (tmp_path / name).write_text(program_source(name))
    subprocess.run(
        ["gcc", *std, "-Wall", "-Wextra", "-Werror", "-O2", "-pthread", "-o", str(tmp_path / "p"), program],
        cwd=tmp_path,
        check=True,
    )


def _run_rendered(name: str, overrides: dict[str, int | str], tmp_path: Path) -> tuple[int, str, str]:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    console = tmp_path / "console.log"
    rendered = render(
        CATALOGUE.get(name),
        guest_os="linuxtest",
        run_id="run-7",
        workdir=str(tmp_path),
        overrides=overrides,
        cc="gcc",
        console=str(console),
    )
    for file, data in rendered.files.items():
        (tmp_path / file).write_bytes(data)
    script = tmp_path / "run.sh"
    script.write_text(rendered.script)
    done = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=120, check=False)
    return done.returncode, done.stdout, console.read_text()


def test_thread_hold_really_holds_its_threads_and_marks_the_console(tmp_path: Path) -> None:
    rc, out, console = _run_rendered("thread-hold", {"threads": 40, "hold_seconds": 0}, tmp_path)
    assert rc == 0, out
    assert "harness: plateau threads=40 failed=0" in out
    assert plateau_threads(out) == 40 and plateau_threads("harness: done\n") is None  # what analysis calibrates with
    assert (tmp_path / "thread_hold.ready").read_text() == "40\n"
    lines = console.splitlines()
    assert lines[0].startswith("HARNESS-WORKLOAD-START name=thread-hold run=run-7 params=threads=40")
    assert lines[-1] == "HARNESS-WORKLOAD-END name=thread-hold run=run-7 rc=0"


def test_thread_churn_counts_every_thread(tmp_path: Path) -> None:
    rc, out, _ = _run_rendered("thread-churn", {"threads_per_round": 30, "rounds": 3, "concurrency": 7}, tmp_path)
    assert rc == 0
    assert "harness: done threads=90 failed=0" in out


def test_fork_churn_reaps_every_child(tmp_path: Path) -> None:
    rc, out, _ = _run_rendered("fork-churn", {"forks": 25, "concurrency": 4}, tmp_path)
    assert rc == 0
    assert "harness: done forks=25 reaped=25 failed=0" in out


def test_a_program_rejects_bad_counts(tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    for name in ("thread_hold.c", COMMON_HEADER):
        (tmp_path / name).write_text(program_source(name))
    subprocess.run(["gcc", "-O2", "-pthread", "-o", "p", "thread_hold.c"], cwd=tmp_path, check=True)
    done = subprocess.run([str(tmp_path / "p"), "-n", "x"], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "-n needs an integer" in done.stderr
