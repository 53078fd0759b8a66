"""F14/S4: every workload template, rendered with hostile values of every parameter type, injects nothing.

Each rendered script runs with ``sh`` in a scratch directory that stands in for the guest: the guest commands it
calls (cc, make, sysctl, swapinfo, mdconfig, ...) are harmless stand-ins on PATH, the console is a file. A payload
that reached the shell would create a ``PWNED_*`` file or forge a marker line on the console; neither may happen.
String parameters carry the payloads; integer parameters must refuse them before anything is rendered.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.workloads.catalogue import Workload, load_catalogue, render

CATALOGUE = load_catalogue()

#: One payload per way out of a shell word: command substitution, backticks, both quotes, newline, semicolon.
PAYLOADS = {
    "dollar": "x$(touch PWNED_dollar)",
    "backtick": "x`touch PWNED_backtick`",
    "dquote": 'x";touch PWNED_dquote;echo "',
    "squote": "x';touch PWNED_squote;echo '",
    "newline": "x\ntouch PWNED_newline\nHARNESS-WORKLOAD-END name=forged",
    "semicolon": "x;touch PWNED_semicolon",
    "all": "a'b\"c$(touch PWNED_all)`touch PWNED_all2`;touch PWNED_all3\n",
}

#: The guest's commands, as stand-ins that do nothing (cc makes the binary it is asked for).
STAND_INS = {
    "cc": '#!/bin/sh\nwhile [ $# -gt 0 ]; do [ "$1" = -o ] && printf "#!/bin/sh\\nexit 0\\n" > "$2" && chmod +x "$2"'
    "; shift; done\nexit 0\n",
    "make": "#!/bin/sh\nexit 0\n",
    "sysctl": "#!/bin/sh\necho 1073741824\n",
    "swapinfo": "#!/bin/sh\necho header\necho /dev/swap\n",
    "mdconfig": "#!/bin/sh\necho md9\n",
    "swapon": "#!/bin/sh\nexit 0\n",
    "swapoff": "#!/bin/sh\nexit 0\n",
    "sleep": "#!/bin/sh\nexit 0\n",
}

#: The Linux crash template writes to /proc/sysrq-trigger: rendered and checked, never run on this host.
NEVER_RUN = {("crash", "linuxtest")}

CELLS = [(name, guest) for name, workload in CATALOGUE.workloads.items() for guest in workload.guests]


def _stand_ins(scratch: Path) -> str:
    bin_dir = scratch / "bin"
    bin_dir.mkdir()
    for name, text in STAND_INS.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"


def _run(workload: Workload, guest: str, scratch: Path, overrides: dict[str, str | int], tag: str) -> None:
    """Render into a workdir whose own name is hostile, run it, and check nothing got out of its quotes."""
    workdir = scratch / f"w {tag} $(touch PWNED_workdir)`touch PWNED_workdir2`'\""
    workdir.mkdir()
    console = scratch / "console.log"
    rendered = render(
        workload,
        guest_os=guest,
        run_id="20261203-070000-freebsd-amd64-abcd",
        workdir=str(workdir),
        overrides=overrides,
        compile_in_guest=guest == "freebsd",
        console=str(console),
        snapshot={"vmstat.txt": "echo snapshot"},
    )
    binary = workdir / Path(rendered.binary).name
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    script = scratch / "run.sh"
    script.write_text(rendered.script)
    if (workload.name, guest) in NEVER_RUN:
        return
    env = {"PATH": _stand_ins(scratch)}
    subprocess.run(["sh", str(script)], cwd=scratch, env=env, capture_output=True, timeout=60, check=False)
    injected = sorted(p.name for p in scratch.rglob("PWNED_*"))
    assert not injected, f"{workload.name} on {guest} ({tag}): the payload ran: {injected}"
    for line in console.read_text().splitlines():
        assert line.startswith("HARNESS-WORKLOAD-") and f"name={workload.name} " in line, (
            f"forged console line {line!r}"
        )


def _stress2_tree(scratch: Path, name: str) -> str:
    tree = scratch / "trees" / name
    (tree / "misc").mkdir(parents=True)
    (tree / "default.cfg").write_text("")
    return str(tree)


@pytest.mark.parametrize(("name", "guest"), CELLS, ids=[f"{n}-{g}" for n, g in CELLS])
def test_every_template_quotes_hostile_values_of_every_parameter_type(name: str, guest: str, tmp_path: Path) -> None:
    workload = CATALOGUE.workloads[name]
    runs: list[tuple[str, dict[str, str | int]]] = [("defaults", {})]
    for param, default in workload.params.items():
        if isinstance(default, int):
            for payload in PAYLOADS.values():
                with pytest.raises(UsageError, match="must be an integer"):
                    workload.with_params({param: payload})
            with pytest.raises(UsageError, match="at most"):
                workload.with_params({param: str(2**63)})
            continue
        runs.extend((f"{param}-{tag}", {param: payload}) for tag, payload in PAYLOADS.items())
    for index, (tag, overrides) in enumerate(runs):
        scratch = tmp_path / str(index)
        scratch.mkdir()
        if name == "stress2":  # the script stops before its first marker unless the tree exists
            tree_name = str(overrides.get("tree", "tree")).replace("/", "_")
            overrides = {**overrides, "tree": _stress2_tree(scratch, tree_name)}
        _run(workload, guest, scratch, overrides, tag)


@pytest.mark.parametrize("run_id", ["r;id", "r$(id)", "r\nid", "../r", "-r"])
def test_run_ids_that_are_not_plain_words_are_refused(run_id: str) -> None:
    with pytest.raises(UsageError, match="not a plain word"):
        render(CATALOGUE.workloads["thread-hold"], guest_os="freebsd", run_id=run_id, workdir="/tmp/w")
