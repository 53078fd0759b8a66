"""Run the real `harness` command in a subprocess, as an operator or a CI job would, and judge how it ended.

Used by the hostile-input suite (tests/hostile/): every bad input must end with the documented exit code and one
line on stderr naming the cause, never a traceback, and must change nothing outside the directory it was given.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: What Python prints when an exception escapes; the harness must never show it to an operator.
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "', "Error: ", "Exception: ")


@dataclass(frozen=True)
class CliResult:
    argv: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        head = f"harness {' '.join(self.argv)} → exit {self.code}"
        return f"{head}\nstdout:\n{self.stdout[-2000:]}\nstderr:\n{self.stderr[-2000:]}"


def run_harness(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = 120,
    prefix: Sequence[str] = (),
    stdout_to: Path | None = None,
) -> CliResult:
    """``python -m harness.cli.main ARGV`` with a scratch cache (``cwd/.cache``) unless ``env`` names one.
    ``prefix`` runs it under another command (``setpriv`` as another user); ``stdout_to`` sends standard output
    to that file (``/dev/full``) instead of capturing it."""
    out = stdout_to.open("wb") if stdout_to is not None else None
    try:
        proc = subprocess.run(
            [*prefix, sys.executable, "-m", "harness.cli.main", *argv],
            cwd=cwd,
            env=_environment(cwd, env),
            input=stdin,
            stdout=out if out is not None else subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=timeout,
            check=False,
        )
    finally:
        if out is not None:
            out.close()
    return CliResult(
        tuple(argv),
        proc.returncode,
        (proc.stdout or b"").decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


def _environment(cwd: Path, env: Mapping[str, str] | None) -> dict[str, str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_") or k == "HARNESS_FIXTURES"}
    full_env.setdefault("HARNESS_CACHE_DIR", str(cwd / ".cache"))
    full_env.update(env or {})
    return full_env


def run_harness_reader_gone(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 120
) -> CliResult:
    """``harness ARGV | true``: standard output is a pipe whose reader closed it before the first byte, as when
    the output goes to ``head -1`` or a reader that stopped early. stdout of the result is empty."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "harness.cli.main", *argv],
            cwd=cwd,
            env=_environment(cwd, env),
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=timeout,
            check=False,
        )
    finally:
        os.close(write_end)
    return CliResult(tuple(argv), proc.returncode, "", proc.stderr.decode("utf-8", "replace"))


def assert_one_line_error(result: CliResult, code: int, *, mentions: str | None = None) -> None:
    """The run ended with ``code`` and one ``harness: error: …`` line (naming ``mentions``), no traceback."""
    assert result.code == code, str(result)
    assert "Traceback (most recent call last)" not in result.stderr + result.stdout, str(result)
    errors = [line for line in result.stderr.splitlines() if line.startswith("harness: error:")]
    assert len(errors) == 1, str(result)
    if mentions is not None:
        assert mentions.lower() in errors[0].lower(), str(result)


def assert_no_traceback(result: CliResult, *codes: int) -> None:
    """The run ended with one of ``codes`` and printed no traceback."""
    assert result.code in codes, str(result)
    assert "Traceback (most recent call last)" not in result.stderr + result.stdout, str(result)


def tree_state(root: Path) -> dict[str, str]:
    """Every entry under ``root`` (not following symlinks) → its kind and content digest, to assert nothing changed."""
    state: dict[str, str] = {}
    if not root.exists():
        return state
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                state[rel] = "link:" + os.readlink(path)
            elif path.is_file():
                state[rel] = "file:" + hashlib.sha256(path.read_bytes()).hexdigest()
            elif path.is_dir():
                state[rel] = "dir"
    return state


def outside_state(root: Path, *inside: Path) -> dict[str, str]:
    """:func:`tree_state` of ``root`` without the entries under ``inside`` (the directories a verb may write)."""
    skip = [str(p.relative_to(root)) for p in inside]
    return {
        rel: what
        for rel, what in tree_state(root).items()
        if not any(rel == s or rel.startswith(s + os.sep) for s in skip)
    }
