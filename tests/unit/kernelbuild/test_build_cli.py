"""`harness build` and `harness patch` from the command line: dry runs for every backend × arch, bad input."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.cli.main import main


def git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env).stdout


@pytest.fixture
def src(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small git tree with one upstream change, and a data dir whose patches/ has a recipe for it."""
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    repo = tmp_path / "src"
    (repo / "sys/vm").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "sys/vm/stack.c").write_text("a\nb\nc\n")
    (repo / "tools/build").mkdir(parents=True)
    (repo / "tools/build/make.py").write_text("# the Linux cross-build driver (r365949 and later trees)\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / "sys/vm/stack.c").write_text("a\nB\nc\n")
    git(repo, "commit", "-q", "-am", "change")
    change = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "--detach", base)
    data = tmp_path / "data" / "patches" / "one"
    data.mkdir(parents=True)
    (data / "patch.toml").write_text(
        f'summary = "the change"\n[origin]\nrepository = "{repo.as_uri()}"\ncommit = "{change}"\nreview = "D7"\n'
        '[generation]\nbefore = "G0-uma"\nafter = "G1"\n'
    )
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "data"))
    return repo


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
@pytest.mark.parametrize("backend", ["native", "cross", "guest"])
def test_dry_run_prints_every_command(src: Path, capsys: pytest.CaptureFixture[str], backend: str, arch: str) -> None:
    code = main(["build", "--patch", "one", "--src", str(src), "--arch", arch, "--backend", backend, "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    target = {"amd64": "TARGET=amd64 TARGET_ARCH=amd64", "arm64": "TARGET=arm64 TARGET_ARCH=aarch64"}[arch]
    assert "worktree add --detach" in out and "cherry-pick -x" in out
    assert "buildkernel" in out and "installkernel" in out and target in out
    assert "# preflight:" in out
    assert f"# backend: {backend} (asked for with --backend)" in out
    if backend == "cross":
        assert out.count("tools/build/make.py --cross-bindir=") == 3
        assert "kernel-toolchain" in out
    if backend == "native":
        assert "host$ cd " in out and "make -C " in out and "make.py --cross-bindir" not in out
        assert "native backend builds on a FreeBSD host" in out  # this host is Linux
    if backend == "guest":
        assert "guest$ put " in out and "guest$ get " in out
        assert "guest$ cd /var/tmp/harness-build/" in out
        assert out.index("kernel-toolchain") < out.index("buildkernel")  # review H5, same arch too
    assert git(src, "status", "--porcelain") == ""
    assert len(git(src, "worktree", "list").splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["build", "--patch", "nope", "--arch", "amd64"], "unknown patch 'nope'"),
        (["build", "--patch", "one", "--src", "/nonexistent/tree"], "source tree /nonexistent/tree does not exist"),
        (["build", "--patch", "one", "--arch", "sparc64"], "unknown arch 'sparc64'"),
        (["build", "--patch", "one", "--backend", "docker"], "unknown backend 'docker'"),
        (["build", "--patch", "one"], "no source tree"),
        (["build", "--patch", "one", "--kstack-pages", "0"], "must be at least 1"),
        (["build", "--patch", "one", "--src", "SRC", "--kstack-pages", "64", "--dry-run"], "must be in [4, 32]"),
        (["build", "--patch", "one", "--src", "SRC", "--kstack-pages", "3", "--dry-run"], "must be in [4, 32]"),
        (["patch", "check", "nope", "--src", "."], "unknown patch 'nope'"),
        (["patch", "check", "one", "--src", "/nonexistent/tree"], "does not exist"),
        (["patch", "check", "one", "--src", __file__], f"source tree {__file__} is not a directory"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    src: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    argv = [str(src) if arg == "SRC" else arg for arg in argv]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own type errors
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2
    error_lines = [line for line in err.splitlines() if line.startswith("harness: error:")]
    assert len(error_lines) == 1 and message in error_lines[0]
    assert "Traceback" not in err


def test_a_directory_that_is_not_a_checkout_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert main(["build", "--src", str(plain), "--dry-run"]) == 2
    assert "is not a git checkout" in capsys.readouterr().err


def test_patch_list_and_check(src: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["patch", "list"]) == 0
    out = capsys.readouterr().out
    assert "one" in out and "G0-uma -> G1" in out and "D7" in out
    assert main(["patch", "check", "one", "--src", str(src)]) == 0
    out = capsys.readouterr().out
    assert "one: applied (cherry-pick)" in out


def test_patch_check_conflict_lists_hunks_and_exits_2(src: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (src / "sys/vm/stack.c").write_text("a\nX\nc\n")
    git(src, "commit", "-q", "-am", "diverge")
    assert main(["patch", "check", "one", "--src", str(src)]) == 2
    captured = capsys.readouterr()
    assert "one: CONFLICT" in captured.out and "sys/vm/stack.c" in captured.out and "hunk 1: @@" in captured.out
    assert "harness: error: patch one does not apply" in captured.err
    assert "sys/vm/stack.c (hunk 1 at line 1)" in captured.err
