"""What FreeBSD prints on the serial console: the one place its console patterns are defined.

Every pattern is a compiled ``re.Pattern[str]`` meant to be applied with ``.search`` to ONE cleaned console line
(no line terminator; see :func:`harness.parse.text.clean_console`). Sources, so a reader can check them:

* loader: stand/lua/menu.lua, core.lua, stand/common/boot.c (``Hit [Enter] to boot immediately``,
  ``Booting [%s] in %d seconds...``), stand/common/interp_forth.c / interp.c (the ``OK`` prompt);
* kernel: sys/kern/subr_prf.c (``---<<BOOT>>---``, the boot tag), sys/kern/init_main.c (the copyright and version
  banner), sys/kern/vfs_mountroot.c (``Trying to mount root from``), getty/login (``login:``);
* crash and debugger: sys/kern/kern_shutdown.c (``panic:``, ``cpuid =``, ``time =``, ``Uptime:``,
  ``Automatic reboot in``, ``Dumping``), sys/amd64/amd64/trap.c / sys/arm64/arm64/trap.c (``Fatal trap N:``),
  sys/kern/subr_kdb.c (``KDB: enter: %s``, ``KDB: stack backtrace:``), sys/ddb/db_main.c (``[ thread pid %d tid
  %ld ]``, ``Stopped at``), sys/ddb/db_command.c / db_output.c (``db> ``, ``--More--``).

The FreeBSD guest adapter imports :data:`CRASH_PATTERNS` and :data:`DEBUGGER_PATTERNS` as the console watcher's
"death strings", and the ``STREAM_*`` patterns (loader, login, reboot, DDB prompt and pager) to wait on the raw
console stream; nothing else in the harness may redefine them.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

# --- loader --------------------------------------------------------------------------------------------------

#: The Lua loader's boot menu (stand/lua/menu.lua, drawer.lua): the frame's title ``Welcome to FreeBSD`` drawn in
#: the top border, the numbered entries (``1. Boot Multi user [Enter]``) and ``Kernel: default/kernel (1 of 2)``.
#: The motd's ``Welcome to FreeBSD!`` after login has no frame before it and is not matched.
LOADER_MENU = re.compile(
    r"^\s*[|+\u2502\u2551\u250c\u2554].*?(?:[-=\u2500\u2550]\s*Welcome to FreeBSD"
    r"|\d\.\s+Boot (?:Multi user|Single user|Installer)|\bKernel: \S+ \(\d+ of \d+\))"
)

#: Lua menu countdown: ``Autoboot in 9 seconds. [Space] to pause`` (14+) or ``Autoboot in 0 seconds, hit [Enter]
#: to boot or any other key to stop`` (13.x).
LOADER_AUTOBOOT = re.compile(r"^\s*Autoboot in (?P<seconds>\d+) seconds?")

#: The countdown without a menu (stand/common/boot.c): ``Hit [Enter] to boot immediately, or any other key
#: for command prompt.`` followed by ``Booting [/boot/kernel/kernel] in 9 seconds...`` or
#: ``Booting [/boot/kernel/kernel]...``.
LOADER_HIT_ENTER = re.compile(r"^Hit \[Enter\] to boot immediately")
LOADER_BOOTING = re.compile(r"^Booting \[(?P<kernel>[^\]]*)\](?: in (?P<seconds>\d+) seconds?)?")

#: The interactive loader prompt ``OK `` (alone on its line after cleaning; commands typed after it are echoed).
LOADER_OK_PROMPT = re.compile(r"^OK(?: (?P<command>.*))?$")

#: ``Loading kernel...`` (loader.lua) and the per-file load lines.
LOADER_LOADING_KERNEL = re.compile(r"^Loading kernel\.\.\.")

#: The EFI loader's banner: ``FreeBSD/arm64 EFI loader, Revision 1.1``; BIOS: ``FreeBSD/x86 bootstrap loader``.
LOADER_BANNER = re.compile(r"^FreeBSD/(?P<arch>\w+) (?:EFI loader|bootstrap loader)")

# --- kernel boot ----------------------------------------------------------------------------------------------

#: The boot tag (sysctl ``kern.boot_tag``, default ``---<<BOOT>>---``) that sys/kern/subr_prf.c msgbufinit()
#: prints when the kernel's message buffer starts: the first kernel line on the console.
BOOT_MARKER = re.compile(r"^---<<BOOT>>---")

#: ``Copyright (c) 1992-2021 The FreeBSD Project.``
BANNER_COPYRIGHT = re.compile(r"^Copyright \(c\) 1992-(?P<year>\d{4}) The FreeBSD Project\.")

#: The kernel version line of the banner (``version[]`` of sys/conf/newvers.sh), e.g.
#: ``FreeBSD 13.0-RELEASE #0 releng/13.0-n244733-ea31abc261f: Fri Apr  9 04:24:09 UTC 2021`` or the short form
#: ``FreeBSD 12.2-RELEASE r366954 GENERIC arm64``. Decoded by :func:`harness.parse.version.parse_version_line`.
BANNER_VERSION = re.compile(r"^FreeBSD (?P<release>\d+\.\d+-[A-Z]+[\w.-]*)(?: |$)")

#: vfs_mountroot.c: ``Trying to mount root from ufs:/dev/gpt/rootfs [rw]...``
MOUNT_ROOT = re.compile(r"^Trying to mount root from (?P<source>\S+)")

#: vfs_mountroot.c when the root device never appears: ``Mounting from ufs:/dev/x failed with error 19.``
MOUNT_ROOT_FAILED = re.compile(r"^Mounting from (?P<source>\S+) failed with error (?P<error>\d+)")

#: The interactive root prompt after a failed mount.
MOUNTROOT_PROMPT = re.compile(r"^mountroot>")

#: getty's login prompt ``login: `` (gettytab's default ``lo`` string, printed at the start of a line).
LOGIN_PROMPT = re.compile(r"^login:(?: |$)")

# --- crash ----------------------------------------------------------------------------------------------------

#: ``panic: %s`` (kern_shutdown.c vpanic). It may follow other text on the same line (``login: panic: …``) but
#: never a non-space character (so ``debug.kdb.panic: 0`` from sysctl is not a panic).
PANIC = re.compile(r"(?:^|(?<=\s))panic: (?P<message>.*)$")

#: ``Fatal trap 12: page fault while in kernel mode`` (amd64/i386 trap.c), ``Fatal trap 9: general protection
#: fault while in kernel mode``. arm64 prints ``panic:`` instead.
FATAL_TRAP = re.compile(r"^Fatal trap (?P<number>\d+): (?P<what>.*?)(?: while in (?P<mode>kernel|user) mode)?$")

#: ``Fatal double fault`` (amd64 trap.c dblfault_handler) - the kernel-stack overflow symptom.
FATAL_DOUBLE_FAULT = re.compile(r"^Fatal double fault")

#: ``cpuid = 3`` (kern_shutdown.c) or ``cpuid = 0; apic id = 00`` (trap.c).
CPUID = re.compile(r"^cpuid = (?P<cpuid>\d+)(?:; apic id = (?P<apic>[0-9a-fA-F]+))?")

#: ``KDB: stack backtrace:`` (kdb_backtrace()).
KDB_BACKTRACE = re.compile(r"^KDB: stack backtrace:")

#: ``Uptime: 15m6s`` printed on the way to reboot.
UPTIME = re.compile(r"^Uptime: (?P<uptime>(?:\d+d)?(?:\d+h)?(?:\d+m)?\d+s)")

#: ``Automatic reboot in 15 seconds - press a key on the console to abort``.
AUTOMATIC_REBOOT = re.compile(r"^Automatic reboot in (?P<seconds>\d+) seconds?")

#: ``Dumping 1234 out of 8000 MB:..1%`` (kern_dump / dumper) and ``Dump complete``.
DUMPING = re.compile(r"^Dumping (?P<size>\d+) out of (?P<total>\d+) MB")

#: After the dump or at ``reset``: ``Rebooting...`` (kern_shutdown.c shutdown_reset).
REBOOTING = re.compile(r"^Rebooting\.\.\.")

# --- debugger -------------------------------------------------------------------------------------------------

#: ``KDB: enter: panic`` / ``KDB: enter: sysctl debug.kdb.enter`` / ``KDB: enter: Break to debugger``.
KDB_ENTER = re.compile(r"^KDB: enter: (?P<why>.*)$")

#: ``[ thread pid 907 tid 100096 ]`` (db_main.c, printed when DDB takes over).
KDB_THREAD = re.compile(r"^\[ thread pid (?P<pid>\d+) tid (?P<tid>\d+) \]")

#: ``Stopped at      kdb_enter+0x6a: movq    $0,kdb_why``.
STOPPED_AT = re.compile(r"^Stopped at\s+(?P<where>\S+?):?\s+(?P<insn>.*)$")

#: The DDB prompt ``db> ``; a command typed after it is echoed on the same line.
DB_PROMPT = re.compile(r"^db>(?: (?P<command>.*))?$")

#: The DDB pager prompt, ``--More--`` followed by a lone CR (db_output.c db_pager); cleaning puts it on its own line.
MORE_PROMPT = re.compile(r"^--More--")


# --- the same milestones in the raw console stream -------------------------------------------------------------
# The guest adapter and the debugger driver wait for these with pexpect on the unread, uncleaned console text (no
# re.MULTILINE): a prompt is the last thing printed and no line end follows it. They are plain regex strings because
# that is what pexpect and harness.vm.guest.DebuggerDialect take.

#: The Lua menu's countdown (same text as :data:`LOADER_AUTOBOOT`).
STREAM_LOADER_AUTOBOOT = r"Autoboot in \d+ seconds"
#: The countdown without a menu (same text as :data:`LOADER_HIT_ENTER`).
STREAM_LOADER_HIT_ENTER = r"Hit \[Enter\] to boot immediately"
#: The loader's ``OK `` prompt at the start of a line, waiting for input.
STREAM_LOADER_OK = r"(?:^|\n)OK $"
#: getty's ``login: `` at the start of a line (same text as :data:`LOGIN_PROMPT`).
STREAM_LOGIN = r"(?:^|\n)login: "
#: login(1) asking for a password, and refusing one.
STREAM_PASSWORD = r"Password:"
STREAM_LOGIN_INCORRECT = r"Login incorrect"
#: resizewin(1), run by root's dotfiles, asks the terminal for the cursor position (``ESC [ 6 n``).
STREAM_CURSOR_QUERY = r"\x1b\[6n"
#: Root's prompt from the stock dotfiles (csh ``root@freebsd:~ # ``, sh ``# ``).
STREAM_ROOT_SHELL = r"[#%] $"
#: The kernel going down (:data:`REBOOTING`) or the next one starting (:data:`BOOT_MARKER`): a reboot happened.
STREAM_REBOOT_SEEN = r"Rebooting\.\.\.|---<<BOOT>>---"
#: DDB waiting for a command: ``db> `` (db_command.c) is the last thing printed (same text as :data:`DB_PROMPT`).
STREAM_DB_PROMPT = r"db> $"
#: DDB's pager (db_output.c db_pager prints ``--More--\r`` and waits; same text as :data:`MORE_PROMPT`).
STREAM_MORE = r"--More--\r?"
#: The start of DDB's entry banner ``KDB: enter: <why>`` (same text as :data:`KDB_ENTER`).
STREAM_KDB_ENTER = r"KDB: enter: "


class EventKind(enum.Enum):
    """One kind of console milestone; the value is the name used in JSON."""

    LOADER_BANNER = "loader_banner"
    LOADER_MENU = "loader_menu"
    LOADER_AUTOBOOT = "loader_autoboot"
    LOADER_HIT_ENTER = "loader_hit_enter"
    LOADER_BOOTING = "loader_booting"
    LOADER_OK_PROMPT = "loader_ok_prompt"
    LOADER_LOADING_KERNEL = "loader_loading_kernel"
    BOOT = "boot"
    BANNER_COPYRIGHT = "banner_copyright"
    BANNER_VERSION = "banner_version"
    MOUNT_ROOT = "mount_root"
    MOUNT_ROOT_FAILED = "mount_root_failed"
    MOUNTROOT_PROMPT = "mountroot_prompt"
    LOGIN = "login"
    PANIC = "panic"
    FATAL_TRAP = "fatal_trap"
    FATAL_DOUBLE_FAULT = "fatal_double_fault"
    CPUID = "cpuid"
    KDB_BACKTRACE = "kdb_backtrace"
    UPTIME = "uptime"
    AUTOMATIC_REBOOT = "automatic_reboot"
    DUMPING = "dumping"
    REBOOTING = "rebooting"
    KDB_ENTER = "kdb_enter"
    KDB_THREAD = "kdb_thread"
    STOPPED_AT = "stopped_at"
    DB_PROMPT = "db_prompt"
    MORE_PROMPT = "more_prompt"


#: Pattern for each event kind, in the order lines are tried; the first that matches wins. Crash patterns come
#: first so that ``login: panic: …`` (a panic printed after getty's prompt) is reported as the panic it is.
PATTERNS: tuple[tuple[EventKind, re.Pattern[str]], ...] = (
    (EventKind.PANIC, PANIC),
    (EventKind.FATAL_TRAP, FATAL_TRAP),
    (EventKind.FATAL_DOUBLE_FAULT, FATAL_DOUBLE_FAULT),
    (EventKind.KDB_ENTER, KDB_ENTER),
    (EventKind.KDB_THREAD, KDB_THREAD),
    (EventKind.STOPPED_AT, STOPPED_AT),
    (EventKind.DB_PROMPT, DB_PROMPT),
    (EventKind.MORE_PROMPT, MORE_PROMPT),
    (EventKind.KDB_BACKTRACE, KDB_BACKTRACE),
    (EventKind.CPUID, CPUID),
    (EventKind.UPTIME, UPTIME),
    (EventKind.AUTOMATIC_REBOOT, AUTOMATIC_REBOOT),
    (EventKind.DUMPING, DUMPING),
    (EventKind.REBOOTING, REBOOTING),
    (EventKind.BOOT, BOOT_MARKER),
    (EventKind.BANNER_COPYRIGHT, BANNER_COPYRIGHT),
    (EventKind.BANNER_VERSION, BANNER_VERSION),
    (EventKind.MOUNT_ROOT, MOUNT_ROOT),
    (EventKind.MOUNT_ROOT_FAILED, MOUNT_ROOT_FAILED),
    (EventKind.MOUNTROOT_PROMPT, MOUNTROOT_PROMPT),
    (EventKind.LOGIN, LOGIN_PROMPT),
    (EventKind.LOADER_BANNER, LOADER_BANNER),
    (EventKind.LOADER_MENU, LOADER_MENU),
    (EventKind.LOADER_AUTOBOOT, LOADER_AUTOBOOT),
    (EventKind.LOADER_HIT_ENTER, LOADER_HIT_ENTER),
    (EventKind.LOADER_BOOTING, LOADER_BOOTING),
    (EventKind.LOADER_OK_PROMPT, LOADER_OK_PROMPT),
    (EventKind.LOADER_LOADING_KERNEL, LOADER_LOADING_KERNEL),
)

#: Console lines that mean the kernel crashed: a panic, a fatal trap, a double fault.
CRASH_PATTERNS: tuple[re.Pattern[str], ...] = (PANIC, FATAL_TRAP, FATAL_DOUBLE_FAULT)

#: Console lines that mean the kernel is (now) in the debugger.
DEBUGGER_PATTERNS: tuple[re.Pattern[str], ...] = (KDB_ENTER, STOPPED_AT, DB_PROMPT)

#: Kinds that start a crash (used by the panic cutter and the console watcher).
CRASH_KINDS = frozenset({EventKind.PANIC, EventKind.FATAL_TRAP, EventKind.FATAL_DOUBLE_FAULT})
#: Kinds that show the debugger is active.
DEBUGGER_KINDS = frozenset({EventKind.KDB_ENTER, EventKind.KDB_THREAD, EventKind.STOPPED_AT, EventKind.DB_PROMPT})
#: Kinds the loader prints (the loader phase of a boot).
LOADER_KINDS = frozenset(
    {
        EventKind.LOADER_BANNER,
        EventKind.LOADER_MENU,
        EventKind.LOADER_AUTOBOOT,
        EventKind.LOADER_HIT_ENTER,
        EventKind.LOADER_BOOTING,
        EventKind.LOADER_OK_PROMPT,
        EventKind.LOADER_LOADING_KERNEL,
    }
)


@dataclass(frozen=True)
class ConsoleEvent:
    """One milestone seen on the console.

    ``time`` is when the line was read (seconds, the caller's clock; ``None`` when scanning a stored log without
    times); ``line_no`` is 1-based in the cleaned stream; ``fields`` holds the pattern's named groups.
    """

    kind: EventKind
    line_no: int
    text: str
    time: float | None = None
    fields: dict[str, str] = field(default_factory=dict)


def classify_line(line: str) -> tuple[EventKind, dict[str, str]] | None:
    """The event kind of one cleaned console line and its named fields, or ``None`` for an ordinary line."""
    for kind, pattern in PATTERNS:
        match = pattern.search(line)
        if match:
            return kind, {k: v for k, v in match.groupdict().items() if v is not None}
    return None


def is_crash_line(line: str) -> bool:
    """True when a console line shows a kernel crash (panic, fatal trap, double fault)."""
    return any(p.search(line) for p in CRASH_PATTERNS)


def is_debugger_line(line: str) -> bool:
    """True when a console line shows the kernel debugger (KDB entry, ``Stopped at``, the ``db>`` prompt)."""
    return any(p.search(line) for p in DEBUGGER_PATTERNS)
