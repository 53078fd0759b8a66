"""`harness analyze RUN_DIR` on hostile run directories (docs/reviews/hostile-input.md, appendix A.10).

A run directory from a CI artifact is as untrusted as a tarball: whatever its metadata.json, raw files and
planted links hold, analyze ends with the exit code the README promises (2 and one line for a bad run dir; 0/1/3
for a run it can judge, with complete reports), never a traceback, and changes nothing outside the run directory.
Each case is named by its number in the appendix; the failed ones of the review are marked ``F``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cli import (
    CliResult,
    assert_no_traceback,
    assert_one_line_error,
    outside_state,
    run_harness,
    run_harness_reader_gone,
)
from tests.support.hostile import HOLD, held_run, linux_run, linux_snapshot, make_run, nobody_prefix, set_metadata
from tests.support.inproc import Harness

REPORTS = ("results.json", "junit.xml", "report.html")


@dataclass(frozen=True)
class Case:
    """A run directory built by ``build(root, fixtures)``, the exit code analyze must end with, and whether that
    is a one-line error (else: a judged run whose three reports are complete)."""

    build: Callable[[Path, Path | None], Path]
    code: int
    error: bool
    fixtures: bool = False
    mentions: str | None = None


def _raw_metadata(content: bytes) -> Callable[[Path, Path | None], Path]:
    def build(root: Path, fixtures: Path | None) -> Path:
        run = make_run(root, "r")
        (run / "metadata.json").write_bytes(content)
        return run

    return build


def _fields(**fields: object) -> Callable[[Path, Path | None], Path]:
    def build(root: Path, fixtures: Path | None) -> Path:
        run = make_run(root, "r")
        set_metadata(run, **fields)
        return run

    return build


def _held(**fields: object) -> Callable[[Path, Path | None], Path]:
    def build(root: Path, fixtures: Path | None) -> Path:
        assert fixtures is not None
        run = held_run(root, "r", fixtures)
        set_metadata(run, **fields)
        return run

    return build


def _held_then(change: Callable[[Path], None]) -> Callable[[Path, Path | None], Path]:
    def build(root: Path, fixtures: Path | None) -> Path:
        assert fixtures is not None
        run = held_run(root, "r", fixtures)
        change(run)
        return run

    return build


def _console(text: str, guest: str = "freebsd") -> Callable[[Path, Path | None], Path]:
    def build(root: Path, fixtures: Path | None) -> Path:
        run = make_run(root, "r", {"guest": guest})
        name = "freebsd.console.raw" if guest == "freebsd" else "guest.console.raw"
        (run / name).write_text(text, encoding="utf-8")
        return run

    return build


def _linux(params: dict[str, object] | None = None, snapshot: str | None = None) -> Callable[[Path, Path | None], Path]:
    def build(root: Path, fixtures: Path | None) -> Path:
        return linux_run(root, "r", params, snapshot)

    return build


def _renamed(name: str) -> Callable[[Path, Path | None], Path]:
    def build(root: Path, fixtures: Path | None) -> Path:
        run = make_run(root, "r")
        (root / "p[").mkdir()
        return run.rename(root / "p[" / name)

    return build


def _planted_links(root: Path, fixtures: Path | None) -> Path:
    """report.html, junit.xml and parsed/<wl>/observations.json are links to files outside the run directory."""
    assert fixtures is not None
    run = held_run(root, "r", fixtures)
    victims = root / "victims"
    victims.mkdir()
    for name in ("report.html", "junit.xml", "observations.json"):
        (victims / name).write_text("precious\n")
    (run / "report.html").symlink_to(victims / "report.html")
    (run / "junit.xml").symlink_to(victims / "junit.xml")
    (run / "parsed" / HOLD).mkdir(parents=True)
    (run / "parsed" / HOLD / "observations.json").symlink_to(victims / "observations.json")
    return run


def _linked_parsed_dir(root: Path, fixtures: Path | None) -> Path:
    """parsed/ itself is a link to a directory outside."""
    assert fixtures is not None
    run = held_run(root, "r", fixtures)
    (root / "elsewhere").mkdir()
    shutil.rmtree(run / "parsed")
    (run / "parsed").symlink_to(root / "elsewhere")
    return run


def _traversal(name: str) -> Callable[[Path, Path | None], Path]:
    def build(root: Path, fixtures: Path | None) -> Path:
        (root / "outside" / "sub").mkdir(parents=True)
        target = name.replace("OUTSIDE", str(root / "outside"))
        run = make_run(root, "r")
        set_metadata(run, workloads=[{"name": target}])
        return run

    return build


def _directory_at(name: str) -> Callable[[Path, Path | None], Path]:
    def change(run: Path) -> None:
        (run / name).mkdir()

    return _held_then(change)


def _file_at_parsed(run: Path) -> None:
    shutil.rmtree(run / "parsed")
    (run / "parsed").write_text("not a directory\n")


def _plateau_stdout(run: Path) -> None:
    (run / "raw" / HOLD / "stdout.txt").write_text(f"harness: plateau threads={10**30}\n")


NESTED = b"[" * 100_000 + b"]" * 100_000
CONTROL_ERROR = "login: not seen; last console lines: \x00\x1b]0;x\x07 login: \x1b]52;c;cHduZWQ=\x07\x08\x9b"

CASES: dict[str, Case] = {
    # --- controls and checks that held in the review (they must keep holding) ---
    "A10-02 nonexistent dir": Case(lambda root, fx: root / "nonexistent" / "run", 2, True, mentions="no metadata"),
    "A10-04 empty dir": Case(lambda root, fx: Path(tempfile.mkdtemp(dir=root)), 2, True, mentions="no metadata"),
    "A10-05 valid base (control)": Case(_held(), 0, False, fixtures=True),
    "A10-07 metadata.json empty": Case(_raw_metadata(b""), 2, True, mentions="metadata.json"),
    "A10-08 metadata.json truncated": Case(_raw_metadata(b'{"guest": "free'), 2, True, mentions="metadata.json"),
    "A10-18 guest missing": Case(_fields(guest=None), 2, True, mentions="unknown guest"),
    "A10-21 arch unknown 'sparc64'": Case(_held(arch="sparc64"), 2, True, fixtures=True, mentions="sparc64"),
    "A10-30 workload unknown name": Case(_fields(workloads=[{"name": "nosuch"}]), 0, False),
    "A10-33 workload params threads=-5": Case(
        _held(workloads=[{"name": HOLD, "params": {"threads": -5}}]), 2, True, fixtures=True, mentions="negative"
    ),
    "A10-41 model kstack_pages=-1": Case(_held(model={"kstack_pages": -1}), 2, True, fixtures=True),
    "A10-50 crash title is a dict": Case(_fields(crash={"title": {"a": 1}}), 3, False),
    "A10-51 crash excerpt is a string": Case(_fields(crash={"title": "panic: x", "excerpt": "ab"}), 3, False),
    "A10-112 <script> in the console panic": Case(_console("panic: <script>alert(1)</script>\ncpuid = 0\n"), 3, False),
    # --- F8: metadata.json of the wrong shape ---
    "A10-09 F metadata.json is []": Case(_raw_metadata(b"[]"), 2, True, mentions="not an object"),
    "A10-10 F metadata.json is a string": Case(_raw_metadata(b'"freebsd"'), 2, True, mentions="not an object"),
    "A10-11 F metadata.json is null": Case(_raw_metadata(b"null"), 2, True, mentions="not an object"),
    "A10-12 F metadata.json is 42": Case(_raw_metadata(b"42"), 2, True, mentions="not an object"),
    "A10-13 F metadata.json invalid UTF-8": Case(_raw_metadata(b'{"guest": "\xff\xfe"}'), 2, True),
    "A10-14 F metadata.json binary garbage": Case(_raw_metadata(bytes(range(256)) * 64), 2, True),
    "A10-16 F metadata.json deeply nested": Case(_raw_metadata(NESTED), 2, True, mentions="metadata.json"),
    "A10-24 F workloads is a string": Case(_fields(workloads="thread-hold"), 2, True, mentions="workloads"),
    "A10-25 F workloads is a dict": Case(_fields(workloads={"name": HOLD}), 2, True, mentions="workloads"),
    "A10-27 F workload entry is a string": Case(_fields(workloads=[HOLD]), 2, True, mentions="workload 0"),
    "A10-28 F workload entry without name": Case(_fields(workloads=[{"params": {}}]), 2, True, mentions="name"),
    "A10-31 F workload params is a string": Case(
        _fields(workloads=[{"name": HOLD, "params": "threads=1"}]), 2, True, mentions="params"
    ),
    "A10-34 F workload params threads=10**30": Case(
        _held(workloads=[{"name": HOLD, "params": {"threads": 10**30}}]), 2, True, fixtures=True, mentions="threads"
    ),
    "A10-37 F model is a list": Case(_fields(model=[1]), 2, True, mentions="model"),
    "A10-38 F model is a string": Case(_fields(model="kstack_pages=4"), 2, True, mentions="model"),
    "A10-46 F model threads=10**30": Case(_held(model={"threads": 10**30}), 0, False, fixtures=True),
    "A10-48 F crash is a string": Case(_fields(crash="panic: x"), 2, True, mentions="crash"),
    "A10-49 F crash without title": Case(_fields(crash={"excerpt": []}), 2, True, mentions="crash"),
    "A10-52 F crash excerpt has non-strings": Case(
        _fields(crash={"title": "panic: x", "excerpt": [1, None]}), 3, False
    ),
    "A10-53 F created is 5": Case(_fields(created=5), 0, False),
    "A10-70 F stdout.txt plateau threads=10**30": Case(_held_then(_plateau_stdout), 0, False, fixtures=True),
    "A10-74 F parsed is a file": Case(_held_then(_file_at_parsed), 2, True, fixtures=True, mentions="parsed"),
    "A10-75 F results.json is a directory": Case(_directory_at("results.json"), 2, True, fixtures=True),
    "A10-76 F report.html is a directory": Case(_directory_at("report.html"), 2, True, fixtures=True),
    # --- F1: rich markup in guest-derived strings ---
    "A10-91 F run dir path containing '[/b]'": Case(_renamed("b]"), 0, False),
    "A10-92 F console panic containing '[/giant]'": Case(
        _console("panic: mutex [/giant] not owned\ncpuid = 0\n"), 3, False
    ),
    "A10-93 F workload status '[/x]'": Case(
        _fields(workloads=[{"name": "nosuch", "status": "[/x] [bold]x"}]), 2, True, mentions="status"
    ),
    "A10-108 F linuxtest 'Kernel panic - not syncing: [/x] boom'": Case(
        _console("Kernel panic - not syncing: [/x] boom\n", guest="linuxtest"), 3, False
    ),
    # --- Linux guest numbers ---
    "A10-98 F linuxtest snapshot huge values": Case(
        _linux(snapshot=linux_snapshot(kstack=10**400, meminfo=10**400, tasks=10**400)), 2, True
    ),
    "A10-106 F linuxtest params threads='abc'": Case(_linux({"threads": "abc"}), 2, True, mentions="threads"),
    # --- F5/S1: reading a stored run never writes outside it ---
    "A10-109 F planted symlinks (report.html, junit.xml, observations.json)": Case(_planted_links, 0, False, True),
    "A10-109b parsed/ is a link to a directory outside": Case(_linked_parsed_dir, 2, True, True, "symbolic link"),
    "A10-110 F workload name is an absolute path": Case(_traversal("OUTSIDE"), 2, True, mentions="plain name"),
    "A10-110b F workload name climbs out with ..": Case(_traversal("../../outside"), 2, True, mentions="plain name"),
    # --- F6/F15: control characters from the guest ---
    "A10-111 F metadata error with ESC/BEL/NUL": Case(_fields(error=CONTROL_ERROR), 2, False),
    # JSON null in the file (set_metadata's None removes a key instead).
    "A10-26 F workloads is null": Case(_raw_metadata(b'{"guest": "freebsd", "workloads": null}'), 0, False),
}


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("HARNESS_CONFIG", raising=False)
    root = tmp_path / "w"
    root.mkdir()
    return root


def _judged(result: CliResult, run: Path, code: int) -> None:
    """A run analyze could judge: its exit code, no error line, and all three reports complete and well-formed."""
    assert_no_traceback(result, code)
    assert "harness: error:" not in result.stderr, str(result)
    for name in REPORTS:
        assert (run / name).is_file() and not (run / name).is_symlink(), name
    assert json.loads((run / "results.json").read_text())["exit_code"] == code
    ET.parse(run / "junit.xml")  # raises on a malformed document (raw control characters, F6)


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_analyze(case_id: str, scratch: Path, request: pytest.FixtureRequest, harness: Harness) -> None:
    case = CASES[case_id]
    fixtures = request.getfixturevalue("freebsd_fixtures") if case.fixtures else None
    run = case.build(scratch, fixtures)
    before = outside_state(scratch, run)
    reports_before = {name: (run / name).exists() for name in REPORTS}
    result = harness(["analyze", str(run)])
    if case.error:
        assert_one_line_error(result, case.code, mentions=case.mentions)
        # Nothing half-written: a bad run dir gets no new report (F8, F9).
        assert {name: (run / name).is_file() for name in REPORTS} == {
            name: reports_before[name] and (run / name).is_file() for name in REPORTS
        }
    else:
        _judged(result, run, case.code)
    assert outside_state(scratch, run) == before, "analyze changed something outside the run directory"


def test_guest_text_is_printed_as_data(scratch: Path, harness: Harness) -> None:
    """F1: the markup-like text of a panic title, a status and the run-dir path is printed as it is."""
    run = _console("panic: mutex [/giant] not owned [bold]x[/bold]\ncpuid = 0\n")(scratch, None)
    set_metadata(run, error="ssh: [sshd] [/x] refused")
    result = harness(["analyze", str(run)])
    assert result.code == 3, str(result)
    assert "[/giant] not owned [bold]x[/bold]" in result.stdout
    assert "[sshd] [/x]" in result.stdout


def test_control_characters_never_reach_terminal_or_junit(scratch: Path, harness: Harness) -> None:
    """F6/F15: ESC, BEL, NUL, backspace and C1 from the console are shown escaped, and junit.xml parses."""
    run = make_run(scratch, "r")
    set_metadata(run, error=CONTROL_ERROR + "x" * 3_000_000)
    result = harness(["analyze", str(run)])
    assert result.code == 2
    for ch in "\x00\x1b\x07\x08\x9b":
        assert ch not in result.stdout + result.stderr
        assert ch not in (run / "junit.xml").read_text()
    message = ET.parse(run / "junit.xml").getroot().find(".//error")
    assert message is not None and "\\x1b]0;x\\x07" in message.get("message", "")
    assert "[cut " in message.get("message", "") and len(message.get("message", "")) < 3000
    assert max(len(line) for line in result.stdout.splitlines()) < 3000  # the 3 MB error is cut with a note


def test_planted_links_are_replaced_not_followed(scratch: Path, freebsd_fixtures: Path, harness: Harness) -> None:
    run = _planted_links(scratch, freebsd_fixtures)
    result = harness(["analyze", str(run)])
    assert_no_traceback(result, 0)
    for name in ("report.html", "junit.xml", "observations.json"):
        assert (scratch / "victims" / name).read_text() == "precious\n"
    assert not (run / "parsed" / HOLD / "observations.json").is_symlink()
    assert json.loads((run / "parsed" / HOLD / "observations.json").read_text())


def test_reports_and_run_files_are_owner_only(scratch: Path, freebsd_fixtures: Path, harness: Harness) -> None:
    """S7: what analyze writes into a run directory is 0600, its directories 0700."""
    run = held_run(scratch, "r", freebsd_fixtures)
    assert harness(["analyze", str(run)]).code == 0
    for name in (*REPORTS, "metadata.json", f"parsed/{HOLD}/observations.json"):
        assert (run / name).stat().st_mode & 0o777 == 0o600, name
    for name in ("", "raw", "parsed", f"parsed/{HOLD}"):
        assert (run / name).stat().st_mode & 0o777 == 0o700, name


@pytest.mark.parametrize(
    ("case_id", "crash", "code"), [("A10-113 F crashed run | true", True, 3), ("passed", False, 0)]
)
def test_exit_code_survives_a_closed_pipe(case_id: str, crash: bool, code: int, tmp_path: Path) -> None:
    """F3: `harness analyze DIR | true` keeps 0/3 (rich's own broken-pipe handler exited 1, silently)."""
    run = make_run(tmp_path, "r", {"workloads": [{"name": "nosuch", "status": "failed"}]})
    if crash:
        (run / "freebsd.console.raw").write_text("panic: boom\ncpuid = 0\n")
    result = run_harness_reader_gone(["analyze", str(run)], cwd=tmp_path)
    assert_no_traceback(result, code)
    assert "harness: error" not in result.stderr


def test_A10_90_F_a_run_dir_it_cannot_write_is_one_line(tmp_path: Path) -> None:
    """A10-90 F: the run dir is readable but not writable by the user (as nobody when the tests run as root)."""
    prefix = nobody_prefix()
    if prefix is None:
        pytest.skip(
            "running as root, and user nobody cannot run this interpreter through setpriv (a Python under /root?): "
            "permissions cannot be taken away"
        )
    root = Path(tempfile.mkdtemp())
    try:
        run = make_run(root, "r", {"workloads": [{"name": "nosuch"}]})
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
        result = run_harness(["analyze", str(run)], cwd=root, env={"HARNESS_CACHE_DIR": str(root / "c")}, prefix=prefix)
        assert_one_line_error(result, 2, mentions="cannot write")
        assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before
    finally:
        shutil.rmtree(root, ignore_errors=True)
