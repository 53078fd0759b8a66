"""Serial-console login on a FreeBSD guest: through the loader, getty's ``login:``, root's dotfiles, into /bin/sh
with a unique prompt.

What the console shows and when (freebsd-facts §A.4, §B.3, §B.4; fixture console-login__13.2-RELEASE):

* the loader: the Lua menu's ``Autoboot in N seconds`` or ``Hit [Enter] to boot immediately``, passed through
  untouched: every image the harness boots has its kernel console on the serial line (BASIC-CI's loader.conf
  ``console="comconsole,vidconsole"``, or UEFI, whose loader picks the serial console from ConOut);
  a plain amd64 image under BIOS is refused before boot (harness.guests.freebsd.boot, review L4);
* getty on ttyu0: ``login: ``; root has an empty password, so ``login`` asks for none (a ``Password:`` is answered
  with an empty line anyway);
* root's dotfiles run ``resizewin -z``, which asks the terminal ``ESC[6n``: answered with a fixed size;
* root's shell is /bin/csh before 14.0, /bin/sh after: either way the harness ``exec``s a clean /bin/sh
  (``ENV`` unset, so no .shrc) and installs ``PS1`` with a per-session token.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.errors import ConsoleTimeout
from harness.guests.freebsd.data import ConsoleData, FreeBSDData
from harness.parse.console import (
    STREAM_CURSOR_QUERY,
    STREAM_LOGIN,
    STREAM_LOGIN_INCORRECT,
    STREAM_PASSWORD,
    STREAM_ROOT_SHELL,
)
from harness.steps import step

if TYPE_CHECKING:
    from harness.vm.console import Console


@dataclass(frozen=True)
class Session:
    """A logged-in console: the unique prompt regex installed."""

    prompt: str


def unique_prompt(tag: str, token: str) -> tuple[str, str]:
    """The ``PS1=`` command to type and the regex of the prompt it yields. The command splits the tag with an empty
    quoted string, so its echo on the console never matches the regex."""
    command = f'PS1="{tag[:2]}""{tag[2:]}-{token}# "'
    return command, prompt_regex(tag, re.escape(token))


def prompt_regex(tag: str, token: str = r"[0-9a-f]+") -> str:
    """The regex of the unique prompt for ``tag``; by default any session's token."""
    return rf"{re.escape(tag)}-{token}# "


def wait_for_login_prompt(console: Console, timeout: float) -> None:
    """Wait through the loader and kernel boot until getty's ``login:``."""
    with step("boot-to-login"):
        console.expect(STREAM_LOGIN, timeout=timeout, what="the login prompt")


def log_in_as_root(console: Console, data: ConsoleData, timeout: float) -> None:
    """At ``login:``: type the user, answer an (empty) password and resizewin's size query, reach root's shell."""
    console.sendline(data.user)
    while True:
        index = console.expect(
            [STREAM_ROOT_SHELL, STREAM_PASSWORD, STREAM_CURSOR_QUERY, STREAM_LOGIN_INCORRECT],
            timeout=timeout,
            what="root's shell",
        )
        if index == 0:
            return
        if index == 1:
            console.sendline("")
        elif index == 2:
            console.send(data.cursor_report)
        else:
            raise ConsoleTimeout(
                "root login on the serial console was refused (Login incorrect)",
                last_lines=console.last_lines(),
                hint="the image's root account has a password; boot an official image or reset it",
            )


def enter_clean_shell(console: Console, data: ConsoleData, timeout: float) -> str:
    """Replace the login shell by /bin/sh without dotfiles and install the unique prompt; returns its regex."""
    command, prompt = unique_prompt(data.prompt_tag, secrets.token_hex(4))
    console.sendline("exec /usr/bin/env ENV=/dev/null /bin/sh")
    console.sendline(command)
    console.expect(prompt, timeout=timeout, what="the harness prompt")
    console.prompt = prompt
    for setup in data.shell_setup:
        console.run(setup, timeout=timeout)
    return prompt


def login(console: Console, data: FreeBSDData, *, boot_timeout: float | None = None) -> Session:
    """From power-on (or a reboot) to a root /bin/sh with the unique prompt on the serial console."""
    wait_for_login_prompt(console, boot_timeout or data.timeouts.boot)
    with step("console-login"):
        log_in_as_root(console, data.console, data.timeouts.login)
        prompt = enter_clean_shell(console, data.console, data.timeouts.login)
    return Session(prompt)
