"""A run directory ``runs/<id>/``: metadata.json and the reproducer first, then everything the run produced.

Layout::

    metadata.json      what was asked (argv, guest, arch, release, kernel, workloads, params) and what was found
    reproducer.sh      the command that repeats this run, and the one that re-judges it offline
    steps.jsonl        step events (start/end/duration) of the run
    <vm>.console.log   the serial console, time-stamped by the VM layer (<vm>.console.raw: the exact bytes);
                       <vm> is "guest" for the Linux test guest and "freebsd" for FreeBSD
    raw/               every raw output, ``raw/<workload>/<phase>/<what>.txt`` and ``raw/<workload>/samples.txt``
    parsed/            observations per workload as JSON (re-made by ``harness analyze``)
    results.json  junit.xml  report.html

metadata.json and reproducer.sh are written before anything else, so a run killed halfway still says what it was
(tuxmake's "metadata early").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import platform
import secrets
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from harness import __version__
from harness.errors import UsageError
from harness.run.metadata import RunMetadata
from harness.util.dirs import usable_dir
from harness.util.jsonable import dumps, to_jsonable

METADATA = "metadata.json"
REPRODUCER = "reproducer.sh"
#: The console as the VM layer keeps it: the exact byte stream first, then the time-stamped log.
CONSOLE_LOGS = ("guest.console.raw", "freebsd.console.raw", "guest.console.log", "freebsd.console.log")
STEPS = "steps.jsonl"


def new_run_id(guest: str, arch: str, now: dt.datetime | None = None) -> str:
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{guest}-{arch}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class RunDir:
    path: Path

    @property
    def run_id(self) -> str:
        return self.path.name

    @classmethod
    def create(cls, root: Path, run_id: str, metadata: dict[str, object], reproduce_argv: list[str]) -> RunDir:
        """Make ``root/run_id`` and write metadata.json and reproducer.sh into it before anything else.
        ``metadata``: what was asked (``RunMetadata`` fields as JSON values), merged over the run's identity."""
        usable_dir(root, what="the runs directory", fix="pass a writable --runs-dir")
        path = root / run_id
        path.mkdir(exist_ok=False)
        run = cls(path)
        base = {
            "run_id": run_id,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "harness_version": __version__,
            "argv": list(sys.argv),
            "host": {"python": platform.python_version(), "platform": platform.platform(), "cwd": os.getcwd()},
            "status": "running",
        }
        run.write_metadata(RunMetadata.from_json({**base, **metadata}, path / METADATA))
        run.write_reproducer(reproduce_argv)
        (path / "raw").mkdir()
        (path / "parsed").mkdir()
        return run

    @classmethod
    def open(cls, path: Path) -> RunDir:
        if not (path / METADATA).is_file():
            raise UsageError(f"{path} is not a run directory (no {METADATA})", hint="pass a directory under runs/")
        return cls(path)

    # --- metadata -------------------------------------------------------------------------------------------------

    def metadata(self) -> RunMetadata:
        """metadata.json as its typed record (every version written so far; see ``harness.run.metadata``)."""
        path = self.path / METADATA
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UsageError(f"{path} cannot be read: {exc}") from exc
        return RunMetadata.from_json(raw, path)

    def write_metadata(self, meta: RunMetadata) -> None:
        tmp = self.path / (METADATA + ".tmp")
        # Guest facts are free-form: a value JSON has no type for is written as its text, never fails the run.
        tmp.write_text(dumps(meta.to_json(), indent=2, strict=False) + "\n", encoding="utf-8")
        tmp.replace(self.path / METADATA)

    def update_metadata(self, **fields: object) -> RunMetadata:
        """Set ``RunMetadata`` fields (given as records or JSON values) and write the file; an unknown name is a
        TypeError (a bug), a wrong value a UsageError."""
        unknown = set(fields) - {f.name for f in dataclasses.fields(RunMetadata)}
        if unknown:
            raise TypeError(f"not RunMetadata fields: {', '.join(sorted(unknown))}")
        meta = RunMetadata.from_json({**self.metadata().to_json(), **to_jsonable(fields)}, self.path / METADATA)
        self.write_metadata(meta)
        return meta

    def write_reproducer(self, argv: list[str]) -> None:
        text = (
            "#!/bin/sh\n"
            f"# Repeat run {self.run_id} (same guest, arch, release, kernel, workloads and parameters):\n"
            f"{shlex.join(argv)}\n"
            "# Re-judge this stored run offline (no VM), e.g. after a model change:\n"
            f"# harness analyze {shlex.quote(str(self.path))}\n"
        )
        target = self.path / REPRODUCER
        target.write_text(text, encoding="utf-8")
        target.chmod(0o755)

    # --- raw and parsed files -------------------------------------------------------------------------------------

    def raw_path(self, *parts: str) -> Path:
        path = self.path.joinpath("raw", *parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write_raw(self, text: str, *parts: str) -> Path:
        path = self.raw_path(*parts)
        path.write_text(text, encoding="utf-8")
        return path

    def read_raw(self, *parts: str) -> str | None:
        path = self.path.joinpath("raw", *parts)
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None

    def raw_phases(self, workload: str) -> list[str]:
        base = self.path / "raw" / workload
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []

    def write_parsed(self, data: object, *parts: str) -> Path:
        path = self.path.joinpath("parsed", *parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(data, indent=2, strict=False) + "\n", encoding="utf-8")
        return path

    def console_text(self) -> str | None:
        """The stored console output (raw bytes preferred: FreeBSD panic parsing wants the exact stream)."""
        for name in CONSOLE_LOGS:
            path = self.path / name
            if path.is_file():
                return path.read_text(encoding="utf-8", errors="replace")
        return None
