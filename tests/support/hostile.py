"""Builders for the hostile-input suite (tests/hostile/): run directories, results, QEMU stubs and a git tree, each
made in the test's own scratch directory so a case builds exactly the bad input it names."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.run.rundir import RunDir

#: The real 12.1 ``sysctl -a`` capture (read from the shared fixtures, never copied), as
#: tests/unit/run/test_run_analyze_fixtures.py gives it to a FreeBSD run directory.
SYSCTL_FIXTURE = "sysctl-a__12.1-RELEASE__amd64__1.txt"
HOLD = "thread-hold"


def make_run(root: Path, name: str, meta: dict[str, Any] | None = None) -> Path:
    """A run directory as ``harness run`` starts it (metadata.json, reproducer.sh, raw/, parsed/)."""
    base = {"guest": "freebsd", "arch": "amd64", "workloads": []}
    return RunDir.create(root, name, {**base, **(meta or {})}, ["harness", "run"]).path


def give_sysctl(run: Path, fixtures: Path) -> None:
    """The run's fingerprint and thread-hold ``before`` snapshot: the real 12.1 capture."""
    text = (fixtures / SYSCTL_FIXTURE).read_text(encoding="utf-8")
    for parts in (("fingerprint",), (HOLD, "before")):
        target = run.joinpath("raw", *parts, "sysctl.txt")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def held_run(root: Path, name: str, fixtures: Path, meta: dict[str, Any] | None = None) -> Path:
    """A FreeBSD thread-hold run with the real capture: analyze judges real checks on it."""
    run = make_run(root, name, {"workloads": [{"name": HOLD, "params": {"threads": 256}}], **(meta or {})})
    give_sysctl(run, fixtures)
    return run


def set_metadata(run: Path, **fields: Any) -> None:
    """Change metadata.json fields in place (``None`` removes one)."""
    path = run / "metadata.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for key, value in fields.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(json.dumps(data), encoding="utf-8")


def linux_snapshot(kstack: int | str = 912, meminfo: int | str = 900, tasks: int | str = 57) -> str:
    return (
        f"== vmstat\nnr_free_pages 100\nnr_kernel_stack {kstack}\n"
        f"== meminfo\nMemTotal:         500000 kB\nKernelStack:        {meminfo} kB\n== tasks\n{tasks}\n"
    )


def linux_run(root: Path, name: str, params: dict[str, Any] | None = None, snapshot: str | None = None) -> Path:
    """A Linux test-guest thread-hold run with before/plateau snapshots."""
    entry = {"name": HOLD, "params": {"threads": 64, "hold_seconds": 5, **(params or {})}}
    run = make_run(root, name, {"guest": "linuxtest", "workloads": [entry]})
    for phase in ("before", "plateau"):
        target = run / "raw" / HOLD / phase / "snapshot.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(snapshot or linux_snapshot(), encoding="utf-8")
    return run


def verdict(status: str = "pass", observed: Any = 4, **extra: Any) -> dict[str, Any]:
    """One check as results.json holds it."""
    return {
        "workload": HOLD,
        "invariant": "I-1",
        "name": "kern.kstack_pages",
        "phase": "before",
        "status": status,
        "expected": "4",
        "observed": observed,
        "unit": "pages",
        "tolerance": 0,
        "why": "",
        **extra,
    }


def stored_run(
    root: Path,
    name: str,
    verdicts: list[Any] | None = None,
    *,
    outcome: str = "passed",
    exit_code: int = 0,
    crash: Any = None,
    error: Any = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """A finished run directory for ``harness compare``: metadata.json and the results.json the writer makes."""
    run = make_run(root, name, meta)
    results = {
        "run_id": name,
        "verdicts": [verdict()] if verdicts is None else verdicts,
        "outcome": outcome,
        "exit_code": exit_code,
        "crash": crash,
        "error": error,
    }
    (run / "results.json").write_text(json.dumps(results), encoding="utf-8")
    return run


def fake_qemu(directory: Path) -> dict[str, str]:
    """An environment whose ``qemu-system-*`` refuse to start (exit 1): ``run`` goes up to and through the QEMU
    launch and no guest ever boots."""
    bin_dir = directory / "fake-bin"
    bin_dir.mkdir(exist_ok=True)
    for name in ("qemu-system-x86_64", "qemu-system-aarch64"):
        stub = bin_dir / name
        stub.write_text('#!/bin/sh\necho "fake qemu: refusing to boot" >&2\nexit 1\n', encoding="utf-8")
        stub.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


def fake_image(directory: Path) -> Path:
    """A sparse raw file standing in for a FreeBSD image (QEMU is a stub, nothing reads it)."""
    image = directory / "fake.raw"
    with image.open("wb") as out:
        out.truncate(64 * 1024 * 1024)
    return image


def git_tree(path: Path, commits: int = 8, first_bad: int = 5, bad_subject: str | None = None) -> Path:
    """A git checkout whose commit n >= ``first_bad`` adds BAD_MARK; tags good0 (first) and bad0 (last). The first
    bad commit's subject is ``bad_subject`` when given."""
    env = dict(
        os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t"
    )

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True, env=env)

    path.mkdir(parents=True)
    git("init", "-q", "-b", "main")
    for n in range(1, commits + 1):
        (path / "n").write_text(f"{n}\n")
        if n >= first_bad:
            (path / "BAD_MARK").write_text("bad\n")
        git("add", "-A")
        subject = bad_subject if bad_subject is not None and n == first_bad else f"commit {n}"
        git("commit", "-q", "-m", subject)
    git("tag", "good0", "HEAD~" + str(commits - 1))
    git("tag", "bad0", "HEAD")
    return path


def nobody_prefix() -> list[str] | None:
    """``setpriv`` as user nobody when this process is root (permissions do not stop root), else ``[]``; None when
    neither works, or when nobody cannot run this interpreter and import harness (the case is skipped)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "import harness.cli.main"], capture_output=True, cwd="/")
    return prefix if probe.returncode == 0 else None
