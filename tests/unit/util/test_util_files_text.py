"""harness.util.files (atomic, owner-only, link-safe writes) and harness.util.text (guest text made safe)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.errors import InfraError, UsageError
from harness.util.files import atomic_write_all, atomic_write_text, inside, owner_only, private_dir
from harness.util.text import cut, one_line, printable, xml_safe


def test_atomic_write_replaces_a_planted_link_instead_of_following_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (tmp_path / "report.html").symlink_to(victim)
    atomic_write_text(tmp_path / "report.html", "<html>")
    assert victim.read_text() == "precious\n"
    assert not (tmp_path / "report.html").is_symlink()
    assert (tmp_path / "report.html").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_set_of_files_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    old = {name: f"old {name}" for name in ("results.json", "junit.xml")}
    for name, text in old.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "report.html").mkdir()  # the last file of the set cannot be written
    files = [(tmp_path / name, b"new") for name in ("results.json", "junit.xml", "report.html")]
    with pytest.raises(InfraError, match=r"report\.html"):
        atomic_write_all(files)
    assert {name: (tmp_path / name).read_text() for name in old} == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.xml", "report.html", "results.json"]


@pytest.mark.parametrize("name", ["../x", "/etc", "a/b", "..", ".", "", ".hidden", "x" * 200])
def test_inside_refuses_names_that_leave_the_root(tmp_path: Path, name: str) -> None:
    with pytest.raises(UsageError):
        inside(tmp_path, name)


def test_inside_refuses_a_linked_directory_but_may_replace_a_linked_file(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "parsed").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UsageError, match="symbolic link"):
        inside(tmp_path, "parsed", "x.json")
    (tmp_path / "f").symlink_to(tmp_path / "elsewhere")
    assert inside(tmp_path, "f", replace_link=True) == tmp_path / "f"


def test_owner_only_and_private_dir(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        with owner_only():
            (tmp_path / "made").write_text("x")
        private_dir(tmp_path / "d")
    finally:
        os.umask(old)
    assert (tmp_path / "made").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o700
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="not a directory"):
        private_dir(tmp_path / "file")


def test_printable_escapes_controls_and_cuts_with_a_note() -> None:
    text = "a\tb\nc\x00\x07\x1b]0;t\x07\x9b\u2028\udcff"
    assert printable(text) == "a\tb\nc\\x00\\x07\\x1b]0;t\\x07\\x9b\\u2028\\udcff"
    assert one_line("a\nb\r") == "a\\x0ab\\x0d"
    assert cut("x" * 10, 4) == "xxxx… [cut 6 bytes]"
    assert printable("é" * 10, 4).endswith("[cut 12 bytes]")


def test_xml_safe_keeps_what_xml_allows_and_escapes_the_rest() -> None:
    assert xml_safe("a\tb\nc\x00\x0b\x1b\x85\ufffe") == "a\tb\nc\\x00\\x0b\\x1b\\x85\\ufffe"
