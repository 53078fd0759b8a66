"""``python -m harness.nightly.child PARENT_PID -- harness ARGS``: ``harness ARGS`` that dies with its parent.

A cell runs ``harness run`` as a child of the Dask worker. If the worker is killed (SIGKILL: no cleanup of its
own), the kernel sends the harness SIGTERM (``PR_SET_PDEATHSIG``, kept across the exec below), which the harness
turns into the usual unwinding: the VM is shut down and no QEMU is left. Set here rather than in a
``preexec_fn`` (not safe in the worker's threads); the parent check closes the window in which the parent died
before the prctl. Then this process becomes ``python -m harness.cli.main ARGS`` (exec: the same pid).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--" or not argv[0].isdigit():
        print("usage: python -m harness.nightly.child PARENT_PID -- harness ARGS", file=sys.stderr)
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
    if os.getppid() != int(argv[0]):
        return 2  # the parent is gone already: nobody wants this run
    args = argv[2:]
    args = args[1:] if args and args[0] == "harness" else args
    os.execv(sys.executable, [sys.executable, "-m", "harness.cli.main", *args])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
