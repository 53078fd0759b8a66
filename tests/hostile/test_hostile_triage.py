"""`harness triage CONSOLE_LOG` on hostile console logs (docs/reviews/hostile-input.md, appendix A.3).

A guest decides what its console says: a megabyte-long panic message, tens of thousands of panics, binary data,
escape sequences. triage ends in time with 0 (no crash) or 3 (crashes), titles cut to 120 characters, nothing
of the guest's control characters on the terminal.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.support.cli import assert_no_traceback, assert_one_line_error
from tests.support.inproc import Harness

#: The review's pathological log (A.3 #22/#23): a 1 MB panic message, then many panics and fatal traps. The
#: counts are a small part of the review's (50k/20k) to keep the suite fast; the 1 MB message is the quadratic case.
PATHOLOGICAL = (
    "panic: "
    + "A" * 1_000_000
    + "\n"
    + "panic: boom\n" * 2_000
    + "Fatal trap 12: page fault while in kernel mode\n" * 1_000
)
CASES: dict[str, tuple[bytes, int]] = {
    "A3-06 empty": (b"", 0),
    "A3-08 binary garbage": (random.Random(3).randbytes(256 * 1024), 0),
    "A3-10 invalid utf-8": (b"login: \xff\xfe\xfd\n\xc3\x28\n", 0),
    "A3-12 NUL": (b"\x00" * 1000 + b"\n", 0),
    "A3-14 ANSI": (b"\x1b[1m\x1b]0;title\x07panic: boom\x1b[0m\ncpuid = 0\n", 3),
    "A3-16 4 MB line": (b"A" * 4_000_000 + b"\n", 0),
    "A3-24 regex-stress panic line": (b"panic: 0xdeadbeef " + b"(" * 50_000 + b"\n", 3),
    "A3-22 F 1 MB panic message + 2k panics + 1k traps": (PATHOLOGICAL.encode(), 3),
    "rich markup and controls in the panic message": (b"panic: [/giant] \x1b]52;c;cHduZWQ=\x07 \x9b2J\n", 3),
}


@pytest.fixture(autouse=True)
def _scratch_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("json_flag", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("case_id", sorted(CASES))
def test_triage(case_id: str, json_flag: bool, tmp_path: Path, harness: Harness) -> None:
    content, code = CASES[case_id]
    path = tmp_path / "console.log"
    path.write_bytes(content)
    result = harness(["triage", str(path), *(["--json"] if json_flag else [])])
    assert_no_traceback(result, code)
    assert "harness: error" not in result.stderr
    for ch in "\x00\x07\x1b\x9b":
        assert ch not in result.stdout, (ch, case_id)
    if json_flag:
        reports = json.loads(result.stdout)
        assert all(len(r["title"]) <= 120 for r in reports)
    elif code == 3:
        assert all(len(line) <= 130 for line in result.stdout.splitlines() if line.startswith("crash "))


def test_a_long_panic_token_keeps_its_title(tmp_path: Path, harness: Harness) -> None:
    """F4: the title of a megabyte-long panic message is its first 120 characters, found at once."""
    path = tmp_path / "p.txt"
    path.write_text("panic: " + "A" * 1_000_000 + "\n")
    result = harness(["triage", str(path), "--json"])
    assert result.code == 3
    assert json.loads(result.stdout)[0]["title"] == "panic: " + "A" * 113


@pytest.mark.parametrize(
    ("case_id", "argv"),
    [("A3-02 nonexistent", ["triage", "/nonexistent.log"]), ("A3-03 directory", ["triage", "."])],
)
def test_unreadable_logs(case_id: str, argv: list[str], harness: Harness) -> None:
    assert_one_line_error(harness(argv), 2, mentions="cannot read")


def test_stdin_garbage(tmp_path: Path, harness: Harness) -> None:
    """A3-20: '-' reads standard input."""
    result = harness(["triage", "-"], stdin="\x00\x01garbage\n")
    assert_no_traceback(result, 0)
