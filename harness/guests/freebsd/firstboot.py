"""First-boot configuration of a stock FreeBSD image, done once per disk from the serial console.

After it: later boots skip the loader menu and countdown (loader.conf), sshd runs with the run's key for root (the stock
sshd_config forbids root logins and plain images do not even enable sshd; freebsd-facts §A.4-A.5), and a stamp
file says it is done, so a reboot of the same overlay does not repeat it.

Why not nuageinit: only the BASIC-CLOUDINIT images enable it (``nuageinit_enable``; plain and BASIC-CI images do
not), and those also run ``firstboot_freebsd_update`` on first boot, which needs the network the harness's VMs do
not have (``restrict=on``) and blew other harnesses' TCG boot timeouts (freebsd-facts §A.6). Root's empty-password
serial login works on every official image, so configuring from the console is both available and faster.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from harness.guests.freebsd.data import FirstBootData
from harness.guests.freebsd.shell import Shell, must
from harness.steps import step

SSHD_CONFIG = "/etc/ssh/sshd_config"
SSHD_MARKER = "# harness: the first value of a keyword wins (sshd_config(5))"


@dataclass(frozen=True)
class FirstBootReport:
    already_configured: bool
    commands: tuple[str, ...]


def _sysrc(path: str | None, settings: dict[str, str]) -> str:
    where = f"-f {path} " if path else ""
    pairs = " ".join(shlex.quote(f"{key}={value}") for key, value in settings.items())
    return f"sysrc {where}{pairs}"


def _sshd_config(lines: tuple[str, ...]) -> str:
    """Put our lines at the top of sshd_config, once (BASIC-CI images append their own PermitRootLogin)."""
    block = " ".join(shlex.quote(line) for line in (SSHD_MARKER, *lines))
    return (
        f"grep -qF {shlex.quote(SSHD_MARKER)} {SSHD_CONFIG} || "
        f"{{ printf '%s\\n' {block} | cat - {SSHD_CONFIG} > {SSHD_CONFIG}.harness && "
        f"mv {SSHD_CONFIG}.harness {SSHD_CONFIG}; }}"
    )


def authorize_key_commands(public_key: str) -> list[str]:
    key = shlex.quote(public_key.strip())
    return [
        "mkdir -p /root/.ssh && chmod 700 /root/.ssh",
        f"grep -qxF {key} /root/.ssh/authorized_keys 2>/dev/null || printf '%s\\n' {key} >> /root/.ssh/authorized_keys",
        "chmod 600 /root/.ssh/authorized_keys",
    ]


def configuration_commands(data: FirstBootData) -> list[str]:
    """The commands that configure a fresh image (loader.conf, rc.conf, sshd_config), in order."""
    return [
        _sysrc("/boot/loader.conf", dict(data.loader_conf)),
        _sysrc(None, data.rc_conf),
        _sshd_config(data.sshd_config),
    ]


def configure(shell: Shell, data: FirstBootData, *, public_key: str, timeout: float = 300.0) -> FirstBootReport:
    """Configure the guest once per disk and (every time) make sure sshd runs with ``public_key`` for root."""
    done = shell.run(f"test -e {data.stamp}", timeout=timeout).ok
    commands: list[str] = []
    with step("first-boot-config", skipped=done):
        if not done:
            commands += configuration_commands(data)
        commands += authorize_key_commands(public_key)
        commands.append("service sshd status >/dev/null 2>&1 && service sshd restart || service sshd start")
        if not done:
            commands.append(f"touch {data.stamp}")
        for command in commands:
            must(shell, command, why="configuring the guest", timeout=timeout, hint="see the console log")
    return FirstBootReport(done, tuple(commands))
