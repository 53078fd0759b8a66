"""Signal dispositions a signal test sets for the process it signals, whatever it inherited.

A test run started from a non-interactive shell's background job inherits SIGINT *ignored* (POSIX: ``cmd &``), and
an ignored disposition survives exec: the harness would never see the Ctrl-C the test sends. Each signal test
therefore starts its child with the dispositions an operator's terminal gives it.
"""

from __future__ import annotations

import signal

#: What a process started from a terminal has: Python turns SIGINT into KeyboardInterrupt, SIGTERM kills.
TERMINAL_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def terminal_dispositions() -> None:
    """``preexec_fn`` for ``subprocess.Popen``: every signal a test may send back at its default disposition."""
    for signum in TERMINAL_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
