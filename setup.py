"""Optional mypyc build of the reference model's hot modules (the way black and mypy ship compiled wheels).

Metadata lives in pyproject.toml; this file only adds extension modules, and only when ``HARNESS_MYPYC=1`` is set
for a wheel or regular install (``pip wheel .``, ``pip install .``, tox ``package = wheel``). Editable installs
(``pip install -e .``, tox's default ``package = editable``) and every build without the variable stay pure
Python, so no compiled module can shadow a ``.py`` under development. The C sources and objects are built in a
temporary directory, never in the source tree. See harness/model/README.md ("Compiled build")."""

from __future__ import annotations

import os
import sys
import tempfile

from setuptools import setup

# The simulator's hot path. Left out on purpose: generations.py (simulate() looks make_kernel up through it, a
# seam the tests patch), violation.py (mypyc cannot compile an AssertionError subclass) and the cold modules.
MYPYC_MODULES = [
    "harness/model/arch.py",
    "harness/model/g0_common.py",
    "harness/model/g0_list.py",
    "harness/model/g0_uma.py",
    "harness/model/g1.py",
    "harness/model/g2.py",
    "harness/model/g3.py",
    "harness/model/invariants.py",
    "harness/model/kernel.py",
    "harness/model/physmem.py",
    "harness/model/policy_ref.py",
    "harness/model/simulate.py",
    "harness/model/uma.py",
    "harness/model/uma_backend.py",
    "harness/model/vmem.py",
]

# setuptools commands that build the installed code; "editable_wheel"/"develop" (editable) are not among them.
COMPILING_COMMANDS = {"bdist_wheel", "build", "build_ext", "install"}


# Top-level data directories (image manifests, VM profiles, patch recipes), installed under
# <prefix>/share/freebsd-kstack-harness/ for regular installs; harness.settings.data_dir() finds them there.
DATA_DIRS = ["images", "vm_configs", "patches"]


def data_files() -> list[tuple[str, list[str]]]:
    here = os.path.dirname(os.path.abspath(__file__))
    entries = []
    for top in DATA_DIRS:
        for folder, _dirs, files in sorted(os.walk(os.path.join(here, top))):
            rel = os.path.relpath(folder, here)
            paths = sorted(os.path.join(rel, f) for f in files if not f.startswith("."))
            if paths:
                entries.append((os.path.join("share", "freebsd-kstack-harness", rel), paths))
    return entries


def mypyc_requested() -> bool:
    return os.environ.get("HARNESS_MYPYC", "") == "1"


def main() -> None:
    if not mypyc_requested():
        setup(data_files=data_files())
        return
    if not COMPILING_COMMANDS.intersection(sys.argv[1:]):
        # get_requires_for_build_*: ask the build frontend for mypy; editable builds get it too but compile nothing
        setup(setup_requires=["mypy>=1.10"], data_files=data_files())
        return
    from mypyc.build import mypycify

    with tempfile.TemporaryDirectory(prefix="harness-mypyc-") as build_dir:
        ext_modules = mypycify(MYPYC_MODULES, opt_level="3", target_dir=os.path.join(build_dir, "mypyc"))
        setup(ext_modules=ext_modules, options={"build": {"build_base": build_dir}}, data_files=data_files())


main()
