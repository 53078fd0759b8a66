"""Run directories (metadata and reproducer first), the reproducer's exact command, `harness run` option errors."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.cli.run import parse_model, parse_params
from harness.errors import UsageError
from harness.run.pipeline import RunRequest, reproducer_argv
from harness.run.rundir import RunDir, new_run_id


def test_create_writes_metadata_and_reproducer_before_anything_else(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "r1", {"guest": "linuxtest", "arch": "arm64"}, ["harness", "run", "--arch", "arm64"])
    assert sorted(p.name for p in run.path.iterdir()) == ["metadata.json", "parsed", "raw", "reproducer.sh"]
    meta = json.loads((run.path / "metadata.json").read_text())
    assert meta["run_id"] == "r1" and meta["guest"] == "linuxtest" and meta["status"] == "running"
    script = (run.path / "reproducer.sh").read_text()
    assert "harness run --arch arm64" in script and f"harness analyze {run.path}" in script
    assert (run.path / "reproducer.sh").stat().st_mode & 0o111
    with pytest.raises(UsageError, match="already exists"):
        RunDir.create(tmp_path, "r1", {}, ["harness"])


def test_metadata_updates_and_raw_files(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "r2", {"guest": "freebsd"}, ["harness"])
    run.update_metadata(generation="G1")
    assert run.metadata().generation == "G1" and run.metadata().guest == "freebsd"
    run.write_raw("x", "thread-hold", "before", "sysctl.txt")
    run.write_raw("y", "thread-hold", "after", "sysctl.txt")
    run.write_raw("z", "thread-hold", "samples.txt")
    assert run.raw_phases("thread-hold") == ["after", "before"]
    assert run.read_raw("thread-hold", "before", "sysctl.txt") == "x"
    assert run.read_raw("thread-hold", "plateau", "sysctl.txt") is None
    assert run.console_text() is None
    (run.path / "freebsd.console.raw").write_text("console")
    assert run.console_text() == "console"


def test_open_refuses_a_directory_without_metadata(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        RunDir.open(tmp_path)


def test_run_ids_sort_by_time_and_name_the_guest() -> None:
    run_id = new_run_id("linuxtest", "amd64")
    assert "-linuxtest-amd64-" in run_id and run_id[:8].isdigit()
    assert new_run_id("linuxtest", "amd64") != run_id


def test_reproducer_spells_out_every_choice() -> None:
    request = RunRequest(
        guest="freebsd",
        arch="arm64",
        workloads=["thread-hold"],
        release_name="14.4-RELEASE",
        image=Path("/images/FreeBSD-14.4-RELEASE-arm64-aarch64-ufs.qcow2"),
        patch="kstack-object",
        ddb=True,
        model={"noise": 4},
        runs_root=Path("runs"),
    )
    argv = reproducer_argv(request, {"thread-hold": {"threads": 512, "hold_seconds": 120}})
    assert shlex.join(argv) == (
        "harness run --guest freebsd --arch arm64 --release 14.4 "
        "--image /images/FreeBSD-14.4-RELEASE-arm64-aarch64-ufs.qcow2 --patch kstack-object --workload thread-hold "
        "--param thread-hold:threads=512 --param thread-hold:hold_seconds=120 --model noise=4 --ddb --runs-dir runs"
    )


def test_param_and_model_options_parse() -> None:
    assert parse_params(["thread-hold:threads=512", "thread-hold:hold_seconds=9"]) == {
        "thread-hold": {"threads": "512", "hold_seconds": "9"}
    }
    assert parse_model(["thread_size_kib=8", "noise=0x10", "scale=1.5", "name=x"]) == {
        "thread_size_kib": 8,
        "noise": 16,
        "scale": 1.5,
        "name": "x",
    }
    for bad in (["threads=5"], ["thread-hold:threads"], [":x=1"]):
        with pytest.raises(UsageError):
            parse_params(bad)
    with pytest.raises(UsageError):
        parse_model(["novalue"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--guest", "linuxtest", "--patch", "kstack-object"], "apply to FreeBSD guests"),
        (["run", "--kernel", "/nonexistent-kernel-dir"], "is not a directory"),
        (["run", "--kernel", ".", "--patch", "kstack-object"], "both name the kernel"),
        (["run", "--guest", "linuxtest", "--workload", "nope"], "unknown workload"),
        (["run", "--guest", "linuxtest", "--param", "thread-hold:threads=many"], "must be an integer"),
        (["run", "--guest", "linuxtest", "--workload", "thread-hold", "--param", "fork-churn:forks=1"], "not run"),
        (["run", "--guest", "linuxtest", "--model", "thread_size=8"], "has no constant 'thread_size'"),
        (["run", "--guest", "linuxtest", "--model", "thread_size_kib=big"], "must be a non-negative integer"),
        (["run", "--model", "kstack_pages=-1"], "must be a non-negative integer"),
        (["run", "--release", "9"], "no image manifest"),
        (["run", "--image", "/nonexistent-image.raw.xz"], "no such file"),
        (["run", "--guest", "linuxtest", "--image", "pyproject.toml"], "is a FreeBSD image"),
    ],
)
def test_bad_run_options_are_one_line_usage_errors(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())  # refused before a run directory was made


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_a_missing_image_is_one_line_and_no_run_directory(
    arch: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing was booted, so there is no run to record: no run dir with an empty report, just the reason."""
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "empty-cache"))
    runs = tmp_path / "runs"
    assert main(["run", "--arch", arch, "--offline", "--runs-dir", str(runs)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("harness: error: --offline") and "--image FILE" in err[-1]
    assert not any(line.startswith(("note:", "run directory:")) for line in err)
    assert not runs.exists() or not any(runs.iterdir())


def test_model_help_names_the_keys_and_where_the_override_goes(capsys: pytest.CaptureFixture[str]) -> None:
    for verb, where in (("run", "recorded in metadata.json"), ("analyze", "metadata.json is kept")):
        with pytest.raises(SystemExit):
            main([verb, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "thread_size_kib" in text and "kstack_pages" in text and where in text
