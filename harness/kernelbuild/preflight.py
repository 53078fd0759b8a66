"""Host checks for the cross backend: which tools ``tools/build/make.py`` needs, and the Debian package of each."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError, HostError
from harness.util import tomlfile

DATA = Path(__file__).parent / "data" / "cross-host.toml"
_LLVM_DIR = re.compile(r"^llvm-(\d+)$")


@dataclass(frozen=True)
class Requirement:
    what: str
    path: Path
    package: str


@dataclass(frozen=True)
class Preflight:
    cross_bindir: Path
    llvm: int
    requirements: tuple[Requirement, ...]
    missing: tuple[Requirement, ...]

    @property
    def packages(self) -> list[str]:
        """The Debian packages that would install every missing tool, in the order the data names them."""
        seen: list[str] = []
        for req in self.missing:
            if req.package not in seen:
                seen.append(req.package)
        return seen

    @property
    def apt_line(self) -> str:
        """The install command to show: as root there may be no sudo at all (a fresh Debian machine)."""
        prefix = "" if os.geteuid() == 0 else "sudo "
        return prefix + "apt-get install -y --no-install-recommends " + " ".join(self.packages)

    @property
    def ok(self) -> bool:
        return not self.missing

    def raise_if_missing(self) -> None:
        if self.ok:
            return
        paths: dict[str, list[str]] = {}
        for req in self.missing:
            paths.setdefault(req.package, []).append(str(req.path))
        names = "; ".join(f"{package} ({', '.join(found)})" for package, found in paths.items())
        raise HostError(f"the cross build needs Debian packages that are missing: {names}", hint=self.apt_line)


def _load(path: Path) -> dict[str, object]:
    return tomlfile.load(path, hint="reinstall the harness").data


def _os_release(root: Path) -> str:
    fields: dict[str, str] = {}
    try:
        text = (root / "etc/os-release").read_text(encoding="utf-8")
    except OSError:
        return ""
    for line in text.splitlines():
        key, _, value = line.partition("=")
        fields[key.strip()] = value.strip().strip('"')
    return f"{fields.get('ID', '')}:{fields.get('VERSION_ID', '')}"


def choose_llvm(root: Path, defaults: dict[str, int]) -> int:
    """The LLVM version to use: the newest installed one that has clang, else the newest installed LLVM, else
    the distribution's default clang."""
    installed = sorted(
        (int(m.group(1)), d)
        for d in (root / "usr/lib").glob("llvm-*")
        if (m := _LLVM_DIR.match(d.name)) is not None and d.is_dir()
    )
    with_clang = [v for v, d in installed if (d / "bin" / "clang").exists()]
    if with_clang:
        return with_clang[-1]
    if installed:
        return installed[-1][0]
    return defaults.get(_os_release(root), defaults.get("fallback", 14))


def check_cross_host(cross_bindir: Path | None = None, *, root: Path = Path("/"), data: Path = DATA) -> Preflight:
    """Every requirement of the cross build, and which are missing under ``root`` (``/`` on a real host)."""
    table = _load(data)
    defaults_raw = table.get("default_llvm", {})
    defaults = {str(k): int(v) for k, v in defaults_raw.items()} if isinstance(defaults_raw, dict) else {}
    llvm: int
    if cross_bindir is None:
        llvm = choose_llvm(root, defaults)
        bindir = Path("/usr/lib") / f"llvm-{llvm}" / "bin"
    else:
        bindir = cross_bindir
        match = _LLVM_DIR.match(bindir.parent.name)
        # A bindir outside /usr/lib/llvm-N: name the packages of the LLVM this host would use otherwise.
        llvm = int(match.group(1)) if match else choose_llvm(root, defaults)
    raw = table.get("requirement", [])
    if not isinstance(raw, list):
        raise ConfigError(f"{data}: [[requirement]] must be an array of tables")
    requirements = []
    for item in raw:
        path = str(item["path"]).format(bindir=bindir)
        package = str(item["package"]).format(llvm=llvm)
        requirements.append(Requirement(str(item["what"]), Path(path), package))
    missing = tuple(r for r in requirements if not (root / r.path.relative_to("/")).exists())
    return Preflight(bindir, llvm, tuple(requirements), missing)
