"""Host subprocesses that never outlive their owner: the one place a process group is ended.

A command started with ``start_new_session=True`` leads a process group of its own (make, tar pipelines, a user's
``sh -c``); on any exception (error, Ctrl-C, SIGTERM turned into KeyboardInterrupt) the whole group is ended:
SIGTERM, ``grace`` seconds to exit, then SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from typing import TypeVar

_Output = TypeVar("_Output", str, bytes)


def stop_group(process: subprocess.Popen[_Output], grace: float) -> None:
    """End ``process``'s whole process group: SIGTERM, up to ``grace`` seconds, then SIGKILL (at once if 0)."""
    if grace > 0:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextlib.contextmanager
def owned_group(process: subprocess.Popen[_Output], grace: float) -> Iterator[subprocess.Popen[_Output]]:
    """Wait for ``process`` in the block; on any exception its process group is ended first, then it propagates."""
    try:
        yield process
    except BaseException:
        stop_group(process, grace)
        raise


#: The signals the harness turns into an orderly unwinding (cli/main.py): SIGINT, and SIGTERM as KeyboardInterrupt.
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


def leave_stop_signals_to_main_thread() -> None:
    """Called first in a helper thread (the console pump, paramiko's transport): it blocks SIGINT and SIGTERM.

    The kernel delivers a process-directed signal to any thread that does not block it. Python runs its handler in
    the main thread only, and a main thread blocked in a lock wait (an SFTP reply, a condition) wakes only when the
    signal interrupts *its* wait: SIGTERM landing on a helper thread left a harness whose Dask worker had died
    (PR_SET_PDEATHSIG) waiting forever, QEMU and all. Only the helper's own mask changes, never the main thread's.
    """
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
