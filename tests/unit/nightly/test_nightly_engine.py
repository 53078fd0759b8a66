"""The Dask engine's failure handling on a real local Dask cluster of worker processes, without VMs: a worker
killed under a cell gets the cell retried once elsewhere; killed again, the cell is an infrastructure error; the
other cells complete either way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.nightly.cell import CellResult
from harness.nightly.engine import DaskRunner
from harness.nightly.plan import CellTask
from tests.support.dask_cells import cell_or_die

distributed = pytest.importorskip("distributed")

TASKS = [CellTask(f"cell-{i}", 1, ("harness", "run")) for i in range(4)]


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    # Read by the worker processes the cluster starts (they inherit this environment).
    monkeypatch.setenv("NIGHTLY_TEST_DIE", "cell-1@1,cell-2")
    monkeypatch.setenv("NIGHTLY_TEST_MARKS", str(tmp_path))
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, resources={"vm": 1}, dashboard_address=None
    ) as local:
        yield str(local.scheduler_address)


def test_a_lost_worker_is_retried_once_then_an_infrastructure_error(cluster: str) -> None:
    results: dict[str, CellResult] = {}
    lines: list[str] = []
    runner = DaskRunner(scheduler=cluster, cell=cell_or_die, announce=lines.append)
    runner.run(TASKS, {}, lambda result: results.__setitem__(result.cell, result))
    assert sorted(results) == [t.cell for t in TASKS]
    assert results["cell-0"].exit_code == 0 and results["cell-0"].attempts == 1
    assert results["cell-3"].exit_code == 0
    # Lost on its first attempt, passed on the retry.
    assert results["cell-1"].exit_code == 0 and results["cell-1"].attempts == 2 and results["cell-1"].packed
    # Lost twice: not retried a third time, an infrastructure error with no run directory.
    lost = results["cell-2"]
    assert lost.exit_code == 2 and lost.packed is None and "lost 2 times" in lost.message
    assert lines and "2 VM slot(s)" in lines[0]
