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
from harness.util.files import PLAIN_NAME, atomic_write_text, inside, private_dir, safe_segment
from harness.util.jsonable import dumps, to_jsonable
from harness.util.text import one_line

METADATA = "metadata.json"
REPRODUCER = "reproducer.sh"
#: The console as the VM layer keeps it: the exact byte stream first, then the time-stamped log.
CONSOLE_LOGS = ("guest.console.raw", "freebsd.console.raw", "guest.console.log", "freebsd.console.log")
STEPS = "steps.jsonl"
#: metadata.json is a few KB; a run directory received from elsewhere may hold anything under that name.
MAX_METADATA = 16 * 1024 * 1024


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
        """Make ``root/run_id`` (owner only: the console, the disk and the keys of the guest are in it) and write
        metadata.json and reproducer.sh into it before anything else.
        ``metadata``: what was asked (``RunMetadata`` fields as JSON values), merged over the run's identity."""
        usable_dir(root, what="the runs directory", fix="pass a writable --runs-dir")
        path = root / safe_segment(run_id, "run id")
        private_dir(path, parents=False, exist_ok=False)
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
        private_dir(path / "raw", parents=False)
        private_dir(path / "parsed", parents=False)
        return run

    @classmethod
    def open(cls, path: Path) -> RunDir:
        if not (path / METADATA).is_file():
            raise UsageError(f"{path} is not a run directory (no {METADATA})", hint="pass a directory under runs/")
        return cls(path)

    # --- metadata -------------------------------------------------------------------------------------------------

    def metadata(self) -> RunMetadata:
        """metadata.json as its typed record (every version written so far; see ``harness.run.metadata``), read
        bounded: a run directory from elsewhere may hold anything under that name."""
        path = self.path / METADATA
        try:
            if path.is_symlink():
                raise UsageError(f"{path} is a symbolic link", hint="a run directory holds plain files only")
            with path.open("rb") as stream:
                data = stream.read(MAX_METADATA + 1)
            if len(data) > MAX_METADATA:
                raise UsageError(f"{path} is larger than {MAX_METADATA // (1024 * 1024)} MiB: not a run's metadata")
            raw = json.loads(data.decode("utf-8"))
        except OSError as exc:
            raise UsageError(f"{path} cannot be read: {exc.strerror or exc}") from None
        except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, nested past any real file, 5000 digits
            raise UsageError(f"{path} cannot be read: {one_line(str(exc), 200)}", hint=_REJUDGE) from None
        return RunMetadata.from_json(raw, path)

    def write_metadata(self, meta: RunMetadata) -> None:
        # Guest facts are free-form: a value JSON has no type for is written as its text, never fails the run.
        atomic_write_text(self.path / METADATA, dumps(meta.to_json(), indent=2, strict=False) + "\n")

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
            # A comment ends at a newline: a path holding one would turn the rest into a command. Shown escaped.
            f"# harness analyze {one_line(shlex.quote(str(self.path)), 4096)}\n"
        )
        atomic_write_text(self.path / REPRODUCER, text, mode=0o700)

    # --- raw and parsed files -------------------------------------------------------------------------------------

    # Every path below comes from parts that may be read from metadata.json (workload names): each part must be a
    # plain name and no component may be a symlink, so neither a read nor a write leaves the run directory.

    def _under(self, *parts: str, replace_link: bool = False) -> Path:
        return inside(self.path, *parts, what="run directory entry", replace_link=replace_link)

    def _make_parents(self, path: Path) -> None:
        for parent in reversed(path.relative_to(self.path).parents[:-1]):
            private_dir(self.path / parent, parents=False)

    def raw_path(self, *parts: str) -> Path:
        path = self._under("raw", *parts, replace_link=True)
        self._make_parents(path)
        return path

    def write_raw(self, text: str, *parts: str) -> Path:
        path = self.raw_path(*parts)
        atomic_write_text(path, text)
        return path

    def read_raw(self, *parts: str) -> str | None:
        path = self._under("raw", *parts)
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None

    def raw_phases(self, workload: str) -> list[str]:
        base = self._under("raw", workload)
        if not base.is_dir():
            return []
        return sorted(
            p.name for p in base.iterdir() if p.is_dir() and not p.is_symlink() and PLAIN_NAME.fullmatch(p.name)
        )

    def write_parsed(self, data: object, *parts: str) -> Path:
        path = self._under("parsed", *parts, replace_link=True)
        self._make_parents(path)
        atomic_write_text(path, dumps(data, indent=2, strict=False) + "\n")
        return path

    def console_text(self) -> str | None:
        """The stored console output (raw bytes preferred: FreeBSD panic parsing wants the exact stream)."""
        for name in CONSOLE_LOGS:
            path = self.path / name
            if path.is_file() and not path.is_symlink():
                return path.read_text(encoding="utf-8", errors="replace")
        return None


_REJUDGE = "re-run, or repair metadata.json"
