"""Serial-console login on a FreeBSD guest: through the loader, getty's ``login:``, root's dotfiles, into /bin/sh
with a unique prompt.

What the console shows and when (freebsd-facts §A.4, §B.3, §B.4; fixture console-login__13.2-RELEASE):

* the loader: the Lua menu's ``Autoboot in N seconds`` or ``Hit [Enter] to boot immediately``; on a plain amd64
  image under BIOS the kernel console would go to VGA, so the harness escapes to ``OK`` and types
  ``set console="comconsole"`` and ``boot``;
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
from harness.guests.freebsd.data import ConsoleData, FreeBSDData, LoaderData
from harness.parse.console import (
    STREAM_CURSOR_QUERY,
    STREAM_LOADER_AUTOBOOT,
    STREAM_LOADER_HIT_ENTER,
    STREAM_LOADER_OK,
    STREAM_LOGIN,
    STREAM_LOGIN_INCORRECT,
    STREAM_PASSWORD,
    STREAM_ROOT_SHELL,
)
from harness.steps import note, step

if TYPE_CHECKING:
    from harness.vm.console import Console


@dataclass(frozen=True)
class Session:
    """A logged-in console: the unique prompt regex installed and whether the loader had to be steered."""

    prompt: str
    steered_loader: bool


def unique_prompt(tag: str, token: str) -> tuple[str, str]:
    """The ``PS1=`` command to type and the regex of the prompt it yields. The command splits the tag with an empty
    quoted string, so its echo on the console never matches the regex."""
    command = f'PS1="{tag[:2]}""{tag[2:]}-{token}# "'
    return command, prompt_regex(tag, re.escape(token))


def prompt_regex(tag: str, token: str = r"[0-9a-f]+") -> str:
    """The regex of the unique prompt for ``tag``; by default any session's token."""
    return rf"{re.escape(tag)}-{token}# "


def _steer_loader_to_serial(console: Console, loader: LoaderData, eol: str, at_menu: bool) -> None:
    """Stop autoboot, reach ``OK``, send the kernel console to the serial line, boot."""
    keys = loader.menu_escape_keys if at_menu else (loader.countdown_key,)
    for key in keys:
        console.send(key)
    console.expect(STREAM_LOADER_OK, timeout=30, what="the loader's OK prompt")
    for command in loader.comconsole_commands:
        console.sendline(command, eol=eol)


def wait_for_login_prompt(console: Console, data: FreeBSDData, *, needs_comconsole: bool, timeout: float) -> bool:
    """Wait through the loader and kernel boot until getty's ``login:``. Returns whether the loader was steered."""
    steered = False
    patterns = [STREAM_LOGIN, STREAM_LOADER_AUTOBOOT, STREAM_LOADER_HIT_ENTER]
    with step("boot-to-login"):
        while True:
            index = console.expect(patterns, timeout=timeout, what="the login prompt")
            if index == 0:
                return steered
            if needs_comconsole and not steered:
                note("loader", "kernel console would go to VGA: setting console=comconsole at the loader")
                _steer_loader_to_serial(console, data.loader, data.console.loader_eol, at_menu=index == 1)
                steered = True


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


def login(console: Console, data: FreeBSDData, *, needs_comconsole: bool, boot_timeout: float | None = None) -> Session:
    """From power-on (or a reboot) to a root /bin/sh with the unique prompt on the serial console."""
    steered = wait_for_login_prompt(
        console, data, needs_comconsole=needs_comconsole, timeout=boot_timeout or data.timeouts.boot
    )
    with step("console-login"):
        log_in_as_root(console, data.console, data.timeouts.login)
        prompt = enter_clean_shell(console, data.console, data.timeouts.login)
    return Session(prompt, steered)
