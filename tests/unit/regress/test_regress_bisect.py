"""`harness bisect` on real git repositories made in tmp_path: a file's content decides good or bad, judged by
--step-command; skip, abort and interrupt clean-up; the default build + run step through its --dry-run plan (no
FreeBSD source tree or image can be fetched on this machine, so that step is not run end to end here)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.regress.bisect import Range, bisect, resolve_range
from harness.regress.outcome import Mark, StepOutcome, mark_for_exit
from tests.support.signals import terminal_dispositions

COMMITS = 20
FIRST_BAD = 13  # commits 1..12 say "good" in state, 13.. say "bad"
JUDGE = "grep -q good state"


def git(repo: Path, *args: str) -> str:
    env = dict(
        os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t"
    )
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """COMMITS commits; commit n writes n to `n` and good/bad to `state`; tags c1..c20."""
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "src"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    for n in range(1, COMMITS + 1):
        (path / "state").write_text("bad\n" if n >= FIRST_BAD else "good\n")
        (path / "n").write_text(f"{n}\n")
        git(path, "add", "state", "n")
        git(path, "commit", "-q", "-m", f"commit {n}")
        git(path, "tag", f"c{n}")
    return path


def sha(repo: Path, rev: str) -> str:
    return git(repo, "rev-parse", rev).strip()


def assert_untouched(repo: Path, tmp_path: Path) -> None:
    """The user's checkout: same HEAD and branch, clean, not bisecting; no worktree of ours left anywhere."""
    assert git(repo, "rev-parse", "HEAD").strip() == sha(repo, f"c{COMMITS}")
    assert git(repo, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert git(repo, "status", "--porcelain") == ""
    assert subprocess.run(["git", "-C", str(repo), "bisect", "log"], capture_output=True).returncode != 0
    assert len(git(repo, "worktree", "list", "--porcelain").split("worktree ")) == 2  # the checkout itself only
    worktrees = tmp_path / "cache" / "worktrees"
    assert not worktrees.exists() or list(worktrees.iterdir()) == []


def bisect_cli(repo: Path, log_dir: Path, *extra: str, good: str = "c1", bad: str = f"c{COMMITS}") -> int:
    return main(["bisect", "--src", str(repo), "--good", good, "--bad", bad, "--log-dir", str(log_dir), *extra])


def steps_log(log_dir: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (log_dir / "steps.jsonl").read_text().splitlines()]


def test_exit_codes_map_to_git_bisect_marks() -> None:
    assert mark_for_exit(0) is Mark.GOOD
    assert mark_for_exit(1) is Mark.BAD and mark_for_exit(3) is Mark.BAD and mark_for_exit(7) is Mark.BAD
    assert mark_for_exit(2) is Mark.SKIP and mark_for_exit(125) is Mark.SKIP
    assert mark_for_exit(130) is None and mark_for_exit(255) is None and mark_for_exit(-1) is None


def test_step_command_finds_the_first_bad_commit(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_dir = tmp_path / "log"
    assert bisect_cli(repo, log_dir, "--step-command", JUDGE, "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "found" and out["first_bad"] == sha(repo, f"c{FIRST_BAD}")
    assert out["subject"] == f"commit {FIRST_BAD}"
    # Every step judged what git checked out, as the file there says; the first bad commit was one of them.
    steps = steps_log(log_dir)
    assert 3 <= len(steps) <= 5 and [s["step"] for s in steps] == list(range(1, len(steps) + 1))
    for record in steps:
        n = int(git(repo, "show", f"{record['revision']}:n"))
        assert record["mark"] == ("good" if n < FIRST_BAD else "bad"), record
        assert Path(str(record["output"])).is_file()
    assert out["shown_by"]["revision"] == out["first_bad"] and out["shown_by"]["mark"] == "bad"
    assert f"# first bad commit: [{out['first_bad']}]" in (log_dir / "git-bisect.log").read_text()
    assert json.loads((log_dir / "result.json").read_text())["status"] == "found"
    assert_untouched(repo, tmp_path)


def test_the_human_output_names_the_commit_and_the_step(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bisect_cli(repo, tmp_path / "log", "--step-command", JUDGE) == 0
    out = capsys.readouterr().out
    assert f"first bad commit: {sha(repo, f'c{FIRST_BAD}')} commit {FIRST_BAD}" in out
    assert "shown by step" in out and "-command.log" in out


def test_a_first_bad_commit_that_is_the_given_bad_is_said_to_be_untested(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bisect_cli(repo, tmp_path / "log", "--step-command", JUDGE, good="c10", bad=f"c{FIRST_BAD}") == 0
    out = capsys.readouterr().out
    assert f"first bad commit: {sha(repo, f'c{FIRST_BAD}')}" in out
    assert "no step judged it: it is the --bad revision given" in out
    # Adjacent revisions: git knows the answer at `bisect start`, no step runs.
    assert bisect_cli(repo, tmp_path / "log2", "--step-command", "exit 7", good="c12", bad="c13") == 0
    assert f"first bad commit: {sha(repo, 'c13')}" in capsys.readouterr().out
    assert not (tmp_path / "log2" / "steps.jsonl").exists()
    assert_untouched(repo, tmp_path)


def test_the_step_command_runs_in_the_worktree_with_the_step_and_log_dir(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    where = '"$HARNESS_BISECT_LOG_DIR/where-$HARNESS_BISECT_STEP"'
    command = f"pwd > {where}; git rev-parse HEAD >> {where}; {JUDGE}"
    argv = ["bisect", "--src", str(repo), "--good", "c1", "--bad", "c20", "--log-dir", "rel"]
    assert main([*argv, "--step-command", command]) == 0
    for record in steps_log(tmp_path / "rel"):
        cwd, head = (tmp_path / "rel" / f"where-{record['step']}").read_text().split()
        assert Path(cwd).parent == tmp_path / "cache" / "worktrees" and head == record["revision"]
    assert_untouched(repo, tmp_path)


def test_exit_2_and_125_skip_and_the_bisect_goes_round_them(repo: Path, tmp_path: Path) -> None:
    # Commits 10 and 11 cannot be judged ("the build fails"): 10 says 2 (harness infra), 11 says 125 (git's code).
    command = 'n=$(cat n); [ "$n" = 10 ] && exit 2; [ "$n" = 11 ] && exit 125; grep -q good state'
    log_dir = tmp_path / "log"
    assert bisect_cli(repo, log_dir, "--step-command", command, "--json") == 0
    result = json.loads((log_dir / "result.json").read_text())
    assert result["first_bad"] == sha(repo, f"c{FIRST_BAD}")
    skipped = [s for s in steps_log(log_dir) if s["mark"] == "skip"]
    assert skipped and {int(git(repo, "show", f"{s['revision']}:n")) for s in skipped} <= {10, 11}
    assert "git bisect skip" in (log_dir / "git-bisect.log").read_text()
    assert_untouched(repo, tmp_path)


def test_only_skipped_commits_left_is_ambiguous_exit_2(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The first bad commit itself cannot be judged: git can only say it is that one or the next.
    command = f'[ "$(cat n)" = {FIRST_BAD} ] && exit 2; grep -q good state'
    log_dir = tmp_path / "log"
    assert bisect_cli(repo, log_dir, "--step-command", command, "--json") == 2
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "ambiguous" and out["first_bad"] is None
    assert sha(repo, f"c{FIRST_BAD}") in out["candidates"] and sha(repo, f"c{FIRST_BAD + 1}") in out["candidates"]
    assert_untouched(repo, tmp_path)


def test_a_step_killed_by_a_signal_stops_the_bisect_and_cleans_up(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_dir = tmp_path / "log"
    assert bisect_cli(repo, log_dir, "--step-command", "kill -KILL $$") == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress lines, the one-line error
    assert last.startswith("harness: error: step 1 at ") and "killed by signal 9" in last
    result = json.loads((log_dir / "result.json").read_text())
    assert result["status"] == "error" and result["steps"][0]["mark"] == "abort"
    assert_untouched(repo, tmp_path)


class _InterruptAt:
    """A step that judges by the file, and is interrupted (Ctrl-C) at step ``at``."""

    def __init__(self, at: int) -> None:
        self.at = at

    def preflight(self) -> None:
        pass

    def plan(self, worktree: str, runs_dir: Path) -> list[str]:
        return []

    def __call__(self, worktree: Path, index: int, log_dir: Path) -> StepOutcome:
        if index == self.at:
            raise KeyboardInterrupt
        good = (worktree / "state").read_text().strip() == "good"
        return StepOutcome(0 if good else 1, "by the file")


def test_an_interrupted_bisect_resets_removes_the_worktree_and_keeps_its_log(repo: Path, tmp_path: Path) -> None:
    span = resolve_range(repo, "c1", f"c{COMMITS}")
    log_dir = tmp_path / "log"
    with pytest.raises(KeyboardInterrupt):
        bisect(span, _InterruptAt(3), log_dir)
    result = json.loads((log_dir / "result.json").read_text())
    assert result["status"] == "interrupted" and len(result["steps"]) == 2
    assert len(steps_log(log_dir)) == 2 and "git bisect start" in (log_dir / "git-bisect.log").read_text()
    assert_untouched(repo, tmp_path)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_harness_ends_the_step_command_and_cleans_up(
    repo: Path, tmp_path: Path, signum: signal.Signals
) -> None:
    pidfile = tmp_path / "step.pid"
    command = f"echo $$ > {pidfile}; exec sleep 60"
    argv = [sys.executable, "-m", "harness.cli.main", "bisect", "--src", str(repo), "--good", "c1", "--bad", "c20"]
    argv += ["--log-dir", str(tmp_path / "log"), "--step-command", command]
    with subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=terminal_dispositions,  # SIGINT may be inherited ignored (suite run from a background job)
    ) as proc:
        try:
            deadline = time.monotonic() + 30
            while not (pidfile.is_file() and pidfile.read_text().strip()) and time.monotonic() < deadline:
                time.sleep(0.05)
            step_pid = int(pidfile.read_text())
            proc.send_signal(signum)
            _, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    with pytest.raises(ProcessLookupError):
        os.kill(step_pid, 0)  # the step command's process is gone, not orphaned
    assert json.loads((tmp_path / "log" / "result.json").read_text())["status"] == "interrupted"
    assert_untouched(repo, tmp_path)


# --- usage errors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("good", "bad", "said"),
    [
        ("nope", "c20", "--good nope is not a commit"),
        ("c1", "nope", "--bad nope is not a commit"),
        ("c20", "c1", "--good c20 is not an ancestor of --bad c1"),
        ("c5", "c5", "the same commit"),
    ],
)
def test_bad_revisions_are_one_line_usage_errors(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], good: str, bad: str, said: str
) -> None:
    assert bisect_cli(repo, tmp_path / "log", "--step-command", JUDGE, good=good, bad=bad) == 2
    err = capsys.readouterr().err
    assert said in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "log").exists()


def test_other_usage_errors(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bisect", "--src", str(tmp_path), "--good", "a", "--bad", "b", "--step-command", "true"]) == 2
    assert "is not a git checkout" in capsys.readouterr().err
    assert bisect_cli(repo, tmp_path / "log", "--step-command", JUDGE, "--patch", "kstack-object") == 2
    assert "--patch would not be used" in capsys.readouterr().err
    assert bisect_cli(repo, tmp_path / "log", "--step-command", JUDGE) == 0
    assert bisect_cli(repo, tmp_path / "log", "--step-command", JUDGE) == 2  # the log of the first is kept
    assert "already holds a bisect log" in capsys.readouterr().err
    assert bisect_cli(repo, tmp_path / "log2", "--patch", "no-such-patch", "--dry-run") == 2
    assert "unknown patch 'no-such-patch'" in capsys.readouterr().err


# --- the default step: build + run, through its plan ------------------------------------------------------------


def test_dry_run_prints_the_build_and_run_of_each_step_and_changes_nothing(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_dir = tmp_path / "log"
    code = bisect_cli(
        repo, log_dir, "--patch", "kstack-object", "--arch", "arm64", "--backend", "cross",
        "--workload", "thread-hold", "--param", "thread-hold:threads=1024", "--release", "14", "--dry-run",
    )  # fmt: skip
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    text = "\n".join(lines)
    worktree = str(tmp_path / "cache" / "worktrees" / "wt-BISECT")
    assert f"host$ git -C {repo} worktree add --detach {worktree} {sha(repo, 'c20')}" in lines
    assert f"host$ git -C {worktree} bisect start {sha(repo, 'c20')} {sha(repo, 'c1')}" in lines
    first = git(repo, "rev-list", "--bisect", "c20", "^c1").strip()
    assert f"# the first step judges {first[:12]} commit " in text
    assert f"host$ harness build --patch kstack-object --src {worktree} --arch arm64 --backend cross" in lines
    (run_line,) = [line for line in lines if line.startswith("host$ harness run ")]
    assert "--guest freebsd --arch arm64 --kernel '<kernel dir of that build>' --release 14." in run_line
    assert "--workload thread-hold --param thread-hold:threads=1024" in run_line
    assert f"--runs-dir {log_dir / 'runs'}" in run_line
    assert f"host$ git -C {worktree} bisect reset" in lines
    assert not log_dir.exists()
    assert_untouched(repo, tmp_path)


def test_the_harness_step_maps_build_and_run_outcomes(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build and the run pipeline cannot run here (no FreeBSD source or image); their results are mapped."""
    import harness.kernelbuild.pipeline as build_pipeline
    import harness.run.pipeline as run_pipeline
    from harness.errors import PatchConflict
    from harness.regress.steps import HarnessChoices, harness_step
    from harness.report.results import RunResult
    from harness.run.rundir import RunDir

    runner = harness_step(HarnessChoices(("kstack-object",), "amd64", "cross", "14", ["thread-hold"], {}, {}))
    kernel_dir = tmp_path / "kernels" / "key123" / "stage" / "boot" / "kernel"
    seen: list[object] = []

    def conflicting(options: build_pipeline.BuildOptions, echo: object = None) -> build_pipeline.BuildResult:
        seen.append(options.src)
        raise PatchConflict("kstack-object does not apply: sys/vm/vm_glue.c hunk 3")

    monkeypatch.setattr(build_pipeline, "build", conflicting)
    outcome = runner(repo, 1, tmp_path / "log")
    assert seen == [repo] and mark_for_exit(outcome.exit_code) is Mark.SKIP
    assert outcome.summary.startswith("build failed: kstack-object does not apply")

    def built(options: build_pipeline.BuildOptions, echo: object = None) -> build_pipeline.BuildResult:
        return build_pipeline.BuildResult(kernel_dir.parents[2], kernel_dir, "HARNESS_x", False, False, [], [])

    def executed(request: run_pipeline.RunRequest) -> run_pipeline.RunOutcome:
        seen.append((request.kernel, request.runs_root, request.guest, request.patch))
        run = RunDir.create(request.runs_root, "r1", {"guest": "freebsd"}, request.argv)
        result = RunResult("r1", "freebsd", "amd64", "14.4-RELEASE", "G1", ["thread-hold"], error="ssh refused")
        return run_pipeline.RunOutcome(run, result, {})

    monkeypatch.setattr(build_pipeline, "build", built)
    monkeypatch.setattr(run_pipeline, "execute", executed)
    outcome = runner(repo, 2, tmp_path / "log")
    assert seen[-1] == (kernel_dir, tmp_path / "log" / "runs", "freebsd", None)
    assert outcome.build_key == "key123" and outcome.run_dir == str(tmp_path / "log" / "runs" / "r1")
    assert outcome.exit_code == 2 and "error: ssh refused" in outcome.summary


def test_a_host_without_the_build_toolchain_stops_before_the_worktree(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-llvm"
    missing.mkdir()
    assert bisect_cli(repo, tmp_path / "log", "--backend", "cross", "--cross-bindir", str(missing)) == 2
    assert "missing" in capsys.readouterr().err.strip().splitlines()[-1]
    assert not (tmp_path / "log").exists()
    assert_untouched(repo, tmp_path)


def test_resolve_range_reads_the_commits(repo: Path) -> None:
    assert resolve_range(repo, "c3", "main") == Range(repo, sha(repo, "c3"), sha(repo, "c20"))
