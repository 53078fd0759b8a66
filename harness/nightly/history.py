"""The nightly history: every night recorded in an embedded SQLite database, and each check's lifecycle across
nights (new failure, still failing since night X, fixed, flaky with its rate over the last N nights, known).

Default place: ``$XDG_DATA_HOME/freebsd-kstack-harness/nightly.sqlite`` (``--history PATH``). A night is written
in one transaction: an interrupted nightly leaves the database as it was, or with the whole night.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import InfraError, UsageError

SCHEMA = """
CREATE TABLE IF NOT EXISTS nights (
    id INTEGER PRIMARY KEY,
    night TEXT NOT NULL UNIQUE,
    started TEXT NOT NULL,
    matrix TEXT,
    out_dir TEXT,
    exit_code INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    night_id INTEGER NOT NULL REFERENCES nights(id),
    cell TEXT NOT NULL,
    check_name TEXT NOT NULL,
    status TEXT NOT NULL,
    fail_rate REAL NOT NULL,
    known INTEGER NOT NULL,
    PRIMARY KEY (night_id, cell, check_name)
);
"""
#: Lifecycle states, in the order ``harness history`` lists them.
STATES = ("new", "still failing", "flaky", "known", "fixed", "error", "not judged", "passing")
DEFAULT_WINDOW = 10


@dataclass(frozen=True)
class Row:
    """One check of one cell in one night: ``status`` is pass, fail, crash, flaky, inconclusive or error."""

    cell: str
    check: str
    status: str
    fail_rate: float = 0.0
    known: bool = False


@dataclass(frozen=True)
class Lifecycle:
    cell: str
    check: str
    state: str
    status: str
    since: str | None
    rate: float
    window: int
    trend: tuple[str, ...]

    def describe(self) -> str:
        if self.state == "new":
            return "new failure"
        if self.state == "still failing":
            return f"still failing since night {self.since}"
        if self.state == "fixed":
            return f"fixed in night {self.since}"
        if self.state == "flaky":
            return f"flaky: failed {self.rate:.0%} over the last {self.window} night(s)"
        if self.state == "known":
            return "known failure"
        if self.state == "error":
            return "infrastructure error: the cell could not run"
        if self.state == "not judged":
            return "not judged (inconclusive)"
        return "passing"


@contextlib.contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise InfraError(f"cannot open the nightly history {path}: {exc}", hint="pass --history PATH") from None
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.executescript(SCHEMA)
        yield conn
    except sqlite3.DatabaseError as exc:
        raise InfraError(f"nightly history {path}: {exc}", hint="pass another --history PATH") from None
    finally:
        conn.close()


def check_writable(path: Path, night: str | None) -> None:
    """Before a night runs: the database opens (or is created) and this night's name is free, so hours of cells
    are not lost to a bad ``--history`` or a reused ``--night``."""
    with connect(path) as conn:
        if night is not None and conn.execute("SELECT 1 FROM nights WHERE night = ?", (night,)).fetchone():
            raise UsageError(f"night {night} is already in {path}", hint="name this night with another --night")


def record(
    path: Path, night: str, started: str, rows: Sequence[Row], *, matrix: str, out_dir: str, exit_code: int
) -> None:
    """Write a whole night in one transaction (all its rows or nothing)."""
    with connect(path) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT 1 FROM nights WHERE night = ?", (night,)).fetchone():
                raise UsageError(f"night {night} is already in {path}", hint="name this night with --night NAME")
            cursor = conn.execute(
                "INSERT INTO nights (night, started, matrix, out_dir, exit_code) VALUES (?, ?, ?, ?, ?)",
                (night, started, matrix, out_dir, exit_code),
            )
            conn.executemany(
                "INSERT INTO results VALUES (?, ?, ?, ?, ?, ?)",
                [(cursor.lastrowid, r.cell, r.check, r.status, r.fail_rate, int(r.known)) for r in rows],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def nights(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """Recorded nights, oldest first (the last ``limit``)."""
    with connect(path) as conn:
        found = conn.execute(
            "SELECT id, night, started, exit_code FROM nights ORDER BY id DESC LIMIT ?", (limit or -1,)
        ).fetchall()
    return [{"id": i, "night": n, "started": s, "exit_code": c} for i, n, s, c in reversed(found)]


def failing_last_time(path: Path, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Of these (cell, check) pairs, those whose latest recorded night failed them unexcused (no known entry).

    What makes tonight's failure "new" (exit 1) or "still failing" (reported, exit 0): a failure a known entry
    excused last night counts as new once the entry is gone or expired.
    """
    wanted = set(pairs)
    if not wanted or not path.exists():
        return set()
    latest: dict[tuple[str, str], tuple[int, str, bool]] = {}
    with connect(path) as conn:
        for night_id, cell, check, status, known in conn.execute(
            "SELECT night_id, cell, check_name, status, known FROM results"
        ):
            key = (cell, check)
            if key in wanted and (key not in latest or night_id > latest[key][0]):
                latest[key] = (night_id, status, bool(known))
    return {key for key, (_, status, known) in latest.items() if _failing(status) and not known}


def _failing(status: str) -> bool:
    return status in ("fail", "crash")


def lifecycle(path: Path, window: int = DEFAULT_WINDOW) -> list[Lifecycle]:
    """Each check seen in the latest night (and any that failed in the window), judged by its last ``window``
    nights."""
    recent = nights(path, window)
    if not recent:
        return []
    ids = [n["id"] for n in recent]
    names = {n["id"]: n["night"] for n in recent}
    series: dict[tuple[str, str], dict[int, tuple[str, float, bool]]] = {}
    with connect(path) as conn:
        marks = ",".join("?" * len(ids))
        for night_id, cell, check, status, rate, known in conn.execute(
            f"SELECT night_id, cell, check_name, status, fail_rate, known FROM results WHERE night_id IN ({marks})",
            ids,
        ):
            series.setdefault((cell, check), {})[night_id] = (status, rate, bool(known))
    latest = ids[-1]
    found = [
        _judge(cell, check, by_night, ids, names) for (cell, check), by_night in series.items() if latest in by_night
    ]
    order = {state: i for i, state in enumerate(STATES)}
    return sorted(found, key=lambda f: (order[f.state], f.cell, f.check))


def _judge(
    cell: str, check: str, by_night: dict[int, tuple[str, float, bool]], ids: list[int], names: dict[int, str]
) -> Lifecycle:
    seen = [i for i in ids if i in by_night]
    trend = tuple(by_night[i][0] + ("*" if by_night[i][2] else "") if i in by_night else "-" for i in ids)
    status, _, known = by_night[seen[-1]]
    judged = [by_night[i] for i in seen if by_night[i][0] in ("pass", "fail", "crash", "flaky")]
    rate = sum(1.0 if _failing(s) else r for s, r, _ in judged) / len(judged) if judged else 0.0
    previous = by_night[seen[-2]][0] if len(seen) > 1 else None
    since = None
    if known:
        state = "known"
    elif _failing(status):
        start = seen[-1]
        for i in reversed(seen):
            if not _failing(by_night[i][0]):
                break
            start = i
        state = "new" if previous is None or not _failing(previous) else "still failing"
        since = names[start]
    elif status == "flaky" or (status == "pass" and _flips(judged) >= 3):
        state = "flaky"
    elif status == "pass" and previous is not None and _failing(previous):
        state, since = "fixed", names[seen[-1]]
    elif status == "error":
        state = "error"
    elif status == "inconclusive":
        state = "not judged"
    else:
        state = "passing"
    return Lifecycle(cell, check, state, status, since, round(rate, 3), len(seen), trend)


def _flips(judged: list[tuple[str, float, bool]]) -> int:
    """How often a check went from failing to passing or back across the window (fail, pass, fail, pass: 3)."""
    states = [_failing(status) for status, _, _ in judged]
    return sum(1 for a, b in itertools.pairwise(states) if a != b)


#: A cell's status in one night is its worst check's (a known failure shows as known).
_RANK = ("crash", "fail", "error", "known", "flaky", "inconclusive", "pass")


def cell_trends(path: Path, window: int = DEFAULT_WINDOW) -> dict[str, list[str]]:
    """Each cell of the recent nights → its status per night (oldest first; ``-`` when it did not run)."""
    recent = nights(path, window)
    position = {n["id"]: i for i, n in enumerate(recent)}
    trends: dict[str, list[str]] = {}
    if not recent:
        return trends
    marks = ",".join("?" * len(position))
    with connect(path) as conn:
        rows = conn.execute(
            f"SELECT night_id, cell, status, known FROM results WHERE night_id IN ({marks})", list(position)
        ).fetchall()
    for night_id, cell, status, known in rows:
        shown = "known" if known and (_failing(status) or status == "flaky") else status
        current = trends.setdefault(cell, ["-"] * len(recent))
        i = position[night_id]
        if shown in _RANK and (current[i] == "-" or _RANK.index(shown) < _RANK.index(current[i])):
            current[i] = shown
    return trends
