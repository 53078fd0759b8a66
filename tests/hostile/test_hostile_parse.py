"""`harness parse KIND FILE` on hostile input (docs/reviews/hostile-input.md, appendix A.2).

Every kind on every hostile input ends with 0 (records) or 2 and one ``harness: error: line N: …`` line, never a
traceback; an endless input or a 20 MB line is bounded; a closed or full standard output keeps the code or is one
line. DDB numbers cut short (``pcb: 0x``, the fuzz test's find) are ParseErrors like any other malformed line.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from harness.parse.kinds import KINDS
from tests.support.cli import (
    assert_no_traceback,
    assert_one_line_error,
    run_harness,
    run_harness_reader_gone,
)
from tests.support.inproc import Harness

HOSTILE: dict[str, bytes] = {
    "empty": b"",
    "binary garbage": random.Random(1089).randbytes(64 * 1024),
    "invalid utf-8": b"kern.ostype: FreeBSD\xff\xfe\n\xc3\x28 panic: \xa0\xa1\n",
    "NUL bytes": b"kern.ostype: Free\x00BSD\n\x00\x00\npanic: \x00\n",
    "ANSI/control chars": b"\x1b[1mkern.ostype\x1b[0m: FreeBSD\x07\x08\x1b]0;title\x07\x9b\npanic: boom\n",
}
#: Kinds that find nothing (rather than refuse) in text that is not theirs.
LENIENT = {"console", "boot", "panic"}
THREAD = (
    "Thread 100123 at 0xfffff80012345000:\n proc (pid 812): 0xfffff80011111000\n name: kstackd\n"
    " pcb: 0xfffffe0082a50cc0\n stack: 0xfffffe0082a4d000-0xfffffe0082a50fff\n flags: 0x4  pflags: 0\n"
    " state: RUNNING (CPU 1)\n priority: 120\n"
)
HEX_FIELDS = ("0xfffff80012345000", "0xfffff80011111000", "0xfffffe0082a50cc0", "0xfffffe0082a4d000", "0x4")


@pytest.fixture(autouse=True)
def _scratch_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("json_flag", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("input_name", sorted(HOSTILE))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_on_hostile_input(
    kind: str, input_name: str, json_flag: bool, tmp_path: Path, harness: Harness
) -> None:
    """A.2 matrix: 0 or 2 with one line naming the line, never a traceback; control characters never printed."""
    path = tmp_path / "input.txt"
    path.write_bytes(HOSTILE[input_name])
    result = harness(["parse", kind, str(path), *(["--json"] if json_flag else [])])
    if kind in LENIENT:
        assert_no_traceback(result, 0)
    elif result.code == 2:
        assert_one_line_error(result, 2, mentions=None if input_name == "empty" else "line")
    else:
        assert_no_traceback(result, 0)
    for ch in "\x00\x07\x08\x1b\x9b":
        assert ch not in result.stdout + result.stderr, (ch, str(result))


@pytest.mark.parametrize("kind", ["sysctl", "ddb-bt"])
def test_a_20_mb_line_is_cut_in_the_error(kind: str, tmp_path: Path, harness: Harness) -> None:
    """A.2 #9-13 and F15: the error names the line but does not repeat 20 MB of it."""
    path = tmp_path / "huge_line.txt"
    path.write_bytes(b"A" * 20_000_000 + b"\n")
    result = harness(["parse", kind, str(path)])
    assert_one_line_error(result, 2)
    assert len(result.stderr) < 1000, len(result.stderr)
    if "AAAA" in result.stderr:
        assert "[cut " in result.stderr


@pytest.mark.parametrize("field", HEX_FIELDS)
def test_ddb_show_thread_with_a_number_cut_short(field: str, tmp_path: Path, harness: Harness) -> None:
    """The DDB fuzz test's find: ``pcb: 0x`` raised ValueError; every hex field cut to ``0x`` is a ParseError."""
    path = tmp_path / "thread.txt"
    path.write_text(THREAD.replace(field, "0x", 1))
    result = harness(["parse", "ddb-show-thread", str(path)])
    if result.code == 2:
        assert_one_line_error(result, 2, mentions="line")
    else:
        assert_no_traceback(result, 0)


def test_ddb_show_thread_pcb_0x_is_a_parse_error() -> None:
    from harness.errors import ParseError
    from harness.parse.ddb import parse_command_output

    with pytest.raises(ParseError):
        parse_command_output("show thread", THREAD.replace("pcb: 0xfffffe0082a50cc0", "pcb: 0x"))


def test_a_number_wider_than_64_bits_is_a_parse_error(tmp_path: Path, harness: Harness) -> None:
    path = tmp_path / "vmstat.txt"
    header = "ITEM                   SIZE  LIMIT     USED     FREE      REQ     FAIL SLEEP XDOMAIN\n\n"
    path.write_text(header + f"kstack_cache:         16384,      0,       {10**400},      10,      47,   0,   0,   0\n")
    result = harness(["parse", "vmstat-z", str(path)])
    assert_one_line_error(result, 2)


def test_A2_27_F_dev_zero_is_bounded(tmp_path: Path) -> None:
    """A.2 #27: /dev/zero read whole was a MemoryError (or all the machine's memory); now one line, exit 2."""
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    # Under a 2 GB address-space limit, as the review ran it: a harness that reads without bound must fail here
    # (MemoryError), not take the shared machine's memory.
    prlimit = shutil.which("prlimit")
    prefix = [prlimit, "--as=2000000000"] if prlimit else []
    result = run_harness(["parse", "console", "/dev/zero"], cwd=tmp_path, prefix=prefix)
    assert_one_line_error(result, 2, mentions="larger than")


def test_A2_30_F_stdout_on_a_full_disk_is_one_line(tmp_path: Path) -> None:
    """A.2 #30: writing the records to /dev/full was an OSError traceback."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    path = tmp_path / "sysctl.txt"
    path.write_text("".join(f"kern.x{n}: {n}\n" for n in range(5000)))
    result = run_harness(["parse", "sysctl", str(path)], cwd=tmp_path, stdout_to=Path("/dev/full"))
    assert_one_line_error(result, 2, mentions="cannot write")


def test_A2_29_a_reader_that_stops_early_keeps_exit_0(tmp_path: Path) -> None:
    path = tmp_path / "sysctl.txt"
    path.write_text("".join(f"kern.x{n}: {n}\n" for n in range(5_000)))
    result = run_harness_reader_gone(["parse", "sysctl", str(path)], cwd=tmp_path)
    assert_no_traceback(result, 0)
    assert result.stderr == "", result.stderr


@pytest.mark.parametrize(
    ("case_id", "argv", "mentions"),
    [
        ("A2-03 nonexistent file", ["parse", "console", "/nonexistent/x.txt"], "cannot read"),
        ("A2-04 directory as file", ["parse", "sysctl", "."], "cannot read"),
    ],
)
def test_unreadable_inputs(case_id: str, argv: list[str], mentions: str, harness: Harness) -> None:
    assert_one_line_error(harness(argv), 2, mentions=mentions)
