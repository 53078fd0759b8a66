"""`harness nightly run --scheduler` on a real Dask cluster (a scheduler and two workers started as separate
processes on 127.0.0.1, `dask worker --resources vm=1`), with the 4-cell matrix of the Linux test guest (amd64
and arm64 × thread-hold and thread-churn, the smallest parameters). One worker is SIGKILLed while its cell's VM
runs: the night still completes (the cell retried on the other worker) and no QEMU is left. Then Ctrl-C on the
coordinator mid-night: every cell is cancelled, no QEMU is left on the worker, the history is unchanged."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xmlschema

from harness.nightly import history
from harness.report import junit
from tests.support.dask_cluster import alive, dask_cluster, qemu_under
from tests.support.nightly import write_matrix

pytestmark = pytest.mark.integration

NEEDS = ("qemu-system-x86_64", "qemu-system-aarch64", "x86_64-linux-gnu-gcc", "aarch64-linux-gnu-gcc")


def _need() -> None:
    for tool in NEEDS:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    pytest.importorskip("distributed")


def _nightly(matrix: Path, out: Path, scheduler: str, db: Path, *extra: str) -> subprocess.Popen[bytes]:
    argv = [str(matrix), "--out", str(out), "--scheduler", scheduler, "--history", str(db), *extra]
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli.main", "nightly", "run", *argv],
        cwd=out.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for(predicate: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_night_on_a_real_dask_cluster_survives_a_lost_worker_and_ctrl_c(tmp_path: Path) -> None:
    _need()
    matrix = write_matrix(tmp_path / "m")
    db = tmp_path / "history.sqlite"
    with dask_cluster(tmp_path / "dask") as cluster:
        w1, w2 = cluster.workers["w1"], cluster.workers["w2"]
        w2_address = cluster.worker_address("w2")
        night = _nightly(matrix, tmp_path / "n1", cluster.address, db, "--night", "n1", "--json")
        # Kill w1 on its second cell (its first finished normally), while that cell's VM runs.
        seen: set[int] = set()

        def second_vm_on_w1() -> bool:
            assert night.poll() is None, night.communicate()[1].decode()[-3000:]
            seen.update(qemu_under(w1.pid))
            return len(seen) >= 2

        _wait_for(second_vm_on_w1, 240, "w1's second VM")
        time.sleep(3)
        victim_vms = qemu_under(w1.pid)
        os.kill(w1.pid, signal.SIGKILL)
        w1.wait()
        out, err = night.communicate(timeout=300)
        assert night.returncode == 0, err.decode()[-3000:]
        # The killed worker's harness run shut its VM down (PR_SET_PDEATHSIG → SIGTERM → the usual unwinding).
        _wait_for(lambda: not alive(victim_vms | seen), 60, "the lost worker's QEMU to go")
        assert not qemu_under(w2.pid)
        data = json.loads(out)
        cells = {c["cell"]: c for c in data["cells"]}
        assert len(cells) == 4 and {c["status"] for c in cells.values()} == {"pass"}, err.decode()[-3000:]
        for cell in cells.values():
            (repeat,) = cell["repeats"]
            assert (tmp_path / "n1" / repeat["run_dir"] / "results.json").is_file()
        retried = [c for c in cells.values() if c["repeats"][0]["attempts"] == 2]
        assert len(retried) == 1 and retried[0]["repeats"][0]["worker"] == w2_address
        assert "nightly: Dask cluster" in err.decode() and "4/4 done" in err.decode()
        xmlschema.XMLSchema(junit.schema_path()).validate(tmp_path / "n1" / "junit.xml")

        # Ctrl-C on the coordinator while w2 runs a cell: cancelled everywhere, no QEMU left, history unchanged.
        second = _nightly(matrix, tmp_path / "n2", cluster.address, db, "--night", "n2")
        _wait_for(lambda: bool(qemu_under(w2.pid)), 120, "a VM on w2")
        vms = qemu_under(w2.pid)
        second.send_signal(signal.SIGINT)
        _, err2 = second.communicate(timeout=120)
        assert second.returncode == 130, err2.decode()[-2000:]
        assert "interrupted" in err2.decode()
        _wait_for(lambda: not alive(vms) and not qemu_under(w2.pid), 60, "w2's QEMU to go")
        assert [n["night"] for n in history.nights(db)] == ["n1"]
        assert (tmp_path / "n2" / "INTERRUPTED").is_file()
