"""The CLI skeleton: verbs listed, exit codes follow the error hierarchy."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from harness.cli import main as cli_main
from harness.errors import CheckFailed, ExitCode, GuestCrashed, HarnessError, InfraError, UsageError


def test_help_lists_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli_main.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "exit codes" in out
    assert "3 the guest kernel crashed" in out


def test_unknown_verb_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli_main.main(["no-such-verb"])
    assert exc.value.code == ExitCode.INFRA
    assert "harness: error:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (CheckFailed("model mismatch"), 1),
        (InfraError("no qemu"), 2),
        (UsageError("bad arch"), 2),
        (GuestCrashed("panic"), 3),
    ],
)
def test_errors_map_to_exit_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], error: HarnessError, code: int
) -> None:
    def raising(args: argparse.Namespace) -> int:
        raise error

    def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
        sub.add_parser("boom").set_defaults(func=raising)

    fake = argparse.Namespace(register=register, VERB_ORDER=0, __name__="fake")
    monkeypatch.setattr(cli_main, "_verb_modules", lambda only=None: [fake])
    assert cli_main.main(["boom"]) == code
    err = capsys.readouterr().err
    assert err.startswith("harness: error: ")
    assert err.count("\n") == 1, "an error is one line, never a traceback"


def test_hint_is_part_of_the_one_line_message() -> None:
    err = InfraError("download failed", hint="use --image FILE")
    assert err.one_line() == "download failed (use --image FILE)"


def test_broken_pipe_is_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def writes_to_closed_pipe(args: argparse.Namespace) -> int:
        raise BrokenPipeError

    def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
        sub.add_parser("pipe").set_defaults(func=writes_to_closed_pipe)

    fake = argparse.Namespace(register=register, VERB_ORDER=0, __name__="fake")
    monkeypatch.setattr(cli_main, "_verb_modules", lambda only=None: [fake])
    redirected: list[tuple[int, int]] = []
    # Don't let the test redirect pytest's own stdout; record that main would have.
    monkeypatch.setattr(cli_main.os, "dup2", lambda src, dst: redirected.append((src, dst)))
    assert cli_main.main(["pipe"]) == 0
    assert redirected, "stdout must be pointed at /dev/null so the final flush cannot fail"


def test_help_lists_every_verb_module(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli_main.main(["--help"])
    out = capsys.readouterr().out
    for name in cli_main._verb_names():
        assert f"    {name} " in out, name


def test_a_named_verb_loads_only_its_own_module() -> None:
    assert [m.__name__ for m in cli_main._verb_modules("model")] == ["harness.cli.model"]
    # An unknown word loads them all, so argparse can list the choices in its error.
    assert len(cli_main._verb_modules("no-such-verb")) == len(cli_main._verb_names())
    assert cli_main._requested_verb(["--version"]) is None
    assert cli_main._requested_verb(["model", "simulate"]) == "model"


def test_harness_debug_prints_the_causes_behind_the_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "metadata.json").write_text("{not json")
    missing = str(tmp_path / "missing.txt")
    cases = ((["analyze", str(tmp_path)], "JSONDecodeError"), (["parse", "sysctl", missing], "FileNotFoundError"))
    for argv, cause in cases:
        monkeypatch.delenv("HARNESS_DEBUG", raising=False)
        assert cli_main.main(argv) == 2
        quiet = capsys.readouterr().err.strip()
        assert len(quiet.splitlines()) == 1 and "Traceback" not in quiet
        monkeypatch.setenv("HARNESS_DEBUG", "1")
        assert cli_main.main(argv) == 2
        loud = capsys.readouterr().err.strip()
        # The cause first (even one `from None` hides from users: read_input), then the error, then the same line.
        assert loud.index(cause) < loud.index("which led to:") < loud.index("UsageError")
        assert loud.splitlines()[-1] == quiet
