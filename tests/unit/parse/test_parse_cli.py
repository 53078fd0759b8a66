"""`harness parse KIND FILE` and `harness triage CONSOLE_LOG`: output, stdin, JSON, and one-line errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from harness.cli import main as cli_main
from harness.errors import ExitCode
from harness.parse.kinds import KINDS

PANIC_LOG = """\
login: panic: vm_thread_new: kstack allocation failed
cpuid = 0
time = 1700000000
KDB: stack backtrace:
db_trace_self_wrapper() at db_trace_self_wrapper+0x2b/frame 0xfffffe0082a50540
vpanic() at vpanic+0x151/frame 0xfffffe0082a50590
panic() at panic+0x43/frame 0xfffffe0082a505f0
vm_thread_new() at vm_thread_new+0x1b2/frame 0xfffffe0082a50650
KDB: enter: panic
[ thread pid 812 tid 100123 ]
Stopped at      kdb_enter+0x37: movq    $0,0x10b29f6(%rip)
db>
"""


def test_triage_lists_each_crash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "console.log"
    log.write_text("boot noise\n" + PANIC_LOG + "---<<BOOT>>---\nFatal trap 12: page fault while in kernel mode\n")
    assert cli_main.main(["triage", str(log), "--json"]) == ExitCode.KERNEL_CRASH
    crashes = json.loads(capsys.readouterr().out)
    assert [c["title"] for c in crashes] == [
        "panic: vm_thread_new: kstack allocation failed",
        "Fatal trap NUM: page fault while in kernel mode",
    ]
    assert crashes[0]["first_line"] == 2 and crashes[0]["thread"] == [812, 100123]
    assert crashes[0]["lines"][0].startswith("login: panic:")
    assert cli_main.main(["triage", str(log)]) == ExitCode.KERNEL_CRASH
    text = capsys.readouterr().out
    assert "crash 1: panic: vm_thread_new: kstack allocation failed" in text and "| cpuid = 0" in text


def test_triage_of_a_clean_log_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "console.log"
    log.write_text("---<<BOOT>>---\nFreeBSD/SMP: 2 CPUs\nlogin: \n")
    assert cli_main.main(["triage", str(log)]) == ExitCode.OK
    assert "no crash found" in capsys.readouterr().out


def test_parse_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    zone = "kstack_cache:         16384,      0,     140,      60,    9731,   0,   0,   0\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(zone))
    assert cli_main.main(["parse", "vmstat-z", "-", "--json"]) == ExitCode.OK
    table = json.loads(capsys.readouterr().out)
    assert table["rows"][0]["name"] == "kstack_cache" and table["rows"][0]["used"] == 140


def test_parse_bad_input_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "z.txt"
    bad.write_text("UMA Kegs:               384,      0,     17\n")
    assert cli_main.main(["parse", "vmstat-z", str(bad)]) == ExitCode.INFRA
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 1:" in err and "Traceback" not in err


def test_parse_missing_file_and_unknown_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["parse", "uname", "/nonexistent/file"]) == ExitCode.INFRA
    assert "cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        cli_main.main(["parse", "no-such-kind", "-"])
    assert exc.value.code == ExitCode.INFRA


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_has_text_and_json_output(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each kind answers a PANIC_LOG-shaped input with records or a one-line ParseError, never a traceback."""
    log = tmp_path / "in.txt"
    log.write_text(PANIC_LOG)
    for extra in ([], ["--json"]):
        code = cli_main.main(["parse", kind, str(log), *extra])
        captured = capsys.readouterr()
        assert code in (ExitCode.OK, ExitCode.INFRA)
        if code == ExitCode.INFRA:
            assert captured.err.startswith("harness: error: line ") or "no " in captured.err
        elif extra:
            json.loads(captured.out)


def test_parse_console_and_boot_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "boot.txt"
    log.write_text("Loading kernel...\n---<<BOOT>>---\nTrying to mount root from ufs:/dev/gpt/rootfs [rw]...\nlogin: ")
    assert cli_main.main(["parse", "boot", str(log)]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "boot 1: reached login" in out and "userland  lines 3-4" in out
    assert cli_main.main(["parse", "console", str(log)]) == ExitCode.OK
    assert "mount_root" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("kind", "says"), [("console", "no console event found"), ("boot", "no boot found"), ("panic", "no crash found")]
)
def test_log_kinds_say_when_a_log_has_nothing(
    kind: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "quiet.txt"
    log.write_text("$ ls\nbin etc usr\n")
    assert cli_main.main(["parse", kind, str(log)]) == ExitCode.OK
    assert capsys.readouterr().out == says + "\n"
    assert cli_main.main(["parse", kind, str(log), "--json"]) == ExitCode.OK
    assert json.loads(capsys.readouterr().out) == []
