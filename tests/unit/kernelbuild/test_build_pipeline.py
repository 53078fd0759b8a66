"""The build pipeline end to end on a small git tree: worktree, patches, KERNCONF in the tree, metadata.json and
reproducer.sh written before the build command runs, the log, the cache, failures recorded.

FreeBSD cannot be built here, so the backend's build step is a shell command that checks what the pipeline
promised (metadata first, KERNCONF in place) and stages a kernel file like installkernel would.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest

from harness.errors import BuildError, HostError
from harness.kernelbuild import pipeline
from harness.kernelbuild.backends import Backend, BuildSpec
from harness.kernelbuild.commands import Command
from harness.kernelbuild.pipeline import BuildOptions, build

STACK = "".join(f"line {i}\n" for i in range(1, 21))


def git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env).stdout


class ScriptBackend(Backend):
    """Runs a real host command in place of make: it fails unless the pipeline's promises hold."""

    name = "script"

    def __init__(self, fail: bool = False, delay: float = 0.0) -> None:
        self.fail = fail
        self.delay = delay

    def preflight(self) -> None:
        pass

    def toolchain(self) -> str:
        return "sh"

    def plan(self, spec: BuildSpec) -> list[Command]:
        build_dir = spec.objdir.parent
        conf = spec.src / "sys" / spec.arch.target / "conf" / spec.kernconf
        script = (
            f'test -f "{build_dir}/metadata.json" && test -x "{build_dir}/reproducer.sh" && test -f "{conf}" && '
            f'grep -q building "{build_dir}/metadata.json" && echo compiling {spec.kernconf} && sleep {self.delay} && '
            + ("exit 7" if self.fail else f'mkdir -p "{spec.kernel_dir}" && cp "{conf}" "{spec.kernel_dir}/kernel"')
        )
        return [Command("buildkernel", ("sh", "-c", script), cwd=str(spec.src))]


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    upstream = tmp_path / "src"
    upstream.mkdir()
    git(upstream, "init", "-q", "-b", "main")
    (upstream / "sys/amd64/conf").mkdir(parents=True)
    (upstream / "sys/amd64/conf/GENERIC").write_text("ident GENERIC\n")
    (upstream / "sys/vm").mkdir()
    (upstream / "sys/vm/stack.c").write_text(STACK)
    (upstream / "tools/build").mkdir(parents=True)
    (upstream / "tools/build/make.py").write_text("# r365949 and later trees carry it\n")
    git(upstream, "add", "-A")
    git(upstream, "commit", "-q", "-m", "base")
    base = git(upstream, "rev-parse", "HEAD").strip()
    (upstream / "sys/vm/stack.c").write_text(STACK.replace("line 5\n", "line 5: one object\n"))
    git(upstream, "commit", "-q", "-am", "change")
    change = git(upstream, "rev-parse", "HEAD").strip()
    git(upstream, "checkout", "-q", "--detach", base)
    data = tmp_path / "data"
    (data / "patches/one").mkdir(parents=True)
    (data / "patches/one/patch.toml").write_text(
        f'summary = "one"\n[origin]\nrepository = "{upstream.as_uri()}"\ncommit = "{change}"\n'
        '[generation]\nbefore = "G0-uma"\nafter = "G1"\n'
    )
    monkeypatch.setenv("HARNESS_DATA_DIR", str(data))
    return upstream, base


def use_backend(monkeypatch: pytest.MonkeyPatch, backend: Backend) -> None:
    monkeypatch.setattr(pipeline, "make_backend", lambda name, **kw: backend)


def test_build_writes_metadata_first_then_kernel_and_caches(
    tree: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    src, base = tree
    use_backend(monkeypatch, ScriptBackend())
    options = BuildOptions(patches=("one",), arch="amd64", backend="script", src=src, jobs=1, kstack_pages=6)
    first = build(options, echo=lambda line: None)
    assert not first.cached
    kernel = (first.kernel_dir / "kernel").read_text()
    assert f"ident   {first.ident}" in kernel and "options KSTACK_PAGES=6" in kernel
    meta = json.loads((first.build_dir / "metadata.json").read_text())
    assert meta["status"] == "complete"
    assert meta["source"]["revision"] == base
    assert [p["name"] for p in meta["patches"]] == ["one"]
    assert meta["patches"][0]["status"] == "applied" and len(meta["patches"][0]["sha256"]) == 64
    assert meta["kernconf"]["ident"] == first.ident
    assert (meta["arch"], meta["target_arch"], meta["backend"], meta["toolchain"]) == ("amd64", "amd64", "script", "sh")
    assert meta["reproducer"].startswith("harness build --patch one --src ")
    assert "exec harness build --patch one" in (first.build_dir / "reproducer.sh").read_text()
    assert "compiling" in (first.build_dir / "build.log").read_text()
    assert not (first.build_dir / "obj").exists()
    assert git(src, "status", "--porcelain") == "" and git(src, "rev-parse", "HEAD").strip() == base
    assert len(git(src, "worktree", "list").splitlines()) == 1

    again = build(options, echo=lambda line: None)
    assert again.cached and again.build_dir == first.build_dir

    other = build(BuildOptions(("one",), "amd64", "script", src=src, jobs=1), echo=lambda line: None)
    assert other.build_dir != first.build_dir and other.ident != first.ident


def test_failed_build_is_recorded_with_the_log(tree: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    src, _ = tree
    use_backend(monkeypatch, ScriptBackend(fail=True))
    with pytest.raises(BuildError, match=r"buildkernel failed \(exit 7\): .*compiling") as caught:
        build(BuildOptions(("one",), "amd64", "script", src=src, jobs=1), echo=lambda line: None)
    assert "build.log" in str(caught.value.hint)
    records = list((Path(str(caught.value.hint).split()[-1])).parent.glob("metadata.json"))
    meta = json.loads(records[0].read_text())
    assert meta["status"] == "failed" and "exit 7" in meta["error"]
    assert len(git(src, "worktree", "list").splitlines()) == 1


def test_dry_run_prints_everything_and_changes_nothing(
    tree: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    src, base = tree
    lines: list[str] = []
    result = build(
        BuildOptions(("one",), "arm64", "cross", src=src, jobs=2, dry_run=True, cross_bindir=Path("/opt/llvm-x/bin")),
        echo=lines.append,
    )
    text = "\n".join(lines)
    assert result.dry_run
    assert "worktree add --detach" in text
    assert "cherry-pick -x" in text
    assert text.count("tools/build/make.py --cross-bindir=/opt/llvm-x/bin") == 3
    assert "TARGET=arm64 TARGET_ARCH=aarch64" in text
    assert "# preflight:" in text and "clang-N" not in text
    assert not list((tmp_path / "cache").glob("kernels/*/metadata.json"))
    assert git(src, "rev-parse", "HEAD").strip() == base
    assert len(git(src, "worktree", "list").splitlines()) == 1


def test_concurrent_builds_of_one_key_build_once(tree: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    src, _ = tree
    use_backend(monkeypatch, ScriptBackend(delay=1.0))  # long enough for the two builds to overlap
    options = BuildOptions(("one",), "amd64", "script", src=src, jobs=1)
    results: list[pipeline.BuildResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(build(options, echo=lambda line: None))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sorted(r.cached for r in results) == [False, True]
    assert results[0].build_dir == results[1].build_dir
    assert (results[0].build_dir / "build.log").read_text().count("\ncompiling ") == 1


def test_missing_toolchain_is_said_before_a_release_is_downloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no cross toolchain and an unreachable mirror, the toolchain is what the user hears about first."""
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    with socket.socket() as probe:  # a port on this machine that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HARNESS_FREEBSD_MIRROR", f"http://127.0.0.1:{port}/")
    empty = tmp_path / "no-llvm"
    empty.mkdir()
    options = BuildOptions(("kstack-object",), "amd64", "cross", release="14.1-RELEASE", cross_bindir=empty)
    with pytest.raises(HostError, match="clang"):
        build(options)
