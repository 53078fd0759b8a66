"""Ctrl-C and SIGTERM reach the harness's main thread, never a helper thread (util.procs).

A process-directed signal goes to any thread that does not block it; Python handles it in the main thread only, and a
main thread blocked in a lock wait (an SFTP reply) is woken only by a signal delivered to it. A harness whose Dask
worker died (PR_SET_PDEATHSIG → SIGTERM) was found hours later still waiting on an SFTP reply with its QEMU up."""

from __future__ import annotations

import os
import pty
import signal
import socket
import threading
import tty
from pathlib import Path

from harness.util.procs import STOP_SIGNALS, leave_stop_signals_to_main_thread
from harness.vm import ssh
from harness.vm.console import Console
from harness.vm.guest import DeathStrings
from harness.vm.stream import FdStream


def _blocked(tid: int) -> set[int]:
    """The signals thread ``tid`` of this process blocks (``SigBlk`` in /proc)."""
    for line in Path(f"/proc/self/task/{tid}/status").read_text().splitlines():
        if line.startswith("SigBlk:"):
            mask = int(line.split()[1], 16)
            return {n for n in range(1, 65) if mask & (1 << (n - 1))}
    raise AssertionError("no SigBlk line")


def test_a_helper_thread_blocks_the_stop_signals_and_the_main_thread_does_not() -> None:
    seen: list[set[int]] = []

    def helper() -> None:
        leave_stop_signals_to_main_thread()
        seen.append(set(signal.pthread_sigmask(signal.SIG_BLOCK, [])))

    thread = threading.Thread(target=helper)
    thread.start()
    thread.join()
    assert seen[0] >= STOP_SIGNALS
    assert not STOP_SIGNALS & set(signal.pthread_sigmask(signal.SIG_BLOCK, []))


def test_the_console_pump_leaves_stop_signals_to_the_main_thread(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    tty.setraw(slave)
    console = Console(FdStream(master), death=DeathStrings(), log_dir=tmp_path, timeout=5)
    try:
        pump = console._pump
        assert pump.native_id is not None
        assert {int(s) for s in STOP_SIGNALS} <= _blocked(pump.native_id)
        assert not {int(s) for s in STOP_SIGNALS} & _blocked(threading.get_native_id())
    finally:
        console.close()
        os.close(slave)


def test_the_ssh_transport_thread_leaves_stop_signals_to_the_main_thread() -> None:
    blocked: list[set[int]] = []

    class Probe(ssh._Transport):
        def run(self) -> None:  # the transport's own thread: its mask once paramiko's loop has ended
            super().run()
            blocked.append(set(signal.pthread_sigmask(signal.SIG_BLOCK, [])))

    ours, theirs = socket.socketpair()
    theirs.close()  # paramiko's reader sees EOF at once and its loop ends
    try:
        assert isinstance(ssh._transport_factory(ours, disabled_algorithms=None), ssh._Transport)
        transport = Probe(ours)
        transport.start()
        transport.join(timeout=10)
        assert not transport.is_alive() and blocked
        assert blocked[0] >= STOP_SIGNALS
        assert not STOP_SIGNALS & set(signal.pthread_sigmask(signal.SIG_BLOCK, []))
    finally:
        ours.close()
