"""The test guest's apt answers are remembered on disk under apt's state, and asked again when that state changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.guests.linuxtest import debian


@pytest.fixture
def apt_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[list[str]]]:
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "deb.debian.org_dists_bookworm_main_binary-amd64_Packages").write_text("Package: a\n")
    monkeypatch.setattr(debian, "APT_STATE", (lists,))
    monkeypatch.setattr(debian, "DPKG_ARCHES", tmp_path / "arch")
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    asked: list[list[str]] = []

    def apt(args: list[str], cwd: Path | None = None) -> str:  # the host's apt, counted
        asked.append(args)
        return f"answer {len(asked)}"

    monkeypatch.setattr(debian, "_apt", apt)
    return lists, asked


def test_the_same_question_under_the_same_state_is_answered_from_disk(apt_state: tuple[Path, list[list[str]]]) -> None:
    _, asked = apt_state
    assert debian._apt_answer(["apt-cache", "depends", "x"]) == "answer 1"
    assert debian._apt_answer(["apt-cache", "depends", "x"]) == "answer 1"
    assert debian._apt_answer(["apt-cache", "depends", "y"]) == "answer 2"
    assert len(asked) == 2


def test_apt_get_update_or_a_new_architecture_asks_again(apt_state: tuple[Path, list[list[str]]]) -> None:
    lists, asked = apt_state
    debian._apt_answer(["q"])
    (lists / "deb.debian.org_dists_bookworm_main_binary-arm64_Packages").write_text("Package: b\n")
    assert debian._apt_answer(["q"]) == "answer 2"
    debian.DPKG_ARCHES.write_text("arm64\n")
    assert debian._apt_answer(["q"]) == "answer 3"
    assert debian._apt_answer(["q"]) == "answer 3" and len(asked) == 3


def test_a_corrupt_memo_is_asked_again(apt_state: tuple[Path, list[list[str]]], tmp_path: Path) -> None:
    debian._apt_answer(["q"])
    for memo in (tmp_path / "cache" / "testguests" / "apt-answers").iterdir():
        memo.write_text('{"args": ["other"], "out": "forged"}')
    assert debian._apt_answer(["q"]) == "answer 2"
