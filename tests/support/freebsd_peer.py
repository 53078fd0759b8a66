"""A pty peer that answers as a FreeBSD serial console does, built from the real transcripts in
../shared/fixtures/freebsd (read through the ``freebsd_fixtures`` fixture, never copied).

It plays the loader (serial, or a BIOS boot whose kernel console goes to VGA until the loader is told
``console="comconsole"``), getty's ``login:``, root's login with the motd and resizewin's ``ESC[6n`` size query,
/bin/sh with the prompt the harness installs, the commands the FreeBSD adapter runs (answered from the sysctl,
uname and nextboot transcripts), ``shutdown -r`` with nextboot's one-shot kernel choice, and DDB (entered by
``sysctl debug.kdb.enter=1``, its output paged by ``--More--`` until ``set $lines 0``).

Support code (tests/support): the flows are tested in tests/unit/guests/test_freebsd_flows.py and
test_freebsd_boot.py, the peer itself against the transcripts in tests/unit/guests/test_freebsd_peer.py.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

STATUS_SUFFIX = re.compile(r"; echo __HRC_\$\?__$")
DDB_PAGE_LINES = 20  # db_lines_per_page default (sys/ddb/db_output.c)


@dataclass
class Transcripts:
    """What the peer says, cut out of the real transcripts."""

    boot_serial: list[str]  # loader to kernel banner (boot__13.0-RELEASE__amd64__1)
    getty_banner: list[str]  # "FreeBSD/amd64 (freebsd) (ttyu0)", "", "login: "
    after_login: list[str]  # ROOT LOGIN line, uname line of login(1), motd (console-login__13.2-RELEASE)
    root_prompt: str  # "root@freebsd:~ # "
    uname_a: str
    sysctl: dict[str, str]  # sysctl -a of 12.1-RELEASE
    ddb_commands: dict[str, list[str]]  # db> command -> its output (ddb__unknown__amd64__1)
    ddb_stop: list[str]  # "[ thread pid ... ]", "Stopped at ..." (ddb__13.0-CURRENT__amd64__1)
    nextboot: list[str]  # the nextboot__15.1-RELEASE transcript


def load_transcripts(root: Path) -> Transcripts:
    login = (root / "console-login__13.2-RELEASE__amd64__1.txt").read_text().splitlines()
    start = next(i for i, line in enumerate(login) if line.startswith("FreeBSD/amd64 ("))
    login_at = next(i for i, line in enumerate(login) if line.startswith("login: "))
    prompt_at = next(i for i, line in enumerate(login) if line.startswith("root@freebsd:~ # "))
    sysctl: dict[str, str] = {}
    for line in (root / "sysctl-a__12.1-RELEASE__amd64__1.txt").read_text().splitlines():
        name, sep, value = line.partition(": ")
        if sep and re.fullmatch(r"[a-z_][\w.%-]*", name):
            sysctl.setdefault(name, value)
        elif line.endswith(":") and re.fullmatch(r"[a-z_][\w.%-]*:", line):
            sysctl.setdefault(line[:-1], "")
    ddb = (root / "ddb__unknown__amd64__1.txt").read_text().splitlines()
    commands: dict[str, list[str]] = {}
    current: str | None = None
    for line in ddb:
        if line.startswith("db> "):
            current = line[4:]
            commands.setdefault(current, [])
        elif current is not None:
            commands[current].append(line)
    stop = (root / "ddb__13.0-CURRENT__amd64__1.txt").read_text().splitlines()
    stop_at = next(i for i, line in enumerate(stop) if line.startswith("[ thread pid"))
    return Transcripts(
        boot_serial=(root / "boot__13.0-RELEASE__amd64__1.txt").read_text().splitlines(),
        getty_banner=[*login[start:login_at], "login: "],
        after_login=login[login_at + 1 : prompt_at],
        root_prompt="root@freebsd:~ # ",
        uname_a=login[prompt_at + 1],
        sysctl=sysctl,
        ddb_commands=commands,
        ddb_stop=stop[stop_at : stop_at + 2],
        nextboot=(root / "nextboot__15.1-RELEASE__amd64__1.txt").read_text().splitlines(),
    )


@dataclass
class GuestState:
    """What the simulated guest knows: files, sysctls, the kernel it runs, what nextboot asked for."""

    sysctl: dict[str, str]
    uname_a: str
    files: dict[str, bytes] = field(default_factory=dict)
    nextboot: str | None = None
    kernels: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # name -> (bootfile, ident, uname -a)
    boots: int = 0
    sshd_running: bool = False
    nm_symbols: tuple[str, ...] = ()
    #: What ``command -v`` finds (base-system tools; a pkgbase image may lack them).
    tools: frozenset[str] = frozenset({"cc", "nm"})

    @property
    def uname_v(self) -> str:
        # uname -a = sysname nodename release version machine; version sits between release and machine.
        words = self.uname_a.split()
        return " ".join(words[3:-1])


class FreeBSDConsolePeer(threading.Thread):
    """The guest side of a pty: reads what the harness types, writes what FreeBSD would print."""

    def __init__(
        self,
        fd: int,
        text: Transcripts,
        state: GuestState,
        *,
        vga_console: bool = False,
        resizewin: bool = True,
        ddb: bool = False,
        countdown: float = 3.0,
    ) -> None:
        super().__init__(daemon=True)
        tty.setraw(fd)
        self.fd = fd
        self.text = text
        self.state = state
        self.vga_console = vga_console
        self.resizewin = resizewin
        self.ddb = ddb
        self.countdown = countdown
        self.received = bytearray()
        self.commands: list[str] = []
        self.ddb_lines_per_page = DDB_PAGE_LINES
        self.prompt = text.root_prompt
        self.cursor_answered = False
        self.stopped = threading.Event()
        self._pending = bytearray()
        self._lock = threading.Lock()
        self._steered = False

    # --- pty i/o ---------------------------------------------------------------------------------------------------

    def write(self, text: str) -> None:
        if not self.stopped.is_set():
            try:
                os.write(self.fd, text.replace("\n", "\r\n").encode())
            except OSError:
                self.stopped.set()

    def lines(self, lines: list[str]) -> None:
        self.write("".join(line + "\n" for line in lines))

    def _read(self, timeout: float) -> bytes:
        import select

        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return b""
        try:
            data = os.read(self.fd, 4096)
        except OSError:
            self.stopped.set()
            return b""
        with self._lock:
            self.received += data
        return data

    def key(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while not self._pending and time.monotonic() < deadline and not self.stopped.is_set():
            self._pending += self._read(min(0.05, max(0.0, deadline - time.monotonic())))
        if not self._pending:
            return None
        char = chr(self._pending[0])
        del self._pending[0]
        return char

    def line(self, timeout: float = 30.0, *, echo: bool = True) -> str | None:
        """A line ended by CR or LF (what a tty in canonical mode delivers), echoed like the tty does."""
        chars: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stopped.is_set():
            char = self.key(0.1)
            if char is None:
                continue
            if char in "\r\n":
                if not chars and char == "\n":
                    continue  # the LF after a CR
                if echo:
                    self.write("".join(chars) + "\n")
                return "".join(chars)
            chars.append(char)
        return None

    # --- the guest's life ------------------------------------------------------------------------------------------

    def run(self) -> None:
        while not self.stopped.is_set():
            self.boot()
            if not self.login():
                return
            if not self.shell():
                return

    def boot(self) -> None:
        self.state.boots += 1
        boot = self.text.boot_serial
        countdown_at = next(i for i, line in enumerate(boot) if "Autoboot in" in line)
        if not self.vga_console or self._steered:
            self.lines(boot)
            self.write("\n")
            self.lines(self.text.getty_banner[:-1])
            self.write(self.text.getty_banner[-1])
            return
        # BIOS, plain image: the menu shows, the countdown runs; a key stops it, "3" escapes to the prompt.
        self.lines(boot[: countdown_at + 1])
        first = self.key(self.countdown)
        if first is None:
            self.lines(boot[countdown_at + 2 : countdown_at + 3])  # "Loading kernel..." - then VGA only
            self.stopped.wait()
            return
        choice = self.key(5.0)
        if choice != "3":
            self.stopped.wait()
            return
        self.write("\nType '?' for a list of commands, 'help' for more detailed help.\nOK ")
        while not self.stopped.is_set():
            command = self.line()
            if command is None:
                return
            if command == 'set console="comconsole"':
                self._steered = True
            if command == "boot" and self._steered:
                self.lines(boot[countdown_at + 2 :])
                self.write("\n")
                self.lines(self.text.getty_banner[:-1])
                self.write(self.text.getty_banner[-1])
                return
            self.write("OK ")

    def login(self) -> bool:
        user = self.line(timeout=60)
        if user != "root":
            return False
        self.lines(self.text.after_login)
        if self.resizewin:
            self.write("\x1b[999;999H\x1b[6n")
            reply = bytearray()
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline and not reply.endswith(b"R"):
                char = self.key(0.1)
                if char is not None:
                    reply += char.encode()
            self.cursor_answered = reply == b"\x1b[24;80R"
        self.prompt = self.text.root_prompt
        self.write(self.prompt)
        return True

    def shell(self) -> bool:
        while not self.stopped.is_set():
            line = self.line(timeout=120)
            if line is None:
                return False
            self.commands.append(line)
            command = STATUS_SUFFIX.sub("", line)
            marked = command != line
            if command.startswith("PS1="):
                self.prompt = shlex.split(command[4:])[0]
            elif command == "exec /usr/bin/env ENV=/dev/null /bin/sh":
                self.prompt = "# "
            elif command == "shutdown -r now":
                self.reboot()
                return True
            elif command == "sysctl debug.kdb.enter=1" and self.ddb:
                self.debugger()
                self.write("debug.kdb.enter: 0 -> 0\n")
            else:
                output, status = self.answer(command)
                self.write(output)
                if marked:
                    self.write(f"__HRC_{status}__\n")
            self.write(self.prompt)
        return False

    def reboot(self) -> None:
        self.write("Shutdown NOW!\nshutdown: [pid 1234]\n\nSystem shutdown time has arrived\n")
        self.write("Waiting (max 60 seconds) for system process `vnlru' to stop... done\nUptime: 2m3s\nRebooting...\n")
        chosen = self.state.nextboot
        self.state.nextboot = None  # loader rewrites nextboot.conf to nextboot_enable="NO" before booting
        if chosen and f"/boot/{chosen}/kernel" in self.state.files and chosen in self.state.kernels:
            bootfile, ident, uname_a = self.state.kernels[chosen]
        else:
            bootfile, ident, uname_a = "/boot/kernel/kernel", "GENERIC", self.text.uname_a
        self.state.sysctl["kern.bootfile"] = bootfile
        self.state.sysctl["kern.ident"] = ident
        self.state.uname_a = uname_a

    def debugger(self) -> None:
        self.lines(["KDB: enter: sysctl debug.kdb.enter", *self.text.ddb_stop])
        lines_per_page = self.ddb_lines_per_page
        while not self.stopped.is_set():
            self.write("db> ")
            command = self.line()
            if command is None:
                return
            self.commands.append(f"db> {command}")
            if command in ("continue", "c"):
                return
            if command in ("set $lines 0", "set $lines = 0"):
                lines_per_page = 0
                continue
            output = self.text.ddb_commands.get(command, ['No such command; use "help" to list available commands'])
            self._paged(output, lines_per_page)

    def _paged(self, output: list[str], lines_per_page: int) -> None:
        for index, line in enumerate(output, start=1):
            self.write(line + "\n")
            if lines_per_page and index % lines_per_page == 0 and index < len(output):
                self.write("--More--\r")
                answer = self.key(30.0)
                self.write("        \r")
                if answer in ("q", "Q", "x", "X", None):
                    return

    # --- commands --------------------------------------------------------------------------------------------------

    def answer(self, command: str) -> tuple[str, int]:
        for pattern, handler in self.handlers():
            match = re.fullmatch(pattern, command)
            if match:
                return handler(match)
        return f"{command.split()[0]}: Command not found.\n", 127

    def handlers(self) -> list[tuple[str, Callable[[re.Match[str]], tuple[str, int]]]]:
        st = self.state

        def sysctl_n(m: re.Match[str]) -> tuple[str, int]:
            name = m[1]
            if name not in st.sysctl:
                return f"sysctl: unknown oid '{name}'\n", 1
            return st.sysctl[name] + "\n", 0

        def sysctl_show(m: re.Match[str]) -> tuple[str, int]:
            out = []
            for name in m[1].split():
                if "=" in name:
                    key, value = name.split("=", 1)
                    out.append(f"{key}: {st.sysctl.get(key, '0')} -> {value}")
                    st.sysctl[key] = value
                elif name in st.sysctl:
                    value = st.sysctl[name]
                    out.append(f"{name}: {value}" if value else f"{name}: ")
            return "".join(line + "\n" for line in out), 0

        def sysrc(m: re.Match[str]) -> tuple[str, int]:
            out = []
            for pair in shlex.split(m[2]):
                key, _, value = pair.partition("=")
                out.append(f"{key}:  -> {value}")
            return "".join(line + "\n" for line in out), 0

        def test_e(m: re.Match[str]) -> tuple[str, int]:
            return "", 0 if m[1] in st.files else 1

        def touch(m: re.Match[str]) -> tuple[str, int]:
            st.files.setdefault(m[1], b"")
            return "", 0

        def sshd(m: re.Match[str]) -> tuple[str, int]:
            message = "Performing sanity check on sshd configuration.\nStarting sshd.\n"
            st.sshd_running = True
            return message, 0

        def stage(m: re.Match[str]) -> tuple[str, int]:
            for path in [p for p in st.files if p.startswith(m[1] + "/")]:
                del st.files[path]
            return "", 0

        def sha256(m: re.Match[str]) -> tuple[str, int]:
            if m[1] not in st.files:
                return f"sha256: {m[1]}: No such file or directory\n", 1
            return hashlib.sha256(st.files[m[1]]).hexdigest() + "\n", 0

        def install(m: re.Match[str]) -> tuple[str, int]:
            old, new, target = m[1], m[2], m[3]
            for path in [p for p in st.files if p.startswith(old + "/")]:
                del st.files[path]
            for path in [p for p in st.files if p.startswith(new + "/")]:
                st.files[target + path[len(new) :]] = st.files.pop(path)
            return "", 0

        def nextboot(m: re.Match[str]) -> tuple[str, int]:
            if f"/boot/{m[1]}/kernel" not in st.files:
                return f"Error: /boot/{m[1]}/kernel doesn't exist. Use -f to override.\n", 1
            st.nextboot = m[1]
            return "", 0

        def nm(m: re.Match[str]) -> tuple[str, int]:
            wanted = re.compile(r" (" + m[1] + r")$")
            kinds = {name: "D" if name.startswith("kstack") else "T" for name in st.nm_symbols}
            lines = [f"ffffffff81{i:06x} {kinds[name]} {name}" for i, name in enumerate(st.nm_symbols)]
            return "".join(line + "\n" for line in lines if wanted.search(line)), 0

        def sysctl_names(m: re.Match[str]) -> tuple[str, int]:
            wanted = re.compile(m[1])
            names = [name for name in st.sysctl if wanted.search(name)]
            return "".join(n + "\n" for n in names), 0 if names else 1

        return [
            (r"sysctl -n (\S+)", sysctl_n),
            (r"sysctl -aN 2>/dev/null \| egrep '(.+)'", sysctl_names),
            (r"sysctl ((?:\S+ ?)+)", sysctl_show),
            (r"uname -a", lambda m: (st.uname_a + "\n", 0)),
            (r"uname -v", lambda m: (st.uname_v + "\n", 0)),
            (r"sysrc (-f \S+ )?(.+)", sysrc),
            (r"test -e (\S+)", test_e),
            (r"touch (\S+)", touch),
            (r"service sshd status .*", sshd),
            (r"grep -qF .* /etc/ssh/sshd_config \|\| .*", lambda m: ("", 0)),
            (r"mkdir -p /root/\.ssh && chmod 700 /root/\.ssh", lambda m: ("", 0)),
            (r"grep -qxF .* /root/\.ssh/authorized_keys .*", lambda m: ("", 0)),
            (r"chmod 600 /root/\.ssh/authorized_keys", lambda m: ("", 0)),
            (r"set \+o emacs \+o vi", lambda m: ("", 0)),
            (r"export TERM=dumb PAGER=cat", lambda m: ("", 0)),
            (r"stty .*", lambda m: ("", 0)),
            (r"rm -rf (\S+) && mkdir -p \S+", stage),
            (r"sha256 -q (\S+)", sha256),
            (r"rm -rf (\S+) && mv (\S+) (\S+)", install),
            (r"kldxref \S+", lambda m: ("", 0)),
            (r"nextboot -k (\S+)", nextboot),
            (r"nm \"\$\(sysctl -n kern\.bootfile\)\" \| egrep ' \((.+)\)\$'", nm),
            (r"command -v (\S+)", lambda m: (f"/usr/bin/{m[1]}\n", 0) if m[1] in st.tools else ("", 1)),
            (r"ddb script .*", lambda m: ("", 0)),
        ]


class FakeSftp:
    """Stands in for SFTP: the uploaded bytes land in the simulated guest's files (so sha256 -q sees them)."""

    def __init__(self, state: GuestState) -> None:
        self.state = state
        self.puts: list[str] = []

    def put(self, local: Path, remote: str) -> None:
        self.state.files[remote] = local.read_bytes()
        self.puts.append(remote)
