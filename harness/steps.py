"""Step events, after labgrid's: every long action is a named step with a start, an end and a duration.

Stages wrap their long work in ``with step("boot", arch="amd64"):``. Listeners receive the events: the CLI
installs one that shows progress on stderr, a run directory installs one that appends ``steps.jsonl``, tests
install one that records. Nothing here prints by itself, so library code stays quiet.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from harness.util.jsonable import dumps
from harness.util.text import one_line


@dataclass(frozen=True)
class StepEvent:
    name: str
    state: str  # "start" | "end" | "fail" | "note"
    depth: int
    time: float
    duration: float | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    message: str | None = None


Listener = Callable[[StepEvent], None]

_listeners: list[Listener] = []
_lock = threading.Lock()
_local = threading.local()


def add_listener(listener: Listener) -> None:
    with _lock:
        _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    with _lock, contextlib.suppress(ValueError):
        _listeners.remove(listener)


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[None]:
    add_listener(listener)
    try:
        yield
    finally:
        remove_listener(listener)


def _emit(event: StepEvent) -> None:
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(event)


def _depth() -> int:
    return int(getattr(_local, "depth", 0))


def note(name: str, message: str, **fields: Any) -> None:
    """A one-off event inside the current step (a warning, a fallback taken, a retry)."""
    _emit(StepEvent(name, "note", _depth(), time.time(), fields=fields, message=message))


def warn(name: str, message: str, **fields: Any) -> None:
    """A warning the operator must see (a plain-http mirror): a note for the listeners, or stderr if none listens."""
    with _lock:
        heard = bool(_listeners)
    note(name, f"warning: {message}", **fields)
    if not heard:
        print(f"harness: warning: {message}", file=sys.stderr)


@contextlib.contextmanager
def step(name: str, **fields: Any) -> Iterator[None]:
    depth = _depth()
    start = time.monotonic()
    _emit(StepEvent(name, "start", depth, time.time(), fields=fields))
    _local.depth = depth + 1
    try:
        yield
    except BaseException as exc:
        _local.depth = depth
        _emit(
            StepEvent(
                name, "fail", depth, time.time(), time.monotonic() - start, fields, f"{type(exc).__name__}: {exc}"
            )
        )
        raise
    _local.depth = depth
    _emit(StepEvent(name, "end", depth, time.time(), time.monotonic() - start, fields))


def record(name: str, started: float, duration: float, **fields: Any) -> None:
    """A step that already happened (``started`` wall-clock seconds, lasting ``duration``), e.g. a boot phase found
    afterwards in a time-stamped console log: its start and end events, inside the current step."""
    depth = _depth()
    _emit(StepEvent(name, "start", depth, started, fields=fields))
    _emit(StepEvent(name, "end", depth, started + duration, duration, fields))


class StderrProgress:
    """Shows steps as indented lines on a stream: ``→ boot (arch=amd64)`` … ``✓ boot 12.3 s``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def __call__(self, event: StepEvent) -> None:
        pad = "  " * event.depth
        extra = " ".join(f"{k}={v}" for k, v in event.fields.items())
        if event.state == "start":
            line = f"{pad}→ {event.name}" + (f" ({extra})" if extra else "")
        elif event.state == "end":
            line = f"{pad}✓ {event.name} {event.duration:.1f} s"
        elif event.state == "fail":
            line = f"{pad}✗ {event.name} {event.duration:.1f} s: {event.message}"
        else:
            line = f"{pad}! {event.name}: {event.message}"
        # Step messages carry what QEMU and the guest printed: shown escaped, one bounded line each.
        print(one_line(line), file=self.stream, flush=True)


class JsonlRecorder:
    """Appends every event to a JSON-lines file (a run directory's ``steps.jsonl``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, event: StepEvent) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(dumps(event, strict=False) + "\n")
