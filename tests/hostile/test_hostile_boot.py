"""Hostile input for `harness boot` (and the VM profiles it reads): the review's cases A.6, as a test each.

No guest boots: ``qemu-system-*`` on PATH are stand-ins that refuse to start (tests/support/hostile_env.py), so a case
goes as far as QEMU's launch at most. Each asserts the exit code, one ``harness: error:`` line, no traceback and
nothing changed outside the cache and the run directory. Ids start with the review's case number.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.cli import assert_one_line_error, run_harness
from tests.support.hostile_env import data_dir, qemu_stubs, unchanged_outside
from tests.support.inproc import run_in_process

PROFILE = Path("vm_configs") / "freebsd-amd64.toml"


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    code: int
    mentions: str | None
    #: (data dir, scratch dir) → edits the data files / makes input files for this case.
    prepare: Callable[[Path, Path], None] | None = None
    env: dict[str, str] = field(default_factory=dict)


def boot(*extra: str) -> tuple[str, ...]:
    return ("boot", "--image", "{tmp}/fake.raw", "--run-dir", "{tmp}/run", "--no-progress", *extra)


def profile(old: str, new: str) -> Callable[[Path, Path], None]:
    def prepare(data: Path, scratch: Path) -> None:
        text = (data / PROFILE).read_text()
        assert old in text, old
        (data / PROFILE).write_text(text.replace(old, new, 1))

    return prepare


def profile_bytes(content: bytes) -> Callable[[Path, Path], None]:
    def prepare(data: Path, scratch: Path) -> None:
        (data / PROFILE).write_bytes(content)

    return prepare


def cache_is_a_file(data: Path, scratch: Path) -> None:
    (scratch / "cache").write_text("a file where the cache should be\n")


def run_dir_is_a_file(data: Path, scratch: Path) -> None:
    (scratch / "run").write_text("a file where the run directory should be\n")


def kernel_dir(data: Path, scratch: Path) -> None:
    kernel = scratch / "kernel"
    kernel.mkdir()
    (kernel / "kernel").write_bytes(b"\x7fELF\x00FreeBSD 14.4-RELEASE TESTK\n\x00")
    (kernel / "metadata.json").write_text(json.dumps({"ident": "TESTK"}))


def kernel(name: str) -> tuple[str, ...]:
    return boot("--kernel", "{tmp}/kernel", f"--kernel-name={name}")


CASES = [
    # --- numbers out of range -------------------------------------------------------------------------------
    Case("a6-13-disk-size-inf", boot("--disk-size", "inf"), 2, "not a disk size"),
    Case("a6-15-disk-size-1e400", boot("--disk-size", "1e400"), 2, "not a disk size"),
    Case("a6-17-disk-size-empty", boot("--disk-size", ""), 2, "not a disk size"),
    Case("a6-16-disk-size-beyond-qemu", boot("--disk-size", "99999999999T"), 2, "larger than"),
    Case("new-disk-size-underscores", boot("--disk-size", "1_000"), 2, "not a disk size"),
    Case("a6-10-disk-size-abc", boot("--disk-size", "abc"), 2, "not a disk size"),
    Case("a6-11-disk-size-zero", boot("--disk-size", "0"), 2, "positive"),
    # --- VM profiles (F13) ---------------------------------------------------------------------------------------
    Case(
        "a6-43-profile-cpu-is-a-string",
        boot(),
        2,
        "cpu",
        prepare=profile('[cpu]\nkvm = "host"\ntcg = "qemu64"', 'cpu = "x"'),
    ),
    Case("a6-41-profile-not-utf8", boot(), 2, "UTF-8", prepare=profile_bytes(b'arch = "\xff"\n')),
    Case("a6-40-profile-syntax", boot(), 2, "syntax", prepare=profile_bytes(b"arch = \n")),
    Case("a6-42-profile-empty", boot(), 2, "missing", prepare=profile_bytes(b"")),
    Case(
        "a6-44-profile-memory-lots", boot(), 2, "memory_mb", prepare=profile("memory_mb = 4096", 'memory_mb = "lots"')
    ),
    Case("a6-45-profile-memory-1", boot(), 2, "memory_mb", prepare=profile("memory_mb = 4096", "memory_mb = 1")),
    Case("new-profile-cpus-bool", boot(), 2, "cpus", prepare=profile("cpus = 2", "cpus = true")),
    Case(
        "a6-51-profile-unknown-device",
        boot(),
        2,
        "unknown device",
        prepare=profile("[devices]\n", "[devices]\nfloppy = 'a'\n"),
    ),
    Case("a6-52-profile-numa-string", boot(), 2, "numa", prepare=profile("arch = ", 'numa = "x"\narch = ')),
    Case("a6-58-profile-devices-list", boot(), 2, "devices", prepare=profile("arch = ", "devices = [1]\narch = ")),
    Case(
        "a6-54-profile-panic-action",
        boot(),
        2,
        "panic_action",
        prepare=profile('panic_action = "none"', 'panic_action = "reboot"'),
    ),
    # --- unusable dirs (F12) -------------------------------------------------------------------------------------
    Case(
        "a6-63-cache-is-a-file", ("boot", "--offline", "--no-progress"), 2, "cache directory", prepare=cache_is_a_file
    ),
    Case("a6-20-run-dir-is-a-file", boot(), 2, "run directory", prepare=run_dir_is_a_file),
    # --- kernel names (S10) ----------------------------------------------------------------------------------------
    Case("s10-kernel-name-dot", kernel("."), 2, "cannot install", prepare=kernel_dir),
    Case("s10-kernel-name-dotdot", kernel(".."), 2, "cannot install", prepare=kernel_dir),
    Case("s10-kernel-name-dots", kernel("..."), 2, "cannot install", prepare=kernel_dir),
    Case("s10-kernel-name-option", kernel("-rf"), 2, "cannot install", prepare=kernel_dir),
    Case("a6-30-kernel-name-traversal", kernel("../../etc"), 2, "cannot install", prepare=kernel_dir),
    Case("a6-31-kernel-name-kernel", kernel("kernel"), 2, "cannot install", prepare=kernel_dir),
    # --- controls: good input goes as far as the stand-in QEMU ----------------------------------------------------
    Case("a6-9-qemu-refuses-control", boot(), 2, "QEMU"),
    Case("a6-5-image-missing", ("boot", "--image", "{tmp}/nope.raw"), 2, "not found"),
]


def _env(tmp_path: Path, case: Case) -> dict[str, str]:
    env = {
        "HARNESS_DATA_DIR": str(tmp_path / "data"),
        "HARNESS_CACHE_DIR": str(tmp_path / "cache"),
        "HARNESS_CONFIG": str(tmp_path / "config.toml"),
        "PATH": qemu_stubs(tmp_path / "bin"),
    }
    return {**env, **case.env}


def _prepare(tmp_path: Path, case: Case) -> None:
    data = data_dir(tmp_path / "data", "http://127.0.0.1:9/")
    (tmp_path / "fake.raw").write_bytes(b"\0" * 65536)
    if case.prepare is not None:
        case.prepare(data, tmp_path)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_boot_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _prepare(tmp_path, case)
    env = _env(tmp_path, case)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in case.argv]
    with unchanged_outside(tmp_path, tmp_path / "cache", tmp_path / "run"):
        result = run_in_process(argv, cwd=tmp_path, env=env, monkeypatch=monkeypatch)
    assert_one_line_error(result, case.code, mentions=case.mentions)


def test_a_bad_profile_in_a_real_process(tmp_path: Path) -> None:
    case = CASES[[c.id for c in CASES].index("a6-43-profile-cpu-is-a-string")]
    _prepare(tmp_path, case)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in case.argv]
    env = _env(tmp_path, case)
    with unchanged_outside(tmp_path, tmp_path / "cache", tmp_path / "run"):
        result = run_harness(argv, cwd=tmp_path, env=env)
    assert_one_line_error(result, 2, mentions="cpu")
