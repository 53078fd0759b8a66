"""`harness run` with hostile options and a QEMU that refuses to start (docs/reviews/hostile-input.md, A.9).

No guest boots: ``qemu-system-*`` on PATH are stubs that exit 1 (support.hostile.fake_qemu), so a run goes up
to and through the QEMU launch. Usage errors leave no run directory; an unusable ``--runs-dir`` is one line; a
run that errored leaves complete reports in a directory only its owner can read; what QEMU (standing in for the
guest) prints never reaches the terminal or junit.xml raw.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support.cli import (
    CliResult,
    assert_no_traceback,
    assert_one_line_error,
    run_harness,
    run_harness_reader_gone,
)
from tests.support.hostile import fake_image, fake_qemu, nobody_prefix
from tests.support.inproc import Harness

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img makes the run's disk overlay")

USAGE_CASES = {
    "A9-03 --workload nosuch": (["--workload", "nosuch", "--offline"], "unknown workload"),
    "A9-12 --param 'nocolon'": (["--workload", "thread-hold", "--param", "nocolon", "--offline"], "bad --param"),
    "A9-19 --param threads=abc": (["--param", "thread-hold:threads=abc", "--offline"], "must be an integer"),
    "A9-20 --param 'threads=1;touch $TMPDIR/pwned'": (
        ["--param", "thread-hold:threads=1;touch $TMPDIR/pwned", "--offline"],
        "must be an integer",
    ),
    "A9-23 F9 --param threads=10**18": (["--param", f"thread-hold:threads={10**18}", "--offline"], "at most"),
    "A9-27 --model kstack_pages=-1": (["--model", "kstack_pages=-1", "--offline"], "non-negative"),
}


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    return {"root": tmp_path, "image": fake_image(tmp_path), "runs": tmp_path / "runs"}


def _run(world: dict[str, Path], *argv: str, stub: str | None = None, **kwargs: object) -> CliResult:
    env = {**fake_qemu(world["root"]), "HARNESS_CACHE_DIR": str(world["root"] / "cache")}
    if stub is not None:
        for name in ("qemu-system-x86_64", "qemu-system-aarch64"):
            (world["root"] / "fake-bin" / name).write_text(stub)
    runs = ["--runs-dir", str(world["runs"])] if "--runs-dir" not in argv else []
    return run_harness(["run", *runs, *argv], cwd=world["root"], env=env, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def in_process(world: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The same world for cases that end before QEMU would start: run in this process (no interpreter start)."""
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(world["root"] / "cache"))
    monkeypatch.setenv("HARNESS_CONFIG", str(world["root"] / "no-config.toml"))
    monkeypatch.setenv("PATH", fake_qemu(world["root"])["PATH"])
    return world


@pytest.mark.parametrize("case_id", sorted(USAGE_CASES))
def test_usage_errors_leave_no_run_dir(case_id: str, in_process: dict[str, Path], harness: Harness) -> None:
    argv, mentions = USAGE_CASES[case_id]
    result = harness(["run", "--runs-dir", str(in_process["runs"]), "--image", str(in_process["image"]), *argv])
    assert_one_line_error(result, 2, mentions=mentions)
    assert not in_process["runs"].exists() or not any(in_process["runs"].iterdir())


def test_A9_37_F_runs_dir_is_a_file(in_process: dict[str, Path], harness: Harness) -> None:
    runs = in_process["root"] / "a-file"
    runs.write_text("")
    argv = ["run", "--runs-dir", str(runs), "--image", str(in_process["image"]), "--workload", "thread-hold"]
    assert_one_line_error(harness(argv), 2, mentions="runs directory")
    assert runs.read_text() == ""


def test_A9_38_F_runs_dir_not_writable(tmp_path: Path) -> None:
    """As nobody when the tests run as root (root is not stopped by permissions)."""
    prefix = nobody_prefix()
    if prefix is None:
        pytest.skip(
            "running as root, and user nobody cannot run this interpreter through setpriv (a Python under /root?): "
            "permissions cannot be taken away"
        )
    root = Path(tempfile.mkdtemp())
    try:
        root.chmod(0o755)
        locked = root / "locked"
        locked.mkdir(mode=0o755)
        cache = root / "cache"
        cache.mkdir()
        cache.chmod(0o777)
        world = {"root": root, "image": fake_image(root), "runs": locked / "runs"}
        world["image"].chmod(0o644)
        env = {
            **fake_qemu(root),
            "HARNESS_CACHE_DIR": str(cache),
            "HARNESS_CONFIG": str(root / "no-config.toml"),
            "HOME": str(root),
        }
        argv = ["run", "--runs-dir", str(world["runs"]), "--image", str(world["image"]), "--workload", "thread-hold"]
        result = run_harness(argv, cwd=root, env=env, prefix=prefix)
        assert_one_line_error(result, 2, mentions=str(world["runs"]))
        assert not world["runs"].exists()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_A9_41_F_cache_dir_is_a_file(
    in_process: dict[str, Path], monkeypatch: pytest.MonkeyPatch, harness: Harness
) -> None:
    cache = in_process["root"] / "cache-file"
    cache.write_text("")
    result = harness(["run", "--runs-dir", str(in_process["runs"]), "--offline"], env={"HARNESS_CACHE_DIR": str(cache)})
    assert_one_line_error(result, 2, mentions=str(cache))


HOSTILE_QEMU = (
    "#!/bin/sh\nprintf 'fake qemu: refusing\\033]0;PWNED\\007\\033]52;c;cHduZWQ=\\007\\000\\010 to boot\\n' >&2\n"
    "exit 1\n"
)


def test_A9_36_an_errored_run_leaves_complete_owner_only_reports(world: dict[str, Path]) -> None:
    """A9-36 (control) with S7 and F6: status=error, exit 2, three complete reports, every directory 0700 and
    every file 0600 (the disk overlay too), whatever the caller's umask; what the 'guest side' printed is
    escaped in the error and JUnit."""
    old = os.umask(0)
    try:
        result = _run(world, "--image", str(world["image"]), "--workload", "thread-hold", stub=HOSTILE_QEMU)
    finally:
        os.umask(old)
    assert_no_traceback(result, 2)
    for ch in "\x00\x07\x08\x1b":
        assert ch not in result.stdout + result.stderr
    (run,) = list(world["runs"].iterdir())
    meta = json.loads((run / "metadata.json").read_text())
    assert meta["status"] == "error" and "fake qemu: refusing" in meta["error"]
    assert json.loads((run / "results.json").read_text())["exit_code"] == 2
    ET.parse(run / "junit.xml")
    assert (run / "report.html").stat().st_size > 0
    assert (run / "disk.qcow2").is_file()
    for path in [run, *run.rglob("*")]:
        if path.is_symlink():
            continue
        want = 0o700 if path.is_dir() or path.name == "reproducer.sh" else 0o600
        assert path.stat().st_mode & 0o777 == want, (path, oct(path.stat().st_mode))


def test_S9_a_newline_in_runs_dir_stays_in_the_comment(world: dict[str, Path]) -> None:
    """S9: a newline in --runs-dir must not turn the rest of the reproducer's comment line into a command.
    The reproducer is run with a stub ``harness`` that records its arguments: one call, nothing else runs."""
    world["runs"] = world["root"] / "runs\ntouch PWNED_S9"
    result = _run(world, "--image", str(world["image"]), "--workload", "thread-hold")
    assert_no_traceback(result, 2)
    (run,) = list(world["runs"].iterdir())
    sandbox = world["root"] / "sandbox"
    (sandbox / "bin").mkdir(parents=True)
    stub = sandbox / "bin" / "harness"
    stub.write_text('#!/bin/sh\nprintf "%s\\n" "$#" >> calls\n')
    stub.chmod(0o755)
    env = {"PATH": f"{sandbox / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin"}
    subprocess.run(["sh", str(run / "reproducer.sh")], cwd=sandbox, env=env, check=True, timeout=30)
    assert not (sandbox / "PWNED_S9").exists()
    assert len((sandbox / "calls").read_text().split()) == 1


def test_F3_exit_code_survives_a_closed_pipe(world: dict[str, Path]) -> None:
    env = {**fake_qemu(world["root"]), "HARNESS_CACHE_DIR": str(world["root"] / "cache")}
    argv = ["run", "--runs-dir", str(world["runs"]), "--image", str(world["image"]), "--workload", "thread-hold"]
    result = run_harness_reader_gone(argv, cwd=world["root"], env=env)
    assert_no_traceback(result, 2)
    assert not any(line.startswith("harness: error") for line in result.stderr.splitlines())
