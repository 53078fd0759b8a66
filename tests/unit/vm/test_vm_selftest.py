"""`harness selftest` on a host that lacks QEMU: a failed row naming the binary, no boot, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main as cli_main
from harness.settings import PROJECT_ROOT
from tests.support.cli import run_harness


def _without_qemu(data_dir: Path) -> None:
    configs = data_dir / "vm_configs"
    configs.mkdir()
    real = (PROJECT_ROOT / "vm_configs" / "linuxtest-amd64.toml").read_text()
    (configs / "linuxtest-amd64.toml").write_text(real.replace("qemu-system-x86_64", "qemu-system-nonexistent"))


def test_missing_qemu_fails_the_host_checks_and_skips_the_guest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _without_qemu(tmp_path)
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path))
    assert cli_main.main(["selftest", "--arch", "amd64", "--json"]) == 2
    printed = json.loads(capsys.readouterr().out)
    assert printed["ok"] is False and printed["arch"] == "amd64"
    rows = {row["name"]: row for row in printed["checks"]}
    assert rows["qemu binary"]["status"] == "fail"
    assert "qemu-system-nonexistent not found" in rows["qemu binary"]["detail"]
    assert rows["boot test guest"] == {
        "name": "boot test guest",
        "status": "skip",
        "detail": "host checks failed",
        "seconds": 0.0,
    }


def test_the_checks_fail_under_python_O_too(tmp_path: Path) -> None:
    """The checks are not ``assert`` statements, which ``python -O`` would remove."""
    _without_qemu(tmp_path)
    ended = run_harness(
        ["selftest", "--arch", "amd64", "--json"],
        cwd=tmp_path,
        env={"PYTHONOPTIMIZE": "1", "HARNESS_DATA_DIR": str(tmp_path)},
    )
    assert ended.code == 2, ended
    rows = {row["name"]: row for row in json.loads(ended.stdout)["checks"]}
    assert rows["qemu binary"]["status"] == "fail" and "not found" in rows["qemu binary"]["detail"]
