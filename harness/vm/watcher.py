"""The console watcher: every byte read from the console is checked for the guest's death strings.

It lives in the pump thread, not in ``expect``: a panic is noticed while the harness is busy elsewhere (waiting
on an SSH command), and the callbacks registered with ``on_crash`` (e.g. aborting that SSH command) run at once.
"""

from __future__ import annotations

import codecs
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from harness.errors import GuestCrashed, KernelPanic, UnexpectedDebugger
from harness.vm.guest import DeathStrings

#: CSI escape sequences (ash's ``ESC[6n`` after every prompt) are noise for line matching.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: An unfinished line is judged again at every read while it is at most this long (prompts such as ``db> `` have
#: no newline after them, and crash lines are short). Beyond it, judging the whole line at every read would make
#: a guest that prints without newlines (a progress bar, binary data on /dev/console) cost quadratic time in the
#: pump thread; such a line is judged once it ends, or when it reaches MAX_LINE.
JUDGE_PARTIAL = 1024
#: A line longer than this is ended by the watcher (its text kept, cut with a note): lines are kept for excerpts
#: and error messages, and an endless one must not grow without bound.
MAX_LINE = 16384


@dataclass(frozen=True)
class Crash:
    kind: str  # "panic" | "debugger"
    pattern: str
    line: str
    line_index: int
    time: float


CrashCallback = Callable[[Crash], None]


class Watcher:
    """Splits the console stream into lines, keeps the recent ones, and recognises crashes."""

    def __init__(self, death: DeathStrings, *, keep_lines: int = 2000) -> None:
        self._panic = [re.compile(p) for p in death.panic]
        self._debugger = [re.compile(p) for p in death.debugger]
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._lines: deque[str] = deque(maxlen=keep_lines)
        self._partial = ""
        self._count = 0  # complete lines seen so far (the index of the partial line)
        self._lock = threading.Lock()
        self._callbacks: list[CrashCallback] = []
        self._debugger_expected = 0
        self._armed_from = 0  # lines before this index were already judged (after acknowledge)
        # The line being read while the debugger was expected (its prompt line): it stays excused from the
        # debugger patterns when it completes after the harness resumed (e.g. "[0]kdb> go").
        self._excused_line = -1
        self.crash: Crash | None = None
        #: Every crash seen, acknowledged or not (a guest that crashed once is not trusted to power off).
        self.history: list[Crash] = []
        self.last_data = time.monotonic()

    # --- fed by the pump thread --------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        text = _ANSI.sub("", self._decoder.decode(data)).replace("\r", "")
        found: Crash | None = None
        with self._lock:
            self.last_data = time.monotonic()
            *complete, partial = text.split("\n")
            if complete:
                complete[0] = self._partial + complete[0]
                self._partial = ""
            for line in complete:
                crash = self._add_line(line)
                found = found or crash
            joined, begin = self._partial + partial, 0
            while len(joined) - begin > MAX_LINE:  # an endless line: end it at MAX_LINE, judge it, go on
                crash = self._add_line(joined[begin : begin + MAX_LINE])
                found = found or crash
                begin += MAX_LINE
            self._partial = joined[begin:]
            if len(self._partial) <= JUDGE_PARTIAL:
                found = found or self._judge(self._partial, self._count)
            if found:
                self.crash = found
                self.history.append(found)
            callbacks = list(self._callbacks) if found else []
        for callback in callbacks:
            callback(found)  # type: ignore[arg-type]

    def _add_line(self, line: str) -> Crash | None:
        if len(line) > MAX_LINE:
            line = f"{line[:MAX_LINE]}… [cut {len(line) - MAX_LINE} bytes]"
        found = self._judge(line, self._count)
        self._lines.append(line)
        self._count += 1
        return found

    def _judge(self, line: str, index: int) -> Crash | None:
        if self.crash is not None or index < self._armed_from or not line:
            return None
        for pattern in self._panic:
            if pattern.search(line):
                return Crash("panic", pattern.pattern, line, index, time.time())
        if self._debugger_expected:
            self._excused_line = index
            return None
        if index == self._excused_line:
            return None
        for pattern in self._debugger:
            if pattern.search(line):
                return Crash("debugger", pattern.pattern, line, index, time.time())
        return None

    # --- used by the Console -----------------------------------------------------------------------------------

    def on_crash(self, callback: CrashCallback) -> None:
        with self._lock:
            self._callbacks.append(callback)
            crash = self.crash
        if crash:
            callback(crash)

    def remove_callback(self, callback: CrashCallback) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def expect_debugger(self, expected: bool) -> None:
        with self._lock:
            self._debugger_expected += 1 if expected else -1

    def acknowledge(self) -> Crash | None:
        """Forget the current crash (the caller handled it); only lines after it can raise again."""
        with self._lock:
            crash, self.crash = self.crash, None
            self._armed_from = self._count + 1
        return crash

    def last_lines(self, count: int = 20) -> list[str]:
        with self._lock:
            lines = list(self._lines)
            if self._partial:
                lines.append(self._partial)
        return lines[-count:] if count > 0 else []

    def lines_since(self, index: int, limit: int = 200) -> list[str]:
        with self._lock:
            first = self._count - len(self._lines)
            lines = list(self._lines)[max(0, index - first) :]
            if self._partial:
                lines.append(self._partial)
        return lines[:limit]

    def settle(self, quiet: float = 0.5, limit: float = 3.0) -> None:
        """Wait until the console has been quiet for ``quiet`` s (a panic's backtrace is still printing)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and time.monotonic() - self.last_data < quiet:
            time.sleep(0.05)

    def error_for(self, crash: Crash, *, log_hint: str | None = None) -> GuestCrashed:
        """The typed exception for a crash, carrying its console excerpt (a few lines of context before it)."""
        start = max(0, crash.line_index - 3)
        excerpt = self.lines_since(start, limit=120)
        # The crash line was maybe still incomplete when it matched; show it as it ended up.
        full = self.lines_since(crash.line_index, limit=1)
        crash = replace(crash, line=full[0]) if full and crash.line in full[0] else crash
        if crash.kind == "panic":
            return KernelPanic(
                f"guest kernel crashed: {crash.line.strip()}", title=crash.line.strip(), excerpt=excerpt, hint=log_hint
            )
        return UnexpectedDebugger(
            f"guest kernel entered its debugger unasked: {crash.line.strip()}",
            title=crash.line.strip(),
            excerpt=excerpt,
            hint=log_hint,
        )
