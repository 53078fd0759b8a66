"""The FreeBSD adapter's console flows against a pty peer that answers as the FreeBSD console does (from the real
transcripts): login, first-boot configuration, nextboot-and-verify, DDB through the generic debugger driver."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import ConsoleTimeout, InfraError, UnexpectedDebugger
from harness.guests.freebsd import ddb, firstboot
from harness.guests.freebsd.adapter import FreeBSDGuest
from harness.guests.freebsd.boot import reboot_on_console
from harness.guests.freebsd.kernel import KernelNotBooted, install_and_boot, load_build
from harness.vm.console import Console
from harness.vm.debugger import Debugger
from harness.vm.stream import FdStream
from tests.support.freebsd_peer import FakeSftp, FreeBSDConsolePeer, GuestState, Transcripts, load_transcripts

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHarnessTestKeyOnlyForThisTest harness"


@pytest.fixture
def text(freebsd_fixtures: Path) -> Transcripts:
    return load_transcripts(freebsd_fixtures)


@pytest.fixture
def state(text: Transcripts) -> GuestState:
    return GuestState(dict(text.sysctl), text.uname_a)


@contextlib.contextmanager
def attached(
    text: Transcripts, state: GuestState, tmp_path: Path, adapter: FreeBSDGuest, **peer: object
) -> Iterator[tuple[Console, FreeBSDConsolePeer]]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    master, slave = os.openpty()
    guest = FreeBSDConsolePeer(slave, text, state, **peer)  # type: ignore[arg-type]
    guest.start()
    console = Console(FdStream(master), death=adapter.death_strings, log_dir=tmp_path, timeout=30, name="freebsd")
    try:
        yield console, guest
    finally:
        guest.stopped.set()
        console.close()
        guest.join(5)
        os.close(slave)


# --- login -----------------------------------------------------------------------------------------------------


def test_login_answers_resizewin_and_installs_a_unique_prompt(
    text: Transcripts, state: GuestState, tmp_path: Path
) -> None:
    adapter = FreeBSDGuest()
    with attached(text, state, tmp_path, adapter) as (console, peer):
        adapter.login(console, timeout=30)
        assert adapter.session is not None and console.prompt == adapter.session.prompt
        assert peer.cursor_answered, "resizewin's ESC[6n must get a cursor report"
        assert peer.prompt.startswith("HXPROMPT-") and peer.commands[0] == "exec /usr/bin/env ENV=/dev/null /bin/sh"
        assert 'HX""PROMPT' in peer.commands[1], "the echoed PS1 line must not look like the prompt"
        assert console.run("uname -a").output == text.uname_a


def test_two_logins_get_different_prompts(text: Transcripts, state: GuestState, tmp_path: Path) -> None:
    prompts = []
    for attempt in range(2):
        adapter = FreeBSDGuest()
        with attached(text, state, tmp_path / str(attempt), adapter) as (console, _):
            adapter.login(console, timeout=30)
            prompts.append(console.prompt)
    assert prompts[0] != prompts[1]


def test_a_vga_console_never_shows_login(text: Transcripts, state: GuestState, tmp_path: Path) -> None:
    """Why such images are refused before boot (review L4): nothing reaches the serial line."""
    adapter = FreeBSDGuest()
    with (
        attached(text, state, tmp_path, adapter, vga_console=True, countdown=0.5) as (console, _),
        pytest.raises(ConsoleTimeout, match="login prompt") as info,
    ):
        adapter.login(console, timeout=3)
    assert any("Loading kernel" in line for line in info.value.last_lines)


# --- first boot ------------------------------------------------------------------------------------------------


def test_first_boot_configures_once_and_installs_the_key_every_time(
    text: Transcripts, state: GuestState, tmp_path: Path
) -> None:
    adapter = FreeBSDGuest()
    data = adapter.data.firstboot
    with attached(text, state, tmp_path, adapter, resizewin=False) as (console, peer):
        adapter.login(console, timeout=30)
        first = firstboot.configure(console, data, public_key=KEY, timeout=30)
        second = firstboot.configure(console, data, public_key=KEY, timeout=30)
    assert not first.already_configured and second.already_configured
    assert data.stamp in state.files and state.sshd_running
    loader = next(c for c in peer.commands if c.startswith("sysrc -f /boot/loader.conf"))
    assert "autoboot_delay=-1" in loader and "beastie_disable=YES" in loader and "console=" not in loader
    assert sum(c.startswith("sysrc") for c in peer.commands) == 2, "configuration ran once"
    assert sum("authorized_keys" in c and "grep" in c for c in peer.commands) == 2, "the key is ensured each time"


def test_first_boot_leaves_the_console_alone_when_the_image_has_a_serial_console() -> None:
    data = FreeBSDGuest().data.firstboot
    commands = firstboot.configuration_commands(data)
    assert "console=" not in commands[0] and "sshd_enable=YES" in commands[1]


# --- nextboot and proof ----------------------------------------------------------------------------------------


def _kernel_dir(tmp_path: Path, version: str) -> Path:
    directory = tmp_path / "kernel-build"
    directory.mkdir(exist_ok=True)
    (directory / "kernel").write_bytes(b"\x7fELF" + bytes(64) + version.encode() + b"\x00" + os.urandom(256))
    (directory / "kernel.debug").write_bytes(b"debug info stays home")
    return directory


def _clasekern(text: Transcripts) -> tuple[str, str, str]:
    """What the nextboot transcript shows after the reboot into CLASEKERN."""
    after = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in text.nextboot if line.startswith("kern.")}
    uname = next(line for line in text.nextboot if line.startswith("FreeBSD freebsd "))
    return after["kern.bootfile"], after["kern.ident"], uname


def test_nextboot_install_reboots_into_the_kernel_and_proves_it(
    text: Transcripts, state: GuestState, tmp_path: Path
) -> None:
    bootfile, ident, uname = _clasekern(text)
    state.kernels["CLASEKERN"] = (bootfile, ident, uname)
    version = " ".join(uname.split()[3:-1])  # uname -a's version field: what the kernel's version[] says
    build = load_build(_kernel_dir(tmp_path, version + "\n"), name="CLASEKERN")
    assert build.ident == ident
    adapter = FreeBSDGuest()
    sftp = FakeSftp(state)
    with attached(text, state, tmp_path, adapter, resizewin=False) as (console, peer):
        adapter.login(console, timeout=30)
        proof = install_and_boot(
            build, transfer=sftp, shell=console, reboot=lambda: reboot_on_console(console, adapter, 30)
        )
        assert (proof.bootfile, proof.ident) == (bootfile, ident)
        assert state.boots == 2
        assert sftp.puts == ["/boot/CLASEKERN.harness-new/kernel"], "kernel.debug is not uploaded"
        assert any(c.startswith("nextboot -k CLASEKERN;") for c in peer.commands)
        # nextboot is one-shot: the next reboot is back on the default kernel.
        reboot_on_console(console, adapter, 30)
        assert console.run("sysctl -n kern.bootfile").output == "/boot/kernel/kernel"


def test_fallback_to_the_default_kernel_is_an_error(text: Transcripts, state: GuestState, tmp_path: Path) -> None:
    _, _, uname = _clasekern(text)
    build = load_build(_kernel_dir(tmp_path, " ".join(uname.split()[3:-1]) + "\n"), name="CLASEKERN")
    adapter = FreeBSDGuest()
    with attached(text, state, tmp_path, adapter, resizewin=False) as (console, _):
        adapter.login(console, timeout=30)
        with pytest.raises(KernelNotBooted, match="fell back to the default kernel"):
            install_and_boot(
                build,
                transfer=FakeSftp(state),
                shell=console,
                reboot=lambda: reboot_on_console(console, adapter, 30),
            )


def test_wrong_ident_is_an_error(text: Transcripts, state: GuestState, tmp_path: Path) -> None:
    bootfile, ident, uname = _clasekern(text)
    state.kernels["CLASEKERN"] = (bootfile, ident, uname)
    build = load_build(_kernel_dir(tmp_path, "FreeBSD 15.1-RELEASE OTHERKERN\n"), name="CLASEKERN")
    adapter = FreeBSDGuest()
    with attached(text, state, tmp_path, adapter, resizewin=False) as (console, _):
        adapter.login(console, timeout=30)
        with pytest.raises(KernelNotBooted, match="OTHERKERN"):
            install_and_boot(
                build, transfer=FakeSftp(state), shell=console, reboot=lambda: reboot_on_console(console, adapter, 30)
            )


def test_damaged_upload_is_caught_before_nextboot(text: Transcripts, state: GuestState, tmp_path: Path) -> None:
    class Corrupting(FakeSftp):
        def put(self, local: Path, remote: str) -> None:
            super().put(local, remote)
            self.state.files[remote] = self.state.files[remote][:-1]

    build = load_build(_kernel_dir(tmp_path, "FreeBSD 15.1-RELEASE CLASEKERN\n"), name="CLASEKERN")
    adapter = FreeBSDGuest()
    with attached(text, state, tmp_path, adapter, resizewin=False) as (console, peer):
        adapter.login(console, timeout=30)
        with pytest.raises(InfraError, match="uploaded kernel is damaged"):
            install_and_boot(build, transfer=Corrupting(state), shell=console, reboot=lambda: console)
    assert not any(c.startswith("nextboot") for c in peer.commands)


# --- DDB -------------------------------------------------------------------------------------------------------


def test_release_kernel_without_ddb_is_reported_with_the_fix(
    text: Transcripts, state: GuestState, tmp_path: Path
) -> None:
    adapter = FreeBSDGuest()
    with attached(text, state, tmp_path, adapter, resizewin=False) as (console, _):
        adapter.login(console, timeout=30)
        status = ddb.kdb_status(console)
        assert status.available == () and not status.has_ddb
        with pytest.raises(ddb.DdbUnavailable) as info:
            ddb.prepare(console, adapter.data.ddb)
    assert "options DDB" in info.value.one_line() and "release GENERIC" in info.value.one_line()


def test_ddb_setup_and_capture_through_the_debugger_driver(
    text: Transcripts, state: GuestState, tmp_path: Path
) -> None:
    state.sysctl["debug.kdb.available"] = "ddb gdb"
    adapter = FreeBSDGuest()
    with attached(text, state, tmp_path, adapter, resizewin=False, ddb=True) as (console, peer):
        adapter.login(console, timeout=30)
        status = ddb.prepare(console, adapter.data.ddb)
        assert status.available == ("ddb", "gdb")
        assert state.sysctl["debug.debugger_on_panic"] == "1" and state.sysctl["debug.kdb.alt_break_to_debugger"] == "1"
        assert any(c.startswith("ddb script 'kdb.enter.panic=") for c in peer.commands)
        driver = Debugger(console, adapter.debugger, arch="amd64")
        with driver.session():
            registers = driver.command("show registers")
            proc = driver.command("show proc")
        assert registers.output.splitlines() == text.ddb_commands["show registers"]
        assert registers.pages == 1, "set $lines 0 turned the pager off"
        assert proc.output.splitlines() == text.ddb_commands["show proc"]
        assert console.run("uname -a").ok, "the shell is back after continue"
    assert "db> set $lines 0" in peer.commands and "db> continue" in peer.commands


def test_ddb_pager_is_answered_when_left_on(text: Transcripts, state: GuestState, tmp_path: Path) -> None:
    state.sysctl["debug.kdb.available"] = "ddb"
    adapter = FreeBSDGuest()
    dialect = dataclasses.replace(adapter.debugger, disable_pager=None)
    with attached(text, state, tmp_path, adapter, resizewin=False, ddb=True) as (console, _):
        adapter.login(console, timeout=30)
        driver = Debugger(console, dialect, arch="amd64")
        with driver.session():
            ps = driver.command("ps")
    expected = text.ddb_commands["ps"]
    assert ps.pages == (len(expected) - 1) // 20 + 1
    got = [line.strip() for line in ps.output.splitlines() if line.strip()]
    assert got == [line.strip() for line in expected if line.strip()]


def test_unasked_debugger_entry_is_a_guest_crash(text: Transcripts, state: GuestState, tmp_path: Path) -> None:
    state.sysctl["debug.kdb.available"] = "ddb"
    adapter = FreeBSDGuest()
    with attached(text, state, tmp_path, adapter, resizewin=False, ddb=True) as (console, _):
        adapter.login(console, timeout=30)
        with pytest.raises(UnexpectedDebugger, match=r"KDB: enter: sysctl debug\.kdb\.enter"):
            console.run("sysctl debug.kdb.enter=1", timeout=10)


# --- harness boot --console / CLI --------------------------------------------------------------------------------


def test_console_hand_over_passes_keys_until_ctrl_bracket(text: Transcripts, state: GuestState, tmp_path: Path) -> None:
    from harness.guests.freebsd.interact import hand_over

    adapter = FreeBSDGuest()
    with attached(text, state, tmp_path, adapter, resizewin=False) as (console, peer):
        adapter.login(console, timeout=30)
        keys_r, keys_w = os.pipe()
        out_r, out_w = os.pipe()
        os.write(keys_w, b"uname -a\n")
        import threading

        closer = threading.Timer(1.0, lambda: os.write(keys_w, b"\x1d"))
        closer.start()
        hand_over(console, stdin_fd=keys_r, stdout_fd=out_w)
        closer.join()
        os.close(out_w)
        shown = os.read(out_r, 1 << 20).decode(errors="replace")
        for fd in (keys_r, keys_w, out_r):
            os.close(fd)
    assert "uname -a" in peer.commands
    assert text.uname_a in shown and "console detached" in shown


def test_boot_without_network_or_image_says_how_to_use_an_image_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from harness.cli.main import main
    from harness.settings import data_dir

    # Every site points at a closed local port, so the test never downloads anything, network or not.
    images = tmp_path / "data" / "images"
    images.mkdir(parents=True)
    shutil.copy(data_dir("images") / "freebsd-14.4.toml", images)
    (images / "sites.toml").write_text(
        '[sites]\ndownload = "http://127.0.0.1:9/d/"\narchive = "http://127.0.0.1:9/a/"\n'
        '[arch_dirs]\namd64 = "amd64"\narm64 = "aarch64"\n'
    )
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HARNESS_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("HARNESS_FREEBSD_MIRROR", raising=False)
    code = main(["boot", "--release", "14", "--arch", "amd64", "--no-progress", "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2
    assert "--image FILE" in err and err.count("\n") == 1 + err.count("→") + err.count("✗") + err.count("! ")


def test_boot_with_a_missing_kernel_dir_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli.main import main

    assert main(["boot", "--kernel", str(tmp_path / "nope")]) == 2
    assert "has no `kernel` file" in capsys.readouterr().err


def test_boot_with_a_run_dir_that_cannot_be_made_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli.main import main

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    image = tmp_path / "disk.qcow2"
    image.write_bytes(b"QFI\xfb")
    assert main(["boot", "--image", str(image), "--run-dir", str(blocker / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("harness: error: cannot use the run directory") and err.count("\n") == 1
