"""vmstat, sysctl, uname, procstat and swapinfo parsers: malformed, truncated and garbled input gives a ParseError
naming the line (never another exception); console noise (CR/LF, ANSI) is cleaned; every parser is fuzzed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import ParseError
from harness.parse.procstat import parse_procstat_kstack, parse_swapinfo
from harness.parse.sysctl import parse_sysctl
from harness.parse.uname import parse_uname, parse_uname_all
from harness.parse.vmstat import (
    parse_vmstat_interval,
    parse_vmstat_m,
    parse_vmstat_o,
    parse_vmstat_s,
    parse_vmstat_z,
)

Z_TEXT = """\
ITEM                   SIZE  LIMIT     USED     FREE      REQ     FAILSLEEP XDOMAIN
UMA Kegs:               384,      0,     174,       0,     174,   0,   0,   0
kstack_cache:         16384,      0,     140,      60,    9731,   0,   0,   0
128 Bucket:            1024,      0,     138,      89,    2105,10295,   0,   0
"""
M_TEXT = """\
         Type InUse MemUse Requests  Size(s)
      CAM XPT   450    42K  4173986  16,32,64
CAM I/O Scheduler    47     6K       47  128
"""
O_TEXT = (
    "  RES   ACT INACT REF SHD  CM TP PATH\n"
    "  560     0     0   1   0 WB  sw \n"  # vmstat prints "%-2s " then an empty path
    "   12     3     9   2   0 WB  vn /bin/sh\n"
)
S_TEXT = """\
   172207 cpu context switches
       47 kernel threads created
     1567  fork() calls
      113 pages affected by  fork()
          cache hits (97% pos + 2% neg) system 0% per-directory
          deletions 0%, falsehits 0%, toolong 0%
"""
INTERVAL_TEXT = """\
 procs    memory    page                      disks     faults       cpu
 r  b  w  avm  fre  flt  re  pi  po   fr   sr vt0 cd0   in   sy   cs us sy id
 1  0  0 1.2G 512M 2116   0   1   0 3283  279   3   0 1396 9058 9120  4  2 92
"""
SYSCTL_TEXT = (
    "kern.ident: GENERIC\nvm.vmtotal: \nSystem wide totals computed every five seconds:\nProcesses:\t(RUNQ: 1)\n"
)
UNAME_TEXT = "FreeBSD h 14.1-RELEASE FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC amd64\n"
PROCSTAT_TEXT = (
    "  PID    TID COMM                TDNAME              KSTACK\n"
    "    0 100409 kernel              zfsvfs              mi_switch+0xe2 sleepq_wait+0x2c _sleep+0x247\n"
    "  812 100123 kstackd             -                   -\n"
)
SWAP_TEXT = "Device          1K-blocks     Used    Avail Capacity\n/dev/vtbd0p3      1048576    10240  1038336     1%\n"

PARSERS: dict[str, tuple[Callable[[str], Any], str]] = {
    "vmstat-z": (parse_vmstat_z, Z_TEXT),
    "vmstat-m": (parse_vmstat_m, M_TEXT),
    "vmstat-o": (parse_vmstat_o, O_TEXT),
    "vmstat-s": (parse_vmstat_s, S_TEXT),
    "vmstat-interval": (parse_vmstat_interval, INTERVAL_TEXT),
    "sysctl": (parse_sysctl, SYSCTL_TEXT),
    "uname": (parse_uname_all, UNAME_TEXT),
    "procstat": (parse_procstat_kstack, PROCSTAT_TEXT),
    "swapinfo": (parse_swapinfo, SWAP_TEXT),
}


def test_vmstat_z_reads_run_together_numbers_and_names() -> None:
    table = parse_vmstat_z(Z_TEXT)
    assert table.get("128 Bucket").fail == 10295  # type: ignore[union-attr]
    assert table.get("kstack_cache").size == 16384  # type: ignore[union-attr]


def test_vmstat_z_name_with_colon() -> None:
    row = parse_vmstat_z("sctp_ep: a:b:               16,      0,      1,       2,       3,   0,   0\n").rows[0]
    assert row.name == "sctp_ep: a:b" and row.requests == 3 and row.xdomain is None


def test_vmstat_z_mixed_forms_rejected() -> None:
    mixed = Z_TEXT + "VM OBJECT:              256,      0,    5749,     116,   49019,   0,   0\n"
    with pytest.raises(ParseError, match="line 5: vmstat -z rows mix"):
        parse_vmstat_z(mixed)


def test_vmstat_z_json_errors_name_the_line() -> None:
    with pytest.raises(ParseError, match="line 1"):
        parse_vmstat_z('{"memory-zone-statistics": {"zone": [{"name": "x"}]}}')
    with pytest.raises(ParseError, match="line 2"):
        parse_vmstat_z('{"a":\n ,}')


def test_vmstat_s_odd_lines() -> None:
    stats = parse_vmstat_s(S_TEXT)
    assert stats.by_name["v_forks"] == 1567 and stats.by_name["v_forkpages"] == 113
    assert stats.by_text["cache hits positive %"] == 97


def test_vmstat_interval_disks_and_human_numbers() -> None:
    (row,) = parse_vmstat_interval(INTERVAL_TEXT)
    assert row.disks == {"vt0": 3, "cd0": 0}
    assert row.values["avm"] == int(1.2 * (1 << 30)) and row.values["fre"] == 512 << 20


def test_sysctl_multiline_value_and_noise() -> None:
    out = parse_sysctl(SYSCTL_TEXT.replace("\n", "\r\n"))
    assert out.get("vm.vmtotal") == "\nSystem wide totals computed every five seconds:\nProcesses:\t(RUNQ: 1)"
    assert out.get("kern.ident") == "GENERIC"


def test_uname_with_prompt_and_ansi() -> None:
    found = parse_uname("\x1b[1mroot@h:~ #\x1b[0m uname -a\r\n" + UNAME_TEXT.replace("\n", "\r\n"))
    assert (found.branch, found.ident, found.machine) == ("releng/14.1", "GENERIC", "amd64")


def test_procstat_unreadable_stack() -> None:
    stacks = parse_procstat_kstack(PROCSTAT_TEXT)
    assert stacks[1].thread_name == "-" and stacks[1].frames == ()
    assert stacks[0].functions == ["mi_switch", "sleepq_wait", "_sleep"]


@pytest.mark.parametrize(
    ("name", "bad", "line_no"),
    [
        ("vmstat-z", Z_TEXT + "VM OBJECT:              256,      0,    57", 5),  # cut mid-line
        ("vmstat-m", M_TEXT + "      entropy     1     1K", 4),
        ("vmstat-o", O_TEXT + "  12  3  9  2  0 WB  zz /bin/sh\n", 4),
        ("vmstat-s", S_TEXT + "cpu context switches 12\n", 7),
        ("vmstat-interval", INTERVAL_TEXT + " 1  0  0 1.2G 512M 2116\n", 4),
        ("sysctl", "garbage first\nkern.ident: GENERIC\n", 1),
        ("uname", "FreeBSD h 14.1-RELEASE FreeBSD 14.1-RELEASE releng/14.1-n2676", 1),
        ("procstat", PROCSTAT_TEXT + "  812 100124 kstackd  \n", 4),
        ("swapinfo", SWAP_TEXT + "/dev/md0   1024  0\n", 3),
    ],
)
def test_malformed_input_names_the_line(name: str, bad: str, line_no: int) -> None:
    parser, good = PARSERS[name]
    parser(good)
    with pytest.raises(ParseError) as caught:
        parser(bad)
    assert caught.value.line_no == line_no and f"line {line_no}:" in str(caught.value)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_crlf_and_ansi_colour_are_cleaned(name: str) -> None:
    parser, good = PARSERS[name]
    assert parser(good) == parser("\x1b[0m" + good.replace("\n", "\r\n"))


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_empty_input_is_a_parse_error(name: str) -> None:
    parser, _ = PARSERS[name]
    with pytest.raises(ParseError):
        parser("")


def _noisy(sample: str) -> st.SearchStrategy[str]:
    """Real lines of a format, cut, duplicated and mixed with garbage."""
    lines = sample.splitlines()
    pieces = st.sampled_from(lines) | st.builds(lambda line, n: line[:n], st.sampled_from(lines), st.integers(0, 90))
    junk = st.text(alphabet="abcXYZ:,%.-()0123456789 \t\r\x1b[{}", max_size=30)
    return st.lists(pieces | junk, max_size=12).map("\n".join)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_fuzz_only_parse_errors(name: str) -> None:
    parser, sample = PARSERS[name]

    @settings(max_examples=200, deadline=None)
    @given(_noisy(sample))
    def run(text: str) -> None:
        try:
            parser(text)
        except ParseError as error:
            assert error.line_no is None or error.line_no >= 1

    run()


ZONE_NAMES = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ :-", min_size=1, max_size=24
)
COUNTS = st.integers(min_value=0, max_value=10**12)


@settings(max_examples=200)
@given(st.lists(st.tuples(ZONE_NAMES, *([COUNTS] * 8)), min_size=1, max_size=8))
def test_vmstat_z_reads_back_what_vmstat_c_prints(zones: list[tuple[Any, ...]]) -> None:
    """Rows printed with vmstat.c's format (``%-20s %6ju, %6ju,%8ju,%8ju,%8ju,%4ju,%4ju,%4ju``) parse back."""
    zones = [(name.strip(), *rest) for name, *rest in zones if name.strip()]
    if not zones:
        return
    row = "%-20s %6u, %6u,%8u,%8u,%8u,%4u,%4u,%4u\n"  # vmstat.c's printf format, kept as printf on purpose
    text = "".join(row % (z[0] + ":", *z[1:]) for z in zones)
    rows = parse_vmstat_z(text).rows
    assert [(r.name, r.size, r.limit, r.used, r.free, r.requests, r.fail, r.sleep, r.xdomain) for r in rows] == zones


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(
            COUNTS,
            COUNTS,
            COUNTS,
            st.integers(0, 999),
            st.integers(0, 999),
            st.sampled_from(["WB", "UC", "??"]),
            st.sampled_from(["df", "sw", "vn", "ph", "--"]),
            st.text(alphabet="/abc. -_", max_size=20),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_vmstat_o_reads_back_what_vmstat_c_prints(objects: list[tuple[Any, ...]]) -> None:
    """Rows printed with display_object's format (``%5ju %5ju %5ju %3d %3d %-3s %-2s %-s``) parse back."""
    row = "%5u %5u %5u %3d %3d %-3s %-2s %-s\n"  # display_object's printf format
    text = "".join(row % o for o in objects)
    rows = parse_vmstat_o(text)
    expected = [(*o[:7], o[7].strip()) for o in objects]
    assert [
        (r.resident, r.active, r.inactive, r.ref_count, r.shadow_count, r.memattr, r.type, r.path) for r in rows
    ] == expected
