"""Nightly inputs are untrusted: the matrix and known-failures TOML (bad UTF-8, syntax, unknown axes, wrong types
→ one line, exit 2, nothing written) and packed run directories (no path outside, no link, bounded). Also the
plan: cells, interleaved repeats, model overrides by pattern, the CI include-list, the local cluster's size."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from harness.errors import ConfigError, InfraError
from harness.nightly import known, matrix, pack, plan
from harness.nightly.engine import local_size
from tests.support.cli import assert_one_line_error, run_harness, tree_state
from tests.support.nightly import write_matrix

BAD_MATRICES = {
    "bad-utf8": (b'[matrix]\nguest = ["linux\xfftest"]\n', "not UTF-8 text (bad byte at offset"),
    "syntax": (b"[matrix\nguest = 1\n", "TOML syntax"),
    "unknown-axis": (b'[matrix]\nguests = ["linuxtest"]\n', "matrix.guests: unknown axis"),
    "unknown-table": (b"[matrixx]\n", "unknown table"),
    "guest-type": (b"[matrix]\nguest = 3\n", "matrix.guest: must be a non-empty list of strings"),
    "unknown-guest": (b'[matrix]\nguest = ["windows"]\n', "unknown guest"),
    "arch": (b'[matrix]\nguest = ["linuxtest"]\narch = ["mips"]\n', "unknown arch"),
    "repeat-type": (b'[matrix]\nguest = ["linuxtest"]\nrepeat = "3"\n', "matrix.repeat"),
    "repeat-bool": (b'[matrix]\nguest = ["linuxtest"]\nrepeat = true\n', "matrix.repeat"),
    "repeat-big": (b'[matrix]\nguest = ["linuxtest"]\nrepeat = 100000\n', "matrix.repeat"),
    "workload": (b'[matrix]\nguest = ["linuxtest"]\nworkload = ["nope"]\n', "unknown workload"),
    "param-type": (
        b'[matrix]\nguest = ["linuxtest"]\nworkload = [{ name = "thread-hold", params = { threads = [1] } }]\n',
        "params",
    ),
    "param-unknown": (
        b'[matrix]\nguest = ["linuxtest"]\nworkload = [{ name = "thread-hold", params = { x = 1 } }]\n',
        "no parameter",
    ),
    "not-on-guest": (b'[matrix]\nguest = ["linuxtest"]\nworkload = ["swap-pressure"]\n', "does not run on"),
    "kernel-shell": (b'[matrix]\nguest = ["freebsd"]\nkernel = ["patch;id"]\n', "not a plain name"),
    "release-shell": (b'[matrix]\nguest = ["freebsd"]\nrelease = ["14;id"]\n', "not a plain name"),
    "model-type": (b'[matrix]\nguest = ["linuxtest"]\n[model]\n"*" = { thread_size_kib = -1 }\n', "model.*"),
    "linux-kernel": (b'[matrix]\nguest = ["linuxtest"]\nkernel = ["kstack-object"]\n', "no kernel to build"),
}


@pytest.mark.parametrize("case", sorted(BAD_MATRICES))
def test_a_bad_matrix_is_one_line_exit_2_and_writes_nothing(case: str, tmp_path: Path) -> None:
    data, mentions = BAD_MATRICES[case]
    path = tmp_path / "m.toml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as caught:
        matrix.load(path)
    assert mentions.lower() in caught.value.one_line().lower() and str(path) in caught.value.one_line()
    assert "\n" not in caught.value.one_line()


def test_the_cli_says_it_in_one_line_and_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "m.toml").write_bytes(BAD_MATRICES["bad-utf8"][0])
    before = tree_state(tmp_path)
    for argv in (["nightly", "plan", "m.toml"], ["nightly", "run", "m.toml", "--out", "out", "--history", "h.db"]):
        result = run_harness(argv, cwd=tmp_path)
        assert_one_line_error(result, 2, mentions="not UTF-8")
    after = tree_state(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith(".cache")} == before


def test_a_bad_known_failures_file_is_one_line(tmp_path: Path) -> None:
    m = write_matrix(tmp_path)
    cases = {
        b'[[known]]\ncell = 3\nreason = "x"\n': "known[0].cell: must be a string",
        b'[[known]]\ncell = "*"\n': "needs cell and reason",
        b'[[known]]\ncell = "*"\nreason = "r"\nexpires = "soon"\n': "not a date",
        b'[[known]]\ncell = "*"\nreason = "r"\nowner = "me"\n': "unknown key",
        b"\xfe": "not UTF-8",
    }
    for data, mentions in cases.items():
        (tmp_path / "known-failures.toml").write_bytes(data)
        result = run_harness(["nightly", "run", str(m), "--out", "out", "--history", "h.db"], cwd=tmp_path)
        assert_one_line_error(result, 2, mentions=mentions)
        assert not (tmp_path / "h.db").exists()


def test_plan_expands_the_axes_interleaves_repeats_and_applies_model_patterns(tmp_path: Path) -> None:
    extra = '\n[model]\n"linuxtest-arm64-*" = { thread_size_kib = 16 }\n'
    path = write_matrix(tmp_path, extra)
    path.write_text(path.read_text().replace("[matrix]", "[matrix]\nrepeat = 2"))
    loaded = matrix.load(path)
    assert [c.id for c in loaded.cells] == [
        "linuxtest-amd64-stock-thread-hold",
        "linuxtest-amd64-stock-thread-churn",
        "linuxtest-arm64-stock-thread-hold",
        "linuxtest-arm64-stock-thread-churn",
    ]
    tasks = plan.tasks(loaded)
    assert [t.key for t in tasks][:5] == [f"{c.id}#1" for c in loaded.cells] + [f"{loaded.cells[0].id}#2"]
    arm = next(t for t in tasks if t.cell == "linuxtest-arm64-stock-thread-hold")
    assert arm.argv[-2:] == ("--model", "thread_size_kib=16")
    amd = next(t for t in tasks if t.cell == "linuxtest-amd64-stock-thread-hold")
    assert "--model" not in amd.argv and "thread-hold:threads=16" in amd.argv
    include = json.loads(plan.github_include(loaded))["include"]
    assert len(include) == 8 and {e["repeat"] for e in include} == {1, 2}
    assert include[0]["run"].startswith("harness run --guest linuxtest --arch amd64 --workload thread-hold")


def test_freebsd_kernels_are_shared_by_their_cells(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(
        '[matrix]\nguest = ["freebsd"]\nrelease = ["13", "14"]\narch = ["amd64"]\n'
        'kernel = ["stock", "kstack-object"]\nworkload = ["thread-hold", "thread-churn"]\n'
    )
    loaded = matrix.load(path)
    assert len(loaded.cells) == 8
    assert [k.key for k in plan.kernels(loaded)] == ["kstack-object@13-amd64", "kstack-object@14-amd64"]
    patched = [t for t in plan.tasks(loaded) if t.kernel_key == "kstack-object@14-amd64"]
    assert len(patched) == 2 and all("--patch" not in t.argv for t in patched)
    assert "--patch kstack-object" in plan.text(loaded)


def test_local_cluster_size_follows_cores_and_memory() -> None:
    assert local_size(1, 512, cores=2, available_mb=20000).slots == 2
    assert local_size(2, 512, cores=2, available_mb=20000).slots == 1
    assert local_size(1, 4096, cores=16, available_mb=1024 + 2 * (4096 + 256)).slots == 2
    assert local_size(4, 8192, cores=2, available_mb=100).slots == 1  # always one
    assert "2 cores / 1 vCPU per VM" in local_size(1, 512, cores=2, available_mb=20000).reason


def test_known_entries_match_expire_and_default_beside_the_matrix(tmp_path: Path) -> None:
    import datetime as dt

    path = tmp_path / "known-failures.toml"
    path.write_text('[[known]]\ncell = "linuxtest-*"\ncheck = "LX-2*"\nreason = "r"\nexpires = 2026-06-30\n')
    assert known.default_path(tmp_path / "m.toml") == path
    entries = known.KnownList(tuple(known.load(path)), dt.date(2026, 6, 30))
    assert entries.excuse("linuxtest-amd64-stock-thread-hold", "LX-2:x@plateau") is not None
    assert entries.excuse("linuxtest-amd64-stock-thread-hold", "LX-1:x@plateau") is None
    later = known.KnownList(entries.entries, dt.date(2026, 7, 1))
    assert later.excuse("linuxtest-amd64-stock-thread-hold", "LX-2:x") is None
    assert later.expired_for("linuxtest-amd64-stock-thread-hold", "LX-2:x") is not None


def _tar(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


@pytest.mark.parametrize(
    "data",
    [
        _tar((_member("../escape.txt"), b"x")),
        _tar((_member("/etc/escape.txt"), b"x")),
        _tar((_member("a/../../escape.txt"), b"x")),
        _tar((_member("link", tarfile.SYMTYPE, "/etc/passwd"), b"")),
        _tar((_member("ok.txt"), b"x"), (_member("hard", tarfile.LNKTYPE, "ok.txt"), b"")),
        _tar((_member("dev", tarfile.CHRTYPE), b"")),
        b"not a tar at all",
        b"\x1f\x8b\x08\x00garbage",
    ],
)
def test_unpack_refuses_what_could_leave_its_directory(data: bytes, tmp_path: Path) -> None:
    with pytest.raises(InfraError):
        pack.unpack(data, tmp_path / "dest")
    assert tree_state(tmp_path) == {}


def test_unpack_is_bounded_and_pack_round_trips(tmp_path: Path) -> None:
    src = tmp_path / "run"
    (src / "raw" / "w").mkdir(parents=True)
    (src / "raw" / "w" / "a.txt").write_text("a" * 1000)
    (src / "metadata.json").write_text("{}")
    (src / "vm").mkdir()
    (src / "vm" / "disk.qcow2").write_bytes(b"q" * 100)
    (src / "guest.efivars.fd").write_bytes(b"\0" * 100)
    (src / "link").symlink_to("/etc/passwd")
    data = pack.pack(src)
    pack.unpack(data, tmp_path / "copy")
    assert sorted(k for k in tree_state(tmp_path / "copy")) == ["metadata.json", "raw", "raw/w", "raw/w/a.txt"]
    with pytest.raises(InfraError, match="larger than 500 bytes"):
        pack.unpack(data, tmp_path / "small", limit=500)
    assert not (tmp_path / "small").exists() and not (tmp_path / "small.partial").exists()
    with pytest.raises(InfraError, match="larger than"):
        pack.pack(src, limit=500)


def test_merge_refuses_what_is_not_a_run_directory_before_writing(tmp_path: Path) -> None:
    (tmp_path / "notrun").mkdir()
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    meta = {"guest": "linuxtest", "arch": "amd64", "workloads": [{"name": "../../escape"}]}
    (hostile / "metadata.json").write_text(json.dumps(meta))
    for target, mentions in (("notrun", "not a run directory"), ("hostile", "not a plain name")):
        result = run_harness(["nightly", "merge", "--out", "out", "--history", "h.db", target], cwd=tmp_path)
        assert_one_line_error(result, 2, mentions=mentions)
        assert not (tmp_path / "out").exists() and not (tmp_path / "h.db").exists()


def test_a_kernel_directory_is_packed_once_and_handed_to_its_cells(tmp_path: Path) -> None:
    from harness.nightly import kernels
    from harness.nightly.cell import command

    kdir = tmp_path / "kernel-x"
    (kdir / "boot" / "kernel").mkdir(parents=True)
    (kdir / "boot" / "kernel" / "kernel").write_bytes(b"\x7fELF" + b"k" * 1000)
    path = tmp_path / "m.toml"
    path.write_text(f'[matrix]\nguest = ["freebsd"]\nkernel = ["{kdir}"]\nworkload = ["thread-hold", "thread-churn"]\n')
    loaded = matrix.load(path)
    assert [c.id for c in loaded.cells] == [
        "freebsd-14-amd64-kernel-x-thread-hold",
        "freebsd-14-amd64-kernel-x-thread-churn",
    ]
    shipped = kernels.prepare(plan.kernels(loaded), echo=lambda line: None)
    assert list(shipped) == [str(kdir)]
    tasks = plan.tasks(loaded)
    assert {t.kernel_key for t in tasks} == {str(kdir)}
    unpacked = pack.unpack(shipped[str(kdir)], tmp_path / "worker" / "kernel")
    argv = command(tasks[0], tmp_path / "runs", unpacked)
    assert argv[argv.index("--kernel") + 1] == str(unpacked) and argv[-2:] == ["--runs-dir", str(tmp_path / "runs")]
    assert (unpacked / "boot" / "kernel" / "kernel").read_bytes().startswith(b"\x7fELF")


def test_plan_cli_prints_json_and_the_github_include_list(tmp_path: Path) -> None:
    write_matrix(tmp_path)
    result = run_harness(["nightly", "plan", "nightly.toml", "--json"], cwd=tmp_path)
    assert result.code == 0, str(result)
    data = json.loads(result.stdout)
    assert data["runs"] == 4 and len(data["cells"]) == 4
    github = run_harness(["nightly", "plan", "nightly.toml", "--format", "github"], cwd=tmp_path)
    assert github.code == 0 and len(github.stdout.strip().splitlines()) == 1
    assert len(json.loads(github.stdout)["include"]) == 4


def test_a_bad_history_or_a_reused_night_is_said_before_any_cell_runs(tmp_path: Path) -> None:
    write_matrix(tmp_path)
    (tmp_path / "not-a-db").write_bytes(b"this is not sqlite" * 100)
    result = run_harness(["nightly", "run", "nightly.toml", "--out", "out", "--history", "not-a-db"], cwd=tmp_path)
    assert_one_line_error(result, 2, mentions="nightly history")
    assert not (tmp_path / "out").exists()
    from harness.nightly import history

    history.record(tmp_path / "h.db", "n1", "t", [], matrix="m", out_dir="o", exit_code=0)
    again = ["nightly", "run", "nightly.toml", "--out", "out", "--history", "h.db", "--night", "n1"]
    assert_one_line_error(run_harness(again, cwd=tmp_path), 2, mentions="already in")
    assert not (tmp_path / "out").exists()
