"""`harness run` end to end on the Linux test guest, under QEMU (TCG) on amd64 and arm64: boot, workloads over
SSH, sampling, the Linux task model, verdicts and reports; the same check failing when the model is wrong; a
guest panic during a workload ending the run with exit 3."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest
import xmlschema

from harness.cli.main import main
from harness.report import junit
from harness.run.analysis import analyze
from harness.run.pipeline import RunOutcome, RunRequest, execute
from harness.validate.verdicts import Status

pytestmark = pytest.mark.integration

QEMU = {"amd64": "qemu-system-x86_64", "arm64": "qemu-system-aarch64"}
CROSS_CC = {"amd64": "x86_64-linux-gnu-gcc", "arm64": "aarch64-linux-gnu-gcc"}
THREADS = 200
PARAMS: dict[str, dict[str, int | str]] = {
    "thread-hold": {"threads": THREADS},
    "thread-churn": {"rounds": 4, "threads_per_round": 128},
}


def _need(arch: str) -> None:
    for tool in (QEMU[arch], CROSS_CC[arch], "apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


def _request(arch: str, root: Path, workloads: list[str]) -> RunRequest:
    return RunRequest(
        guest="linuxtest",
        arch=arch,
        workloads=workloads,
        params={k: v for k, v in PARAMS.items() if k in workloads},
        runs_root=root,
    )


@pytest.fixture(scope="module", params=["amd64", "arm64"])
def passing_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> RunOutcome:
    arch = str(request.param)
    _need(arch)
    return execute(_request(arch, tmp_path_factory.mktemp(f"runs-{arch}"), ["thread-hold", "thread-churn"]))


def test_run_passes_with_a_real_model_check(passing_run: RunOutcome) -> None:
    result = passing_run.result
    assert result.crash is None and result.error is None
    assert int(result.exit_code) == 0, [v.why for v in result.verdicts if v.status is not Status.PASS]
    plateau = next(v for v in result.verdicts if v.invariant == "LX-2")
    # 200 held threads, each with one 16 KiB stack, plus the workload's own few tasks.
    assert plateau.status is Status.PASS
    assert plateau.observed is not None and plateau.observed >= THREADS * 16
    assert {v.invariant for v in result.verdicts} >= {"LX-1", "LX-2", "LX-3", "LX-4", "LX-5"}
    run_dir = passing_run.run.path
    for name in ("metadata.json", "reproducer.sh", "guest.console.log", "results.json", "junit.xml", "report.html"):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "raw" / "thread-hold" / "plateau" / "snapshot.txt").is_file()
    # The 1 s sampler saw the plateau: the held threads' stacks are in the time series, not only in the snapshot.
    samples = (run_dir / "raw" / "thread-hold" / "samples.txt").read_text().split()
    sampled = [int(v) for k, v in itertools.pairwise(samples) if k == "nr_kernel_stack"]
    assert max(sampled) >= THREADS * 16, sampled
    assert json.loads((run_dir / "results.json").read_text())["outcome"] == "passed"
    steps = [json.loads(line) for line in (run_dir / "steps.jsonl").read_text().splitlines()]
    assert any(s["name"] == "run" and s["state"] == "note" and s["fields"] == {"outcome": "passed"} for s in steps)
    xmlschema.XMLSchema(junit.schema_path()).validate(run_dir / "junit.xml")
    console = (run_dir / "guest.console.log").read_text()
    assert "HARNESS-WORKLOAD-START name=thread-hold" in console and "HARNESS-WORKLOAD-END name=thread-churn" in console


def test_the_same_check_fails_when_the_prediction_is_wrong(passing_run: RunOutcome) -> None:
    # An 8 KiB THREAD_SIZE (wrong for both arches) predicts half the stack memory the kernel really holds.
    wrong = analyze(passing_run.run, offline=True, model_overrides={"thread_size_kib": 8})
    plateau = next(v for v in wrong.verdicts if v.invariant == "LX-2")
    assert plateau.status is Status.FAIL
    assert int(wrong.exit_code) == 1
    # The CLI says the same, and the stored run stays re-judgeable.
    assert main(["analyze", str(passing_run.run.path), "--model", "thread_size_kib=8"]) == 1
    assert main(["analyze", str(passing_run.run.path)]) == 0


def test_a_panic_during_a_workload_exits_3_with_its_title(tmp_path: Path) -> None:
    _need("amd64")
    outcome = execute(_request("amd64", tmp_path, ["thread-hold", "crash"]))
    assert int(outcome.result.exit_code) == 3
    title = "Kernel panic - not syncing: sysrq triggered crash"
    data = json.loads(outcome.reports["json"].read_text())
    assert data["crash"]["title"] == title and data["crash"]["workload"] == "crash"
    # Progress says how the run came out, not only that its step ended.
    steps = (outcome.run.path / "steps.jsonl").read_text()
    assert '"message": "crashed (exit 3)"' in steps
    assert title in outcome.reports["html"].read_text()
    # thread-hold ran to its end before the crash, and was judged.
    assert any(v.workload == "thread-hold" and v.status is Status.PASS for v in outcome.result.verdicts)
    # Offline analysis of the stored run still says "crashed".
    assert main(["analyze", str(outcome.run.path)]) == 3


@pytest.mark.kdb
def test_ddb_capture_at_the_plateau_with_linux_kdb(tmp_path: Path) -> None:
    """--ddb on the test guest: the self-built kdb kernel (built once and cached, several minutes) is entered at
    the plateau, `ps` and `btp` of sampled workload threads are kept, the kernel resumes and the checks pass."""
    _need("amd64")
    request = _request("amd64", tmp_path, ["thread-hold"])
    request.ddb = True
    outcome = execute(request)
    assert int(outcome.result.exit_code) == 0, outcome.result.error
    ddb_dir = outcome.run.path / "raw" / "thread-hold" / "ddb"
    ps = (ddb_dir / "00-ps.txt").read_text()
    assert "thread_hold" in ps  # the workload's threads were alive in the debugger
    backtraces = sorted(ddb_dir.glob("*-btp_*.txt"))
    assert backtraces
    for trace in backtraces:
        # Each sampled thread is one of the held ones: asleep on the pthread condition variable (a futex).
        text = trace.read_text()
        assert "Stack traceback for pid" in text and "futex_wait" in text
    # After `go` the workload went on to its end, and its after snapshot was taken.
    assert (outcome.run.path / "raw" / "thread-hold" / "after" / "snapshot.txt").is_file()
