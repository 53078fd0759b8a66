"""Socket directories: owned by the process that made them; a killed harness's leftovers are swept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness.vm.sockdir import OWNER, make_socket_dir, sweep_stale


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_new_directory_records_its_owner(tmp_path: Path) -> None:
    made = make_socket_dir(tmp_path)
    assert made.parent == tmp_path and made.name.startswith("hvm-")
    assert int((made / OWNER).read_text()) == os.getpid()


def test_directories_of_dead_owners_are_swept_live_and_unknown_ones_kept(tmp_path: Path) -> None:
    live = make_socket_dir(tmp_path)
    dead = tmp_path / "hvm-dead"
    dead.mkdir()
    (dead / OWNER).write_text(f"{_dead_pid()}\n")
    (dead / "serial.sock").write_text("")
    unknown = tmp_path / "hvm-nofile"
    unknown.mkdir()
    other = tmp_path / "not-ours"
    other.mkdir()
    (other / OWNER).write_text(f"{_dead_pid()}\n")
    assert sweep_stale(tmp_path) == [dead]
    assert not dead.exists() and live.exists() and unknown.exists() and other.exists()


def test_making_a_directory_sweeps_first(tmp_path: Path) -> None:
    dead = tmp_path / "hvm-old"
    dead.mkdir()
    (dead / OWNER).write_text(f"{_dead_pid()}\n")
    make_socket_dir(tmp_path)
    assert not dead.exists()
