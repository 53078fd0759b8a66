"""``harness model``: outputs, JSON, and bad input as exit 2 with one line."""

from __future__ import annotations

import json

import pytest

from harness.cli import main as cli_main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = cli_main.main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_pindex_g2_and_g1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["model", "pindex", "--generation", "G2", "--arch", "amd64", "0xfffffe0000407000", "--json"], capsys
    )
    assert code == 0
    (row,) = json.loads(out)
    assert (row["linear"], row["pindex"], row["slot"]) == (1031, 824, 206)
    code, out, _ = run(["model", "pindex", "--generation", "G1", "0xfffffe0000406000"], capsys)
    assert code == 0 and "pindex 0x406 (1030)" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["model", "pindex", "--generation", "G2", "0xfffffe0000405000"], "misaligned"),
        (["model", "pindex", "--generation", "G2", "0xfffffe0000406000"], "guard page"),
        (["model", "pindex", "--generation", "G1", "0x12"], "not page aligned"),
        (["model", "pindex", "--generation", "G1", "0xfffffe0000000000"], "guard page"),
        (["model", "pindex", "--generation", "G0-list", "--arch", "arm64", "0xffff000000000000"], "guard page"),
        (["model", "pindex", "--generation", "G1", "0xffffffffffffd000"], "past the end"),
        (["model", "pindex", "--generation", "G1", "xyz"], "not a hex address"),
        (["model", "pindex", "--generation", "G7", "0x0"], "unknown generation"),
        (["model", "predict", "--generation", "G1", "--arch", "sparc64", "--workload", "thread-hold"], "unknown arch"),
        (["model", "predict", "--generation", "G1", "--workload", "nope"], "unknown workload"),
        (["model", "predict", "--generation", "G1", "--workload", "thread-hold", "--threads", "-3"], "negative"),
        (["model", "simulate", "--generation", "G1", "--events", "-1"], "negative"),
    ],
)
def test_bad_input_is_exit_2_one_line(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(argv, capsys)
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("harness: error:")]
    assert len(errors) == 1 and needle in errors[0]
    assert "Traceback" not in err


def test_predict_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        [
            "model",
            "predict",
            "--generation",
            "G1",
            "--arch",
            "amd64",
            "--workload",
            "thread-hold",
            "--threads",
            "1000",
            "--ncpu",
            "2",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    preds = {p["name"]: p for p in json.loads(out)}
    assert preds["vm.kstack_cache_size"]["expected"] == 128
    assert preds["uma.kstack_cache.bucket_size_max"]["expected"] == 16
    assert preds["kstack_cache.used"]["low"] <= 1000 <= preds["kstack_cache.used"]["high"]
    assert all(p["source"] and p["invariant"].startswith("I-") for p in preds.values())


def test_simulate_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["model", "simulate", "--generation", "G1", "--events", "5000", "--seed", "7", "--json"], capsys)
    assert code == 0
    result = json.loads(out)
    assert result["events"] == 5000 and result["checks"] == 5000
    assert "I-1" in result["invariants"] and result["peak_live_stacks"] > 0


def test_pindex_answers_every_address_and_exits_2_for_a_bad_one(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["model", "pindex", "--generation", "G2", "--arch", "amd64"]
    addrs = ["0xfffffe0000006000", "0xfffffe0000005000", "0xfffffe0000024000"]
    code, out, err = run([*argv, *addrs], capsys)
    assert code == 2
    lines = out.splitlines()
    assert len(lines) == 3 and "(4)" in lines[0] and "guard page" in lines[1] and "(28)" in lines[2]
    assert len([x for x in err.splitlines() if x.startswith("harness: error:")]) == 1
    code, out, _ = run([*argv, "--json", *addrs], capsys)
    rows = json.loads(out)
    assert code == 2 and [r.get("pindex") for r in rows] == [4, None, 28] and "guard page" in rows[1]["error"]
    code, out, _ = run([*argv, addrs[0], addrs[2]], capsys)
    assert code == 0


def test_predict_takes_the_start_state(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["model", "predict", "--generation", "G1", "--arch", "amd64", "--workload", "thread-hold"]
    code, out, _ = run(
        [*argv, "--threads", "100", "--ncpu", "1", "--start-used", "1", "--start-free", "31", "--json"], capsys
    )
    assert code == 0
    (r,) = [p for p in json.loads(out) if p["name"] == "kstack_object.resident_pages" and p["phase"] == "plateau_delta"]
    assert r["low"] <= 384 <= r["high"] and r["high"] - r["low"] <= 256 and "width:" in r["why"]
