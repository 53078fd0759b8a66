"""A real Dask cluster for tests: ``dask scheduler`` and ``dask worker --resources vm=1`` as separate processes on
127.0.0.1, each in its own process group and ended (the whole group) when the test leaves, plus helpers that
find the QEMU processes a worker started."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.procs import proc_table

DASK = str(Path(sys.executable).with_name("dask"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def qemu_under(pid: int) -> set[int]:
    """QEMU processes descending from ``pid``."""
    table = proc_table()
    found = set()
    for child, (_, name) in table.items():
        if not name.startswith("qemu-system"):
            continue
        walk = child
        while walk in table and walk > 1:
            walk = table[walk][0]
            if walk == pid:
                found.add(child)
                break
    return found


def alive(pids: set[int]) -> set[int]:
    table = proc_table()
    return {pid for pid in pids if pid in table}


@dataclass
class DaskProcs:
    address: str
    scheduler: subprocess.Popen[bytes]
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: Path = Path()

    def worker_address(self, name: str) -> str:
        from distributed import Client

        with Client(self.address, timeout="20s") as client:
            info = client.scheduler_info(n_workers=-1)
            return next(addr for addr, w in info["workers"].items() if w.get("name") == name)


def _start(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _end(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextlib.contextmanager
def dask_cluster(logs: Path, workers: tuple[str, ...] = ("w1", "w2")) -> Iterator[DaskProcs]:
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs.mkdir(parents=True, exist_ok=True)
    scheduler = _start(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], logs / "scheduler.log"
    )
    procs = DaskProcs(address, scheduler, logs=logs)
    try:
        for name in workers:
            options = ["--name", name, "--nthreads", "1", "--resources", "vm=1", "--no-nanny", "--no-dashboard"]
            procs.workers[name] = _start(
                [DASK, "worker", address, *options, "--host", "127.0.0.1"], logs / f"{name}.log"
            )
        deadline = time.monotonic() + 90
        while True:
            try:
                with Client(address, timeout="10s") as client:
                    client.wait_for_workers(len(workers), timeout=60)
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        yield procs
    finally:
        for process in procs.workers.values():
            _end(process)
        _end(scheduler)
