"""Run ``harness`` in this process, with what a subprocess would see: its own env, cwd, stdout and stderr.

The hostile-input suite has a hundred cases; a fresh interpreter per case costs a second on a loaded runner, this
costs milliseconds. An exception that escapes ``main`` is printed as the interpreter would print it (a traceback,
exit 1), so the same assertions (tests/support/cli.py) apply. Each module also keeps a case or two through the
real subprocess runner.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from harness.cli.main import main
from tests.support.cli import CliResult


def _exit_code(exc: SystemExit, err: io.StringIO) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=err)  # what the interpreter does with sys.exit("message")
    return 1


#: ``run_in_process`` with its cwd and monkeypatch bound (the ``harness`` fixture of tests/hostile/conftest.py).
Harness = Callable[..., CliResult]


def run_in_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> CliResult:
    """``main(argv)`` with a scratch cache (``cwd/.cache``) unless ``env`` names one, like ``run_harness``;
    ``stdin`` is what standard input holds (empty by default)."""
    for key in list(os.environ):
        if key.startswith("HARNESS_") and key != "HARNESS_FIXTURES":
            monkeypatch.delenv(key)
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(cwd / ".cache"))
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(cwd)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin or ""))
    out, err = io.StringIO(), io.StringIO()
    previous = signal.getsignal(signal.SIGTERM)  # main() installs its own handler
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(argv))
            except SystemExit as exc:
                code = _exit_code(exc, err)
            except Exception:
                traceback.print_exc()
                code = 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    return CliResult(tuple(argv), code, out.getvalue(), err.getvalue())
