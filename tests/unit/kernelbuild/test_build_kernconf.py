"""The KERNCONF: GENERIC + debug options, and an ident that fingerprints source, patches and options."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import UsageError
from harness.kernelbuild.kernconf import KernconfRequest, ident_fingerprint, load_settings, render

REV = "a" * 40


def test_includes_generic_and_every_debug_option() -> None:
    conf = render(KernconfRequest(REV, (("kstack-object", "b" * 64),)))
    lines = conf.text.splitlines()
    assert 'include "GENERIC"' in lines
    assert f"ident   {conf.ident}" in lines
    for option in ("DDB", "GDB", "INVARIANTS", "INVARIANT_SUPPORT", "WITNESS", "ALT_BREAK_TO_DEBUGGER"):
        assert f"options {option}" in lines
    assert not any(line.startswith("options KSTACK_PAGES") for line in lines)
    assert "KDB_UNATTENDED" not in conf.text.replace("# ", "")  # a panic must stop in DDB
    assert REV in conf.text and "kstack-object" in conf.text


def test_kstack_pages_option_and_range() -> None:
    conf = render(KernconfRequest(REV, (), kstack_pages=8))
    assert "options KSTACK_PAGES=8" in conf.text.splitlines()
    with pytest.raises(UsageError, match="KSTACK_PAGES"):
        render(KernconfRequest(REV, (), kstack_pages=0))


def test_ident_changes_with_source_patch_and_options() -> None:
    base = render(KernconfRequest(REV, (("p", "1" * 64),)))
    assert render(KernconfRequest(REV, (("p", "1" * 64),))).ident == base.ident
    assert render(KernconfRequest("c" * 40, (("p", "1" * 64),))).ident != base.ident
    assert render(KernconfRequest(REV, (("p", "2" * 64),))).ident != base.ident
    assert render(KernconfRequest(REV, (("p", "1" * 64),), kstack_pages=6)).ident != base.ident


@given(
    revision=st.text("0123456789abcdef", min_size=40, max_size=40),
    hashes=st.lists(
        st.tuples(st.sampled_from(["kstack-object", "kstack-pindex"]), st.text("0123456789abcdef")), max_size=3
    ),
    pages=st.one_of(st.none(), st.integers(4, 32)),
)
def test_ident_is_a_valid_config_name_that_proves_the_fingerprint(
    revision: str, hashes: list[tuple[str, str]], pages: int | None
) -> None:
    conf = render(KernconfRequest(revision, tuple(hashes), pages))
    settings = load_settings()
    assert re.fullmatch(r"[A-Z][A-Z0-9_]*", conf.ident)
    assert ident_fingerprint(conf.ident) == conf.fingerprint[: settings.fingerprint_chars]
    assert conf.name == conf.ident


def test_foreign_idents_have_no_fingerprint() -> None:
    assert ident_fingerprint("GENERIC") is None
    assert ident_fingerprint("HARNESS_XYZ") is None
