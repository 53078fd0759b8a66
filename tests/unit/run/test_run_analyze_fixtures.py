"""`harness analyze` on run directories assembled, at test time in tmp_path, from the real FreeBSD transcripts
(../shared/fixtures/freebsd through the freebsd_fixtures fixture; nothing is copied into the project)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from harness.cli.main import main
from harness.parse.panic import parse_panics
from harness.report import junit
from harness.run.analysis import analyze
from harness.run.rundir import RunDir
from harness.validate.verdicts import Status

SYSCTL_12_1 = "sysctl-a__12.1-RELEASE__amd64__1.txt"


def _run_dir(root: Path, meta: dict[str, Any]) -> RunDir:
    base = {"guest": "freebsd", "arch": "amd64", "workloads": [{"name": "thread-hold", "params": {"threads": 256}}]}
    return RunDir.create(root, "fixture-run", {**base, **meta}, ["harness", "run"])


@pytest.fixture
def run_12_1(freebsd_fixtures: Path, tmp_path: Path) -> RunDir:
    """A 12.1-RELEASE amd64 run: its real `sysctl -a` as the fingerprint and as thread-hold's `before` snapshot."""
    sysctl = (freebsd_fixtures / SYSCTL_12_1).read_text()
    run = _run_dir(tmp_path, {"release": "12.1-RELEASE"})
    run.write_raw(sysctl, "fingerprint", "sysctl.txt")
    run.write_raw(sysctl, "thread-hold", "before", "sysctl.txt")
    return run


def _by_name(verdicts: list[Any]) -> dict[str, Any]:
    return {f"{v.name}@{v.phase}": v for v in verdicts}


def test_12_1_sysctl_is_fingerprinted_g0_list_and_judged(run_12_1: RunDir) -> None:
    result = analyze(run_12_1, offline=True)
    assert result.generation == "G0-list"
    verdicts = _by_name(result.verdicts)
    # Static checks the capture can decide: 4-page stacks, the list cache's 128-stack cap.
    assert verdicts["kern.kstack_pages@before"].status is Status.PASS
    assert verdicts["kern.kstack_pages@before"].observed == 4
    assert verdicts["vm.kstack_cache_size@before"].status is Status.PASS
    assert verdicts["vm.kstack_cache_size@before"].observed == 128
    # G0-list has no UMA kstack_cache zone: nothing is predicted about one.
    assert not any(name.startswith(("kstack_cache.", "uma.")) for name in verdicts)
    # A single snapshot cannot judge what the workload changed: those checks are inconclusive, not passed.
    assert verdicts["vm.kstacks@plateau_delta"].status is Status.INCONCLUSIVE
    assert verdicts["thread.used@plateau_delta"].status is Status.INCONCLUSIVE
    assert int(result.exit_code) == 0


def test_analyze_cli_writes_reports_for_the_12_1_run(run_12_1: RunDir, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(run_12_1.path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["generation"] == "G0-list" and printed["analyzed_offline"] is True
    stored = json.loads((run_12_1.path / "results.json").read_text())
    assert stored["counts"]["pass"] >= 2 and stored["counts"]["fail"] == 0
    xmlschema.XMLSchema(junit.schema_path()).validate(run_12_1.path / "junit.xml")
    assert "G0-list" in (run_12_1.path / "report.html").read_text()
    assert (run_12_1.path / "parsed" / "thread-hold" / "observations.json").is_file()


def test_a_wrong_model_constant_fails_the_same_capture(run_12_1: RunDir, capsys: pytest.CaptureFixture[str]) -> None:
    # KASAN kernels have 6-page stacks; this 12.1 GENERIC has 4: the check must fail, not pass quietly.
    result = analyze(run_12_1, offline=True, model_overrides={"kstack_pages": 6})
    verdict = _by_name(result.verdicts)["kern.kstack_pages@before"]
    assert verdict.status is Status.FAIL and verdict.expected_value == 6 and verdict.observed == 4
    assert "but the model predicts exactly 6 pages (off by -2 pages)" in verdict.why
    assert int(result.exit_code) == 1
    assert main(["analyze", str(run_12_1.path), "--model", "kstack_pages=6"]) == 1
    # The reports rewritten by that judgement say which constant was changed: the failure is the override's.
    assert json.loads((run_12_1.path / "results.json").read_text())["metadata"]["model"] == {"kstack_pages": 6}
    assert "<code>kstack_pages=6</code>" in (run_12_1.path / "report.html").read_text()
    assert "model overrides: kstack_pages=6" in capsys.readouterr().out
    assert "kstack_pages" not in json.dumps(run_12_1.metadata().model)


@pytest.mark.parametrize(
    ("override", "message"), [("kstack_pagez=6", "has no constant"), ("kstack_pages=x", "integer")]
)
def test_a_bad_model_override_is_one_line_and_writes_no_report(
    run_12_1: RunDir, capsys: pytest.CaptureFixture[str], override: str, message: str
) -> None:
    # An unknown constant would be ignored (the run judged by the unchanged model); a non-number broke the model.
    assert main(["analyze", str(run_12_1.path), "--model", override]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (run_12_1.path / "results.json").exists()


def test_an_excerpt_without_kstack_sysctls_leaves_the_generation_open(freebsd_fixtures: Path, tmp_path: Path) -> None:
    run = _run_dir(tmp_path, {"arch": "arm64", "release": "12.2-RELEASE"})
    run.write_raw(
        (freebsd_fixtures / "sysctl-excerpt__12.2-RELEASE__arm64__1.txt").read_text(), "fingerprint", "sysctl.txt"
    )
    result = analyze(run, offline=True)
    assert result.generation is None
    assert any("cannot tell" in note for note in result.notes)
    assert result.verdicts == []


@pytest.mark.parametrize(
    ("fixture", "title"),
    [
        ("panic__13.0-RELEASE__amd64__1.txt", "Fatal trap NUM: page fault while in kernel mode"),
        ("panic__unknown__arm64__1.txt", "panic: Invalid instruction length in exception"),
    ],
)
def test_a_panic_in_the_console_log_is_exit_3_and_names_the_workload(
    freebsd_fixtures: Path, tmp_path: Path, fixture: str, title: str
) -> None:
    run = _run_dir(tmp_path, {})
    panic = (freebsd_fixtures / fixture).read_text()
    (run.path / "guest.console.raw").write_text(
        "HARNESS-WORKLOAD-START name=thread-hold run=fixture-run params=threads=256\n" + panic
    )
    result = analyze(run, offline=True)
    assert result.crash is not None
    assert result.crash.title.startswith(title)
    assert result.crash.workload == "thread-hold"
    assert int(result.exit_code) == 3
    assert main(["analyze", str(run.path)]) == 3
    assert result.crash.title in (run.path / "report.html").read_text()
    # The dedup signature is stored, and it is the one `harness triage` gives for the same log.
    stored = json.loads((run.path / "results.json").read_text())["crash"]["signature"]
    assert stored == parse_panics(panic)[0].signature == result.crash.signature


def test_a_workload_that_ended_before_the_panic_is_not_blamed(freebsd_fixtures: Path, tmp_path: Path) -> None:
    run = _run_dir(tmp_path, {})
    (run.path / "guest.console.raw").write_text(
        "HARNESS-WORKLOAD-START name=thread-hold run=x\nHARNESS-WORKLOAD-END name=thread-hold run=x rc=0\n"
        + (freebsd_fixtures / "panic__13.0-RELEASE__amd64__1.txt").read_text()
    )
    crash = analyze(run, offline=True).crash
    assert crash is not None and crash.workload is None


def test_analyze_refuses_a_directory_that_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(tmp_path)]) == 2
    assert "is not a run directory" in capsys.readouterr().err


def test_ddb_capture_at_the_plateau_feeds_the_object_and_vmem_checks(run_12_1: RunDir) -> None:
    """The DDB transcript the run keeps (kstack-model-spec §4.5 formats) becomes plateau observations."""
    run_12_1.write_raw(
        "db> show object *kstack_object\n"
        "Object 0xfffff80003a05c00: type=1, size=0x1fffffff, res=520, ref=1, flags=0x1200 ruid 0 charge 0\n"
        "  sref=0, backing_object(0)=(0)+0x0\n"
        "db> show all vmem\n"
        "vmem 0xfffff80003000000 'kstack arena'\n\tquantum:\t4096\n\tsize:\t10465280\n\tinuse:\t2621440\n"
        "\tfree:\t7843840\n\tbusy tags:\t128\n\tfree tags:\t1\n",
        "thread-hold",
        "ddb",
        "transcript.txt",
    )
    run_12_1.write_raw(
        "kstack_cache:         16384,      0,     120,      8,     500,   0,   0,   0\n",
        "thread-hold",
        "plateau",
        "vmstat-z.txt",
    )
    run_12_1.write_raw("kern.kstack_pages: 4\n", "thread-hold", "plateau", "sysctl.txt")
    analyze(run_12_1, offline=True)
    values = json.loads((run_12_1.path / "parsed" / "thread-hold" / "observations.json").read_text())["values"]
    assert values["kstack_object.size_pages"] == {"plateau": 0x1FFFFFFF}
    assert values["kstack_object.ref"] == {"plateau": 1}
    # 128 cached-or-used stacks, 20 KiB (4 pages + guard) and one busy tag each: exactly what the arena holds.
    assert values["vmem.kstack_arena.inuse_minus_cache"] == {"plateau": 2621440 - 5 * 4096 * 128}
    assert values["vmem.kstack_arena.busy_tags_minus_cache"] == {"plateau": 0}
