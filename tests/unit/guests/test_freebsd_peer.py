"""The FreeBSD console peer (tests/support/freebsd_peer.py) against the real transcripts it replays."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.freebsd_peer import DDB_PAGE_LINES, GuestState, Transcripts, load_transcripts

# --- the peer against the transcripts ------------------------------------------------------------------------------


def test_transcripts_hold_what_the_peer_replays(freebsd_fixtures: Path) -> None:
    text = load_transcripts(freebsd_fixtures)
    assert text.getty_banner[0] == "FreeBSD/amd64 (freebsd) (ttyu0)"
    assert text.after_login[0].startswith("May  8") and "ROOT LOGIN (root) ON ttyu0" in text.after_login[0]
    assert text.uname_a.startswith("FreeBSD freebsd 13.2-RELEASE")
    assert text.sysctl["kern.bootfile"] == "/boot/kernel/kernel"
    assert text.sysctl["debug.kdb.available"] == ""
    assert text.sysctl["vm.kstacks"] == "128"
    assert text.ddb_stop[0].startswith("[ thread pid ") and text.ddb_stop[1].startswith("Stopped at")
    assert len(text.ddb_commands["show registers"]) > DDB_PAGE_LINES
    assert any("Autoboot in" in line for line in text.boot_serial)
    assert any(line == "---<<BOOT>>---" for line in text.boot_serial)


def test_uname_v_is_the_version_field(freebsd_fixtures: Path) -> None:
    text = load_transcripts(freebsd_fixtures)
    state = GuestState(dict(text.sysctl), text.uname_a)
    assert state.uname_v == "FreeBSD 13.2-RELEASE releng/13.2-n254617-525ecfdad597 GENERIC"


@pytest.fixture
def transcripts(freebsd_fixtures: Path) -> Transcripts:
    return load_transcripts(freebsd_fixtures)
