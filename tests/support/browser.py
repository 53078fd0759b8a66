"""A page rendered in headless Chromium (Debian's package), as an operator would open a report: a screenshot and
the browser's console messages. The flags keep Chromium off this machine's closed network."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass(frozen=True)
class Rendered:
    returncode: int
    stderr: str
    screenshot: Path

    @property
    def console_errors(self) -> list[str]:
        """What the page's scripts logged or threw (Chromium logs page console lines with ``CONSOLE``)."""
        return [line for line in self.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]

    @property
    def is_png(self) -> bool:
        return self.screenshot.is_file() and self.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def render(page: Path, out: Path, *, height: int = 1600) -> Rendered:
    """Screenshot ``page`` into ``out/shot.png`` with a fresh profile in ``out/profile``."""
    assert CHROMIUM is not None, "chromium not installed"
    shot = out / "shot.png"
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={out / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            f"--window-size=1200,{height}",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Rendered(done.returncode, done.stderr, shot)
