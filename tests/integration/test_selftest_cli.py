"""`harness selftest` end to end on the Debian-kernel guest (the debugger row is skipped with its reason)."""

from __future__ import annotations

import json

import pytest

from harness.cli import main as cli_main

pytestmark = pytest.mark.integration


def test_selftest_passes_and_reports_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["selftest", "--arch", "amd64", "--kdb", "no", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    status = {row["name"]: row["status"] for row in report["checks"]}
    assert status["debugger (kdb)"] == "skip"
    for name in ("boot + console login", "ssh command", "sftp round trip", "crash detection", "no QEMU left running"):
        assert status[name] == "pass", report
    assert status["accelerator"] in {"pass", "warn"}
