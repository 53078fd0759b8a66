"""Pure parts of the FreeBSD adapter: the §4.7 fingerprint, the kernel's version string, DDB status, death strings."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import UsageError
from harness.guests.freebsd import ddb
from harness.guests.freebsd.adapter import FreeBSDGuest
from harness.guests.freebsd.fingerprint import (
    SYMBOLS,
    FingerprintConflict,
    classify,
    fingerprint,
    symbols_from_nm,
    sysctls_from_names,
)
from harness.guests.freebsd.kernel import (
    BootProof,
    KernelBuild,
    KernelNotBooted,
    ident_from_version,
    load_build,
    normalise_uname_v,
    verify,
    version_from_elf,
)
from harness.guests.freebsd.login import unique_prompt


def _nm(*names: str) -> str:
    return "".join(f"ffffffff8{i:07x} {'D' if 'kstack' in n else 'T'} {n}\n" for i, n in enumerate(names))


def _sysctl_names(root: Path) -> str:
    lines = (root / "sysctl-a__12.1-RELEASE__amd64__1.txt").read_text().splitlines()
    return "\n".join(line.split(":", 1)[0] for line in lines if ":" in line)


# --- fingerprint -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbols", "generation"),
    [
        (("kstacks", "kstack_cache_size", "vm_thread_swapin"), "G0-list"),
        (("kstack_cache_size", "vm_thread_swapin"), "G0-uma"),
        (("kstack_object", "kstack_cache_size", "vm_thread_swapin"), "G1"),
        (("kstack_object", "kstack_alt_object", "vm_kstack_pindex", "vm_thread_swapin"), "G2"),
        (("kstack_object", "kstack_alt_object", "vm_kstack_pindex"), "G3"),
        (("kstack_object", "kstack_alt_object", "vm_thread_swapin"), "G2"),  # vm_kstack_pindex inlined away
        (("kstack_object", "kstack_alt_object"), "G3"),
    ],
)
def test_classify_follows_spec_4_7(symbols: tuple[str, ...], generation: str) -> None:
    assert classify(frozenset(symbols))[0] == generation


def test_12_1_release_is_g0_list_by_symbols_and_sysctls(freebsd_fixtures: Path) -> None:
    names = _sysctl_names(freebsd_fixtures)
    found = fingerprint(_nm("kstacks", "kstack_cache_size", "vm_thread_swapin", "vm_thread_new"), names)
    assert found.generation == "G0-list"
    assert "vm.kstacks" in found.sysctls


def test_symbols_and_sysctls_that_disagree_are_an_error(freebsd_fixtures: Path) -> None:
    names = _sysctl_names(freebsd_fixtures)  # vm.kstacks present: a G0-list kernel
    with pytest.raises(FingerprintConflict, match="symbols say G1"):
        fingerprint(_nm("kstack_object", "vm_thread_swapin"), names)
    with pytest.raises(FingerprintConflict, match="G0-list"):
        fingerprint(_nm("kstacks"), "vm.kstack_cache_size\nvm.uma.kstack_cache.size\n")


def test_no_symbols_at_all_is_not_guessed() -> None:
    with pytest.raises(FingerprintConflict, match="symbol table"):
        fingerprint("", "vm.kstack_cache_size\n")


def test_nm_parsing_takes_whole_names_only() -> None:
    text = _nm("my_kstacks", "kstacks_total", "kstack_object") + "                 U vm_thread_swapin\n"
    assert symbols_from_nm(text) == {"kstack_object", "vm_thread_swapin"}


def test_uma_zone_sysctls_are_recognised() -> None:
    assert sysctls_from_names("vm.kstack_cache_size\nvm.uma.kstack_cache.size\n") == {
        "vm.kstack_cache_size",
        "vm.uma.kstack_cache",
    }


@given(st.sets(st.sampled_from(SYMBOLS)))
def test_classification_is_total_and_monotone(symbols: set[str]) -> None:
    generation, reason = classify(frozenset(symbols))
    assert generation in {"G0-list", "G0-uma", "G1", "G2", "G3"} and reason
    if symbols & {"vm_kstack_pindex", "kstack_alt_object"}:
        assert generation in {"G2", "G3"}
    elif "kstack_object" in symbols:
        assert generation == "G1"


# --- the kernel's version string -----------------------------------------------------------------------------------


def _banner_version(root: Path) -> str:
    """version[] as the kernel banner prints it (init_main.c print_version: version, then ' ' + machine)."""
    lines = (root / "boot__13.0-RELEASE__amd64__1.txt").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"FreeBSD \d+\.\d+-RELEASE #", line))
    return lines[start] + "\n" + lines[start + 1].removesuffix(" amd64") + "\n"


def test_version_and_ident_are_read_from_the_kernel_file(freebsd_fixtures: Path, tmp_path: Path) -> None:
    version = _banner_version(freebsd_fixtures)
    kernel = tmp_path / "kernel"
    kernel.write_bytes(b"\x7fELF\x00FreeBSD clang version 11.0.1\x00" + version.encode() + b"\x00tail")
    assert version_from_elf(kernel) == version
    assert ident_from_version(version) == "GENERIC"


def test_uname_v_matches_the_version_string(freebsd_fixtures: Path) -> None:
    # 14.0-CURRENT: uname -a shows version[] with its newline and tab turned into spaces.
    line = (freebsd_fixtures / "uname-a__14.0-CURRENT__amd64__1.txt").read_text().strip()
    uname_v = line.split(" ", 3)[3].rsplit(" ", 1)[0]
    head, _, tail = uname_v.partition("     ")
    version = f"{head}\n    {tail}\n"
    assert normalise_uname_v(uname_v) == normalise_uname_v(version)
    assert ident_from_version(version) == "GENERIC"


def test_release_one_line_version_gives_its_ident(freebsd_fixtures: Path) -> None:
    line = (freebsd_fixtures / "uname-a__13.2-RELEASE__amd64__1.txt").read_text().splitlines()[1]
    version = " ".join(line.split()[3:-1])  # FreeBSD 13.2-RELEASE releng/13.2-n254617-525ecfdad597 GENERIC
    assert ident_from_version(version) == "GENERIC"


def test_metadata_json_wins_over_the_kernel_file(tmp_path: Path) -> None:
    (tmp_path / "kernel").write_bytes(b"FreeBSD 14.4-RELEASE releng/14.4-n1 GENERIC\n\x00")
    (tmp_path / "metadata.json").write_text('{"ident": "KSTACK", "version": "FreeBSD 14.4-RELEASE #0 x: d\\n"}')
    build = load_build(tmp_path)
    assert (build.ident, build.name) == ("KSTACK", "harness")
    assert "metadata.json" not in [p.name for p in build.files()]


@pytest.mark.parametrize("name", ["kernel", "../etc", "a b", "modules"])
def test_unsafe_install_names_are_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "kernel").write_bytes(b"x")
    with pytest.raises(UsageError):
        load_build(tmp_path, name=name)


def test_kernel_dir_without_kernel_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no `kernel` file"):
        load_build(tmp_path)


def test_verify_compares_bootfile_ident_and_version(tmp_path: Path) -> None:
    build = KernelBuild(tmp_path, "testk", "KSTACK", "FreeBSD 15.1-RELEASE #0 n1: Mon\n    u@h:/o/sys/KSTACK\n")
    good = BootProof("/boot/testk/kernel", "KSTACK", "FreeBSD 15.1-RELEASE #0 n1: Mon     u@h:/o/sys/KSTACK")
    verify(build, good)
    with pytest.raises(KernelNotBooted, match="uname -v"):
        verify(build, BootProof(good.bootfile, good.ident, "FreeBSD 15.1-RELEASE #1 n2: Tue     u@h:/o/sys/KSTACK"))
    with pytest.raises(KernelNotBooted, match="not /boot/testk/kernel"):
        verify(build, BootProof("/boot/kernel.old/kernel", good.ident, good.uname_v))
    with pytest.raises(KernelNotBooted, match=r"kern\.ident is 'GENERIC', the build's ident is 'KSTACK'"):
        verify(build, BootProof(good.bootfile, "GENERIC", good.uname_v))


# --- DDB -----------------------------------------------------------------------------------------------------------


def test_kdb_status_of_a_release_kernel_from_its_sysctls(freebsd_fixtures: Path) -> None:
    text = (freebsd_fixtures / "sysctl-a__12.1-RELEASE__amd64__1.txt").read_text()
    status = ddb.parse_kdb_sysctls(text)
    assert status.available == () and status.current == ""
    with pytest.raises(ddb.DdbUnavailable, match="release GENERIC kernels are built without DDB"):
        ddb.require_ddb(status)


def test_kdb_status_with_ddb() -> None:
    status = ddb.parse_kdb_sysctls("debug.kdb.available: ddb gdb\ndebug.kdb.current: ddb\n")
    assert status.has_ddb and status.current == "ddb"
    ddb.require_ddb(status)


def test_ddb_dialect_and_entry_methods() -> None:
    dialect = FreeBSDGuest().debugger
    assert re.search(dialect.prompt, "Stopped at kdb_enter+0x37: movq $0,0x1(%rip)\ndb> ")
    assert dialect.pager and re.search(dialect.pager, "--More--\r")
    assert dialect.entry_banner and re.search(dialect.entry_banner, "KDB: enter: sysctl debug.kdb.enter\r\n")
    assert dialect.disable_pager == "set $lines 0" and dialect.resume == "continue" and dialect.eol == "\r"
    kinds = {m.kind.value: m for m in dialect.entry_methods}
    assert kinds["shell"].payload == "sysctl debug.kdb.enter=1"
    assert kinds["keys"].payload == "\r~\x02"
    assert kinds["nmi"].works_on("amd64") and not kinds["nmi"].works_on("arm64")


@pytest.mark.parametrize(
    "name",
    ["panic__13.x__amd64__1.txt", "panic__unknown__arm64__1.txt", "ddb__unknown__amd64__3.txt"],
)
def test_death_strings_catch_real_crashes(freebsd_fixtures: Path, name: str) -> None:
    death = FreeBSDGuest().death_strings
    lines = (freebsd_fixtures / name).read_text().splitlines()
    assert any(re.search(p, line) for p in death.panic for line in lines)


def test_death_strings_ignore_a_normal_login_session(freebsd_fixtures: Path) -> None:
    death = FreeBSDGuest().death_strings
    lines = (freebsd_fixtures / "console-login__13.2-RELEASE__amd64__1.txt").read_text().splitlines()
    lines += (freebsd_fixtures / "sysctl-a__12.1-RELEASE__amd64__1.txt").read_text().splitlines()
    assert not [line for line in lines for p in death.all() if re.search(p, line)]


def test_a_harness_build_directory_is_understood(tmp_path: Path) -> None:
    staged = tmp_path / "stage" / "boot" / "kernel"
    staged.mkdir(parents=True)
    (staged / "kernel").write_bytes(b"\x00FreeBSD 15.1-RELEASE #0 n1: Mon\n    u@h:/o/sys/HARNESS_AB12\n\x00")
    (tmp_path / "metadata.json").write_text(
        '{"kernel_dir": "stage/boot/kernel", "kernconf": {"ident": "HARNESS_AB12", "name": "HARNESS_AB12"}}'
    )
    build = load_build(tmp_path)
    assert build.directory == staged and build.ident == "HARNESS_AB12"
    assert build.version and build.version.startswith("FreeBSD 15.1-RELEASE #0")


def test_unique_prompt_and_the_adapters_prompt_follow_the_configured_tag() -> None:
    command, prompt = unique_prompt("QATAG", "ab12")
    assert command == 'PS1="QA""TAG-ab12# "' and not re.search(prompt, command)
    assert re.search(prompt, "QATAG-ab12# ") and not re.search(prompt, "QATAG-ff00# ")
    adapter = FreeBSDGuest()
    retagged = dataclasses.replace(adapter.data, console=dataclasses.replace(adapter.data.console, prompt_tag="QATAG"))
    fallback = FreeBSDGuest(data=retagged).prompt  # before login: any session's prompt for this tag
    assert re.search(fallback, "QATAG-ab12# ") and re.search(fallback, "QATAG-ff00# ")
    assert not re.search(fallback, "HXPROMPT-ab12# ")
