"""Hostile input for `harness model`: the review's cases A.4 (all held up; representative ones kept as tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import assert_no_traceback, assert_one_line_error
from tests.support.inproc import run_in_process

PREDICT = ("model", "predict", "--workload", "thread-hold")

CASES = [
    # id, argv, exit code, mentions (None with 0: a control that must pass)
    ("a4-6-unknown-generation", (*PREDICT, "--generation", "G9"), 2, "unknown generation"),
    ("a4-9-unknown-arch", (*PREDICT, "--generation", "G1", "--arch", "sparc64"), 2, "unknown arch"),
    (
        "a4-12-unmodelled-workload",
        ("model", "predict", "--generation", "G1", "--workload", "stress2"),
        2,
        "unknown workload",
    ),
    ("a4-13-threads-negative", (*PREDICT, "--generation", "G1", "--threads", "-1"), 2, "--threads"),
    ("a4-16-threads-float", (*PREDICT, "--generation", "G1", "--threads", "1e3"), 2, "--threads"),
    ("a4-20-ncpu-zero", (*PREDICT, "--generation", "G1", "--ncpu", "0"), 2, "--ncpu"),
    ("a4-24-ndomains-99", (*PREDICT, "--generation", "G1", "--ndomains", "99"), 2, "ndomains"),
    ("a4-26-kstack-pages-huge", (*PREDICT, "--generation", "G1", "--kstack-pages", "1000000"), 2, "kstack_pages"),
    ("a4-3-predict-control", (*PREDICT, "--generation", "G1"), 0, None),
    ("a4-19-threads-10e30-control", (*PREDICT, "--generation", "G1", "--threads", "1" + "0" * 30), 0, None),
]


@pytest.mark.parametrize(("argv", "code", "mentions"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_model_input(
    argv: tuple[str, ...], code: int, mentions: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_in_process(argv, cwd=tmp_path, monkeypatch=monkeypatch)
    if code == 0:
        assert_no_traceback(result, 0)
        assert result.stdout.strip()
    else:
        assert_one_line_error(result, code, mentions=mentions)
    assert not (tmp_path / ".cache").exists() or not any((tmp_path / ".cache").rglob("*.json"))
