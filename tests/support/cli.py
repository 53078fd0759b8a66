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
) -> CliResult:
    """``python -m harness.cli.main ARGV`` with a scratch cache (``cwd/.cache``) unless ``env`` names one."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_") or k == "HARNESS_FIXTURES"}
    full_env.setdefault("HARNESS_CACHE_DIR", str(cwd / ".cache"))
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli.main", *argv],
        cwd=cwd,
        env=full_env,
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    return CliResult(
        tuple(argv),
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


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
