"""Golden tests: every real FreeBSD transcript in ../shared/fixtures/freebsd parses, and its key values are right.

The expected values below were read off the transcripts by eye (and, for the syzkaller reports, taken from the
titles recorded in SOURCES.md); they are not produced by the code under test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.parse.console import EventKind
from harness.parse.ddb import PsProcess, parse_ddb_session
from harness.parse.panic import parse_panics, sanitise_title
from harness.parse.procstat import parse_procstat_kstack
from harness.parse.scanner import boots, scan_console
from harness.parse.sysctl import parse_sysctl
from harness.parse.uname import parse_uname, parse_uname_all
from harness.parse.vmstat import parse_vmstat_interval, parse_vmstat_m, parse_vmstat_s, parse_vmstat_z


def _sources_titles(fixtures: Path) -> dict[str, str]:
    """File name → the syzkaller/syzbot title SOURCES.md records for it."""
    titles: dict[str, str] = {}
    current = None
    for line in (fixtures / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
        match = re.search(r"Syz(?:kaller|bot) title: '([^']*)'", line)
        if match and current:
            titles[current] = match.group(1)
    return titles


def _read(fixtures: Path, name: str) -> str:
    return (fixtures / name).read_text(encoding="utf-8")


# --- panics ----------------------------------------------------------------------------------------------------

SYZKALLER_REPORTS = [f"panic__unknown__amd64__{n}.txt" for n in range(1, 12)]


@pytest.mark.parametrize("name", SYZKALLER_REPORTS)
def test_syzkaller_report_title_equals_sources(freebsd_fixtures: Path, name: str) -> None:
    expected = _sources_titles(freebsd_fixtures)[name]
    reports = parse_panics(_read(freebsd_fixtures, name))
    assert len(reports) == 1
    assert reports[0].title == expected


# The syzbot titles of the markjdb repro logs predate syzkaller's number normalisation (``Fatal trap 18``) and its
# ASan rule; today's rules give the sanitised form of the same title.
@pytest.mark.parametrize("n", range(1, 7))
def test_syzbot_ddb_log_title_matches_recorded_title_under_current_rules(freebsd_fixtures: Path, n: int) -> None:
    name = f"ddb__unknown__amd64__{n}.txt"
    recorded = _sources_titles(freebsd_fixtures)[name]
    report = parse_panics(_read(freebsd_fixtures, name))[0]
    assert report.title == sanitise_title(recorded)


PANIC_FACTS: dict[str, dict[str, object]] = {
    "panic__unknown__amd64__1.txt": dict(
        trap_number=12,
        trap_type="page fault",
        cpuid=0,
        fault_address=0xFFFFFFFF12852143,
        current_process=(3094, "syz-executor0"),
        faulting_function="atrtc_settime",
        backtrace_style="numbered",
        frames=13,
    ),
    "panic__unknown__amd64__4.txt": dict(
        panic_message="ffs_write: type 0xfffff80036275ce8 8 (0,230)", cpuid=0, faulting_function="ffs_write", frames=11
    ),
    "panic__unknown__amd64__5.txt": dict(
        thread=(820, 100190),
        kdb_why="panic",
        stopped_at="kdb_enter+0x6a",
        panic_time=1552095166,
        faulting_function="__mtx_lock_flags",
    ),
    "panic__unknown__amd64__6.txt": dict(
        trap_number=9,
        thread=(907, 100096),
        faulting_function="unp_dispose",
        current_process=(907, "syz-executor9083768"),
        backtrace_style="ddb",
    ),
    "panic__unknown__amd64__9.txt": dict(
        trap_number=12, fault_address=0x18, thread=(0, 100012), faulting_function="inp_freemoptions"
    ),
    "panic__13.x__amd64__1.txt": dict(
        trap_number=9,
        trap_type="general protection fault",
        uptime="15m6s",
        reboot_in=15,
        panic_time=1653512644,
        current_process=(582, "syslogd"),
        faulting_function="restore_fpu_curthread",
        frames=16,
    ),
    "panic__unknown__arm64__1.txt": dict(
        panic_message="Invalid instruction length in exception", kdb_why="panic", backtrace_style="arm64", frames=7
    ),
    "ddb__13.0-CURRENT__amd64__1.txt": dict(cpuid=10, thread=(2191, 100251), faulting_function="check_pgrp_jobc"),
    "ddb__13.0-CURRENT__amd64__2.txt": dict(
        panic_message="pmap_growkernel: no memory to grow kernel",
        cpuid=8,
        thread=(12095, 186584),
        faulting_function="pmap_growkernel",
        frames=19,
    ),
    "ddb__14.0-CURRENT__i386__1.txt": dict(cpuid=2, thread=(54680, 102765), stopped_at="kdb_enter+0x34"),
}


@pytest.mark.parametrize("name", sorted(PANIC_FACTS))
def test_panic_report_fields(freebsd_fixtures: Path, name: str) -> None:
    report = parse_panics(_read(freebsd_fixtures, name))[0]
    for key, expected in PANIC_FACTS[name].items():
        actual = len(report.frames) if key == "frames" else getattr(report, key)
        assert actual == expected, key


def test_arm64_frames_are_functions_not_return_sites(freebsd_fixtures: Path) -> None:
    report = parse_panics(_read(freebsd_fixtures, "panic__unknown__arm64__1.txt"))[0]
    assert [f.function for f in report.frames][:3] == ["db_trace_self", "db_trace_self_wrapper", "vpanic"]
    assert report.frames[2].symbol == "kassert_panic"


def test_i386_frames_keep_arguments(freebsd_fixtures: Path) -> None:
    report = parse_panics(_read(freebsd_fixtures, "ddb__14.0-CURRENT__i386__1.txt"))[0]
    vm_fault = next(f for f in report.frames if f.function == "vm_fault")
    assert vm_fault.args == ("1e360c8", "0", "4", "0", "0")
    assert report.frames[-1].function == "(null)"


def test_message_buffer_excerpt_without_panic_line_is_a_trap(freebsd_fixtures: Path) -> None:
    reports = parse_panics(_read(freebsd_fixtures, "panic__13.0-RELEASE__amd64__1.txt"))
    assert [r.kind for r in reports] == ["fatal_trap"]
    assert reports[0].title == "Fatal trap NUM: page fault while in kernel mode"
    assert reports[0].current_process == (12, "swi4: clock (0)")
    assert reports[0].first_line == 18


def test_crashinfo_summary_and_trap(freebsd_fixtures: Path) -> None:
    text = _read(freebsd_fixtures, "crashinfo__14.0-CURRENT__amd64__1.txt")
    trap = [r for r in parse_panics(text) if r.kind == "fatal_trap"]
    assert len(trap) == 1 and trap[0].cpuid == 5 and trap[0].trap_number == 12
    assert parse_uname(text).ident == "GENERIC-NODEBUG"


def test_same_bug_same_signature_across_runs(freebsd_fixtures: Path) -> None:
    """Reports 6 and 7 differ in addresses, pids and time stamps but 6's bug is not 7's; each report parsed twice
    (as if from two runs with other addresses) keeps its signature."""
    text = _read(freebsd_fixtures, "panic__unknown__amd64__9.txt")
    moved = re.sub(r"0x[0-9a-f]{8,}", lambda m: hex(int(m.group(0), 16) + 0x1000), text).replace("100012", "100099")
    first, second = parse_panics(text)[0], parse_panics(moved)[0]
    assert first.signature == second.signature
    others = {parse_panics(_read(freebsd_fixtures, n))[0].signature for n in SYZKALLER_REPORTS}
    assert len(others) == len(SYZKALLER_REPORTS)


# --- console and boot -----------------------------------------------------------------------------------------


def test_boot_12_2_arm64_has_all_three_phases(freebsd_fixtures: Path) -> None:
    events = scan_console(_read(freebsd_fixtures, "boot__12.2-RELEASE__arm64__1.txt"))
    (boot,) = boots(events)
    assert [p.name for p in boot.phases] == ["loader", "kernel", "userland"]
    assert boot.kernel is not None and boot.kernel.line_no == 62
    assert boot.root is not None and boot.root.fields["source"] == "ufs:/dev/ufs/rootfs"
    assert boot.banner is not None
    assert boot.banner.fields == {"release": "12.2-RELEASE", "revision": "r366954", "ident": "GENERIC", "arch": "arm64"}
    kinds = [e.kind for e in events]
    assert kinds.index(EventKind.LOADER_HIT_ENTER) < kinds.index(EventKind.LOADER_BOOTING) < kinds.index(EventKind.BOOT)


def test_boot_12_2_arm64_phase_durations_from_read_times(freebsd_fixtures: Path) -> None:
    """Fed line by line with a known clock (line n read at time n), each phase lasts its line distance."""
    from harness.parse.scanner import ConsoleScanner

    scanner = ConsoleScanner()
    for n, line in enumerate(_read(freebsd_fixtures, "boot__12.2-RELEASE__arm64__1.txt").splitlines(), start=1):
        scanner.feed(line + "\r\n", float(n))
    (boot,) = boots(scanner.events)
    assert {p.name: p.duration for p in boot.phases} == {
        "loader": 62.0 - 30.0,
        "kernel": 147.0 - 62.0,
        "userland": 273.0 - 147.0,
    }


def test_boot_13_0_menu_excerpt(freebsd_fixtures: Path) -> None:
    events = scan_console(_read(freebsd_fixtures, "boot__13.0-RELEASE__amd64__1.txt"))
    kinds = [e.kind for e in events]
    assert EventKind.LOADER_MENU in kinds and EventKind.LOADER_LOADING_KERNEL in kinds
    autoboot = next(e for e in events if e.kind is EventKind.LOADER_AUTOBOOT)
    assert autoboot.fields["seconds"] == "0"
    banner = next(e for e in events if e.kind is EventKind.BANNER_VERSION)
    assert banner.fields["branch"] == "releng/13.0"
    assert banner.fields["revision"] == "releng/13.0-n244733-ea31abc261f"
    assert banner.fields["ident"] == "GENERIC" and banner.fields["arch"] == "amd64"
    (boot,) = boots(events)
    assert [p.name for p in boot.phases] == ["loader"] and not boot.complete


def test_boot_13_0_device_probe_excerpt_has_no_milestones(freebsd_fixtures: Path) -> None:
    assert scan_console(_read(freebsd_fixtures, "boot__13.0-RELEASE__amd64__2.txt")) == []


def test_boot_10_1_mountroot_failure(freebsd_fixtures: Path) -> None:
    events = scan_console(_read(freebsd_fixtures, "boot__10.1-RELEASE__amd64__1.txt"))
    failed = next(e for e in events if e.kind is EventKind.MOUNT_ROOT_FAILED)
    assert failed.fields == {"source": "ufs:/dev/gpt/rootfs", "error": "19"}
    assert events[0].kind is EventKind.MOUNT_ROOT


def test_boot_13_1_arm64_loader_banner(freebsd_fixtures: Path) -> None:
    events = scan_console(_read(freebsd_fixtures, "boot__13.1-RELEASE__arm64__1.txt"))
    assert [(e.kind, e.fields) for e in events] == [(EventKind.LOADER_BANNER, {"arch": "arm64"})]


def test_boot_14_0_arm64_failed_handoff_never_reaches_kernel(freebsd_fixtures: Path) -> None:
    events = scan_console(_read(freebsd_fixtures, "boot__14.0-CURRENT__arm64__1.txt"))
    assert events[0].kind is EventKind.LOADER_LOADING_KERNEL
    assert EventKind.BOOT not in {e.kind for e in events}


def test_console_login_transcript(freebsd_fixtures: Path) -> None:
    text = _read(freebsd_fixtures, "console-login__13.2-RELEASE__amd64__1.txt")
    events = scan_console(text)
    assert [e.kind for e in events][:1] == [EventKind.LOGIN] and events[0].line_no == 7
    assert EventKind.LOADER_MENU not in {e.kind for e in events}  # the motd's "Welcome to FreeBSD!" is not the menu
    assert parse_uname(text).revision == "releng/13.2-n254617-525ecfdad597"


# --- DDB sessions ---------------------------------------------------------------------------------------------


def test_ddb_session_commands_and_tables(freebsd_fixtures: Path) -> None:
    session = parse_ddb_session(_read(freebsd_fixtures, "ddb__unknown__amd64__1.txt"))
    assert [c.command for c in session.commands] == [
        "set $lines = 0",
        "set $maxwidth = 0",
        "show registers",
        "show proc",
        "ps",
        "show all locks",
        "show page",
        "show malloc",
        "show uma",
    ]
    registers = session.find("show registers")[0].parsed
    assert registers["rip"] == 0xFFFFFFFF81665ABB and registers["rbx"] == 0 and registers["cs"] == 0x20
    page = session.find("show page")[0].parsed
    assert page["v_wire_count"] == 91128 and page["v_free_count"] == 137621 and len(page) == 9
    uma = {row.name: row for row in session.find("show uma")[0].parsed}
    assert uma["THREAD"].values == {
        "Size": 1792,
        "Used": 90,
        "Free": 9,
        "Requests": 90,
        "Sleeps": 0,
        "Bucket": 8,
        "Total Mem": 177408,
        "XFree": 0,
    }
    assert uma["VM OBJECT"].values["Requests"] == 11315
    malloc = {row.name: row for row in session.find("show malloc")[0].parsed}
    assert malloc["sysctloid"].values == {"InUse": 26358, "MemUse": 1545 * 1024, "Requests": 26393}


def test_ddb_ps_processes_and_threads(freebsd_fixtures: Path) -> None:
    session = parse_ddb_session(_read(freebsd_fixtures, "ddb__unknown__amd64__1.txt"))
    processes: list[PsProcess] = session.find("ps")[0].parsed
    by_pid = {p.pid: p for p in processes}
    assert len(processes) == 36
    getty = by_pid[671]
    assert (getty.ppid, getty.state, getty.command, getty.threads[0].wmesg) == (1, "Ss+", "getty", "ttyin")
    assert getty.threads[0].wchan == 0xFFFFFE004B1704B0
    bufdaemon = by_pid[18]
    assert bufdaemon.system and [t.tid for t in bufdaemon.threads] == [100056, 100061, 100068]
    assert [t.name for t in bufdaemon.threads] == ["bufdaemon", "bufspacedaemon-0", "/ worker"]
    assert by_pid[0].command == "kernel" and by_pid[0].threads[0].wmesg == "swapin"
    assert not any(p.swapped for p in processes)


def test_ddb_big_ps(freebsd_fixtures: Path) -> None:
    session = parse_ddb_session(_read(freebsd_fixtures, "ddb__unknown__amd64__2.txt"))
    processes: list[PsProcess] = session.find("ps")[0].parsed
    assert len(processes) == 2391  # lines with four leading numbers in the transcript (grep)
    first = processes[0]
    assert (first.pid, first.ppid, first.pgrp, first.state, first.command) == (5436, 1, 720, "R", "syz-executor0682938")
    assert first.threads[0].wmesg == "" and first.threads[0].wchan is None
    assert processes[1].threads[0].wmesg == "uwait" and processes[1].threads[0].wchan == 0xFFFFFE00D4EC4A80
    assert session.find("show proc")[0].parsed.pid == 7


@pytest.mark.parametrize("n", [3, 4, 5, 6])
def test_ddb_sessions_parse(freebsd_fixtures: Path, n: int) -> None:
    session = parse_ddb_session(_read(freebsd_fixtures, f"ddb__unknown__amd64__{n}.txt"))
    keys = {c.command for c in session.commands}
    assert {"show registers", "show proc", "ps", "show malloc", "show uma"} <= keys
    proc = session.find("show proc")[0].parsed
    thread_line = parse_panics(_read(freebsd_fixtures, f"ddb__unknown__amd64__{n}.txt"))[0].thread
    assert thread_line is not None and proc.pid == thread_line[0]


def test_ddb_show_proc_i386(freebsd_fixtures: Path) -> None:
    session = parse_ddb_session(_read(freebsd_fixtures, "ddb__14.0-CURRENT__i386__1.txt"))
    proc = session.find("show proc")[0].parsed
    assert (proc.pid, proc.command, proc.fields["ABI"], proc.fields["arguments"]) == (
        54680,
        "date",
        "FreeBSD ELF32",
        "date +%s",
    )
    assert [(t.tid, t.state, t.wmesg) for t in proc.threads] == [(102765, "Run", "CPU 2")]


@pytest.mark.parametrize("name", ["ddb__13.0-CURRENT__amd64__1.txt", "ddb__13.0-CURRENT__amd64__2.txt"])
def test_ddb_x_s_version_is_kept_raw(freebsd_fixtures: Path, name: str) -> None:
    session = parse_ddb_session(_read(freebsd_fixtures, name))
    (command,) = session.commands
    assert command.command == "x/s version" and command.parsed is None
    assert "FreeBSD 13.0-CURRENT" in command.output[0]


# --- vmstat, sysctl, uname, procstat --------------------------------------------------------------------------


def test_vmstat_z_14(freebsd_fixtures: Path) -> None:
    table = parse_vmstat_z(_read(freebsd_fixtures, "vmstat-z__14.0-CURRENT__amd64__1.txt"))
    assert table.has_header and table.has_xdomain and len(table.rows) == 16
    bucket = table.get("128 Bucket")
    assert bucket is not None and (bucket.requests, bucket.fail, bucket.sleep) == (2105, 10295, 0)
    slabs = table.get("UMA Slabs 0")
    assert slabs is not None and (slabs.size, slabs.used) == (80, 17616)


def test_vmstat_z_older_seven_numbers(freebsd_fixtures: Path) -> None:
    table = parse_vmstat_z(_read(freebsd_fixtures, "vmstat-z__unknown__amd64__1.txt"))
    assert not table.has_header and not table.has_xdomain and len(table.rows) == 18
    assert table.get("16") is not None and table.get("16").requests == 390841  # type: ignore[union-attr]
    vm_object = table.get("VM OBJECT")
    assert vm_object is not None and (vm_object.size, vm_object.used, vm_object.free) == (256, 5749, 116)
    assert table.get("vmem btag").fail == 155  # type: ignore[union-attr]


def test_vmstat_m(freebsd_fixtures: Path) -> None:
    rows = parse_vmstat_m(_read(freebsd_fixtures, "vmstat-m__unknown__amd64__1.txt"))
    assert len(rows) == 21
    by_type = {r.type: r for r in rows}
    assert (by_type["CAM I/O Scheduler"].in_use, by_type["CAM I/O Scheduler"].sizes) == (47, (128,))
    assert by_type["CAM CCB"].requests == 2206779846
    assert by_type["CAM queue"].memuse_kib == 1518 and len(by_type["CAM queue"].sizes) == 10


def test_vmstat_s(freebsd_fixtures: Path) -> None:
    stats = parse_vmstat_s(_read(freebsd_fixtures, "vmstat-s__14.0-CURRENT__amd64__1.txt"))
    assert len(stats.by_text) == 22
    assert stats.by_name["v_kthreads"] == 47 and stats.by_name["v_forks"] == 1567
    assert stats.by_name["v_swappgsout"] == 0 and stats.by_name["v_cow_faults"] == 76094


def test_vmstat_interval(freebsd_fixtures: Path) -> None:
    rows = parse_vmstat_interval(_read(freebsd_fixtures, "vmstat-interval__unknown__unknown__1.txt"))
    assert len(rows) == 2
    assert rows[0].values["avm"] == 607119396864 and rows[0].values["fre"] == 5717385216
    assert (rows[1].values["sy"], rows[1].values["cpu_sy"], rows[1].values["id"]) == (1650, 3, 96)
    assert rows[0].disks == {}


def test_sysctl_a_12_1(freebsd_fixtures: Path) -> None:
    out = parse_sysctl(_read(freebsd_fixtures, "sysctl-a__12.1-RELEASE__amd64__1.txt"))
    assert out.int("kern.kstack_pages") == 4
    assert out.int("vm.kstack_cache_size") == 128
    assert "vm.kstacks" in out
    assert out.get("kern.version") == "FreeBSD 12.1-RELEASE r354233 GENERIC"
    conftxt = out.get("kern.conftxt")
    assert conftxt is not None and "ident\tGENERIC" in conftxt and "options\tSYSVSEM" in conftxt
    assert out.values["kern.clockrate"].as_struct()["hz"] == "100"
    assert out.int("kern.threads.max_threads_per_proc") == 1500
    assert out.int("vm.swap_enabled") == 1


def test_sysctl_excerpt_arm64_names_with_spaces(freebsd_fixtures: Path) -> None:
    out = parse_sysctl(_read(freebsd_fixtures, "sysctl-excerpt__12.2-RELEASE__arm64__1.txt"))
    assert out.int("kern.eventtimer.et.ARM MPCore Eventtimer.frequency") == 19200000
    assert out.int("vm.max_kernel_address") - out.int("vm.min_kernel_address") == 549755813888  # type: ignore[operator]
    assert out.get("hw.machine_arch") == "aarch64" and out.int("hw.pagesize") == 4096


UNAME: dict[str, tuple[str, str, str | None, str | None, str | None]] = {
    "uname-a__10.1-RELEASE-p10__amd64__1.txt": ("10.1-RELEASE-p10", "amd64", None, None, "GENERIC"),
    "uname-a__12.1-RELEASE__amd64__1.txt": ("12.1-RELEASE", "amd64", None, "r354233", "GENERIC"),
    "uname-a__12.2-RELEASE__arm64__1.txt": ("12.2-RELEASE", "arm64", None, "r366954", "GENERIC"),
    "uname-a__13.2-RELEASE__amd64__1.txt": (
        "13.2-RELEASE",
        "amd64",
        "releng/13.2",
        "releng/13.2-n254617-525ecfdad597",
        "GENERIC",
    ),
    "uname-a__14.0-CURRENT__amd64__1.txt": ("14.0-CURRENT", "amd64", "main", "main-n262122-2ef2c26f3f13", "GENERIC"),
    "uname-a__15.0-CURRENT__amd64__1.txt": ("15.0-CURRENT", "amd64", "main", "main-n266202-559a218c9b25", "GENERIC"),
    "uname-a__15.1-RELEASE__amd64__1.txt": (
        "15.1-RELEASE",
        "amd64",
        "releng/15.1",
        "releng/15.1-n283562-96841ea08dcf",
        "GENERIC",
    ),
}


@pytest.mark.parametrize("name", sorted(UNAME))
def test_uname(freebsd_fixtures: Path, name: str) -> None:
    found = parse_uname(_read(freebsd_fixtures, name))
    assert (found.release, found.machine, found.branch, found.revision, found.ident) == UNAME[name]


def test_uname_snrmp_has_no_version(freebsd_fixtures: Path) -> None:
    first, second = parse_uname_all(_read(freebsd_fixtures, "uname-a__12.2-RELEASE__arm64__1.txt"))
    assert (first.processor, first.version) == ("aarch64", None)
    assert second.processor == "aarch64" and second.ident == "GENERIC"


def test_nextboot_transcript_custom_kernel(freebsd_fixtures: Path) -> None:
    text = _read(freebsd_fixtures, "nextboot__15.1-RELEASE__amd64__1.txt")
    assert parse_uname(text).ident == "CLASEKERN"
    sysctls = parse_sysctl(text.split("# kldstat")[0].split("# uname -i")[1].split("\n", 2)[2])
    assert sysctls.get("kern.bootfile") == "/boot/CLASEKERN/kernel" and sysctls.get("kern.ident") == "CLASEKERN"


def test_procstat_kk(freebsd_fixtures: Path) -> None:
    stacks = parse_procstat_kstack(_read(freebsd_fixtures, "procstat-kk__unknown__amd64__1.txt"))
    assert len(stacks) == 7
    sol = stacks[2]
    assert (sol.pid, sol.tid, sol.command, sol.thread_name) == (50, 100363, "zfskern", "solthread 0xfffffff")
    assert sol.frames[0] == ("mi_switch", 0xE2) and sol.functions[-1] == "fork_trampoline"
    assert stacks[4].thread_name == "arc_dnlc_evicts_thr"


# --- coverage: every shared fixture has a golden test ---------------------------------------------------------


def test_every_shared_fixture_is_covered(freebsd_fixtures: Path) -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    names = sorted(p.name for p in freebsd_fixtures.glob("*.txt"))
    covered = set(re.findall(r'"([\w.-]+__[\w.-]+__\w+__\d+\.txt)"', source))
    covered |= {n for n in names if n.startswith("panic__unknown__amd64__") or n.startswith("ddb__unknown__amd64__")}
    missing = [n for n in names if n not in covered]
    assert missing == []


def test_every_shared_fixture_parses_as_a_console_log(freebsd_fixtures: Path) -> None:
    """Any transcript is console text: the scanner and the panic cutter take each one without error."""
    for path in sorted(freebsd_fixtures.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        scan_console(text)
        parse_panics(text)
