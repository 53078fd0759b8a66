"""DDB capture at the plateau (``--ddb``): ``show object *kstack_object``, ``show thread`` for sampled workload
threads, ``show all vmem``; each output kept as ``raw/<workload>/ddb/<n>.txt`` and the whole session as
``raw/<workload>/ddb/transcript.txt``. The kernel is resumed afterwards, so the workload continues.
"""

from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from harness.errors import InfraError
from harness.steps import step
from harness.vm.debugger import Debugger
from harness.workloads.catalogue import RenderedWorkload

if TYPE_CHECKING:
    from harness.run.rundir import RunDir
    from harness.run.session import GuestSession


def _slug(command: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", command).strip("_")


def capture(session: GuestSession, run: RunDir, workload: str, rendered: RenderedWorkload) -> None:
    plan = session.profile.ddb
    if plan is None:
        raise InfraError(
            f"guest {session.profile.name} has no DDB plan", hint="add [guest.<name>.ddb] to profiles.toml"
        )
    binary = PurePosixPath(rendered.binary).name
    listing = session.ssh.run(plan.threads.format(binary=shlex.quote(binary), count=plan.sample_threads))
    tids = [line.strip() for line in listing.output.splitlines() if line.strip().isdigit()]
    commands = [*plan.commands[:1], *(plan.thread_command.format(tid=tid) for tid in tids), *plan.commands[1:]]
    debugger = Debugger(session.machine.console, session.adapter.debugger, arch=str(session.facts.get("arch", "")))
    with step("ddb capture", workload=workload, commands=len(commands)):
        with debugger.session(timeout=120):
            for index, command in enumerate(commands):
                output = debugger.command(command, timeout=300)
                run.write_raw(output.output + "\n", workload, "ddb", f"{index:02d}-{_slug(command)}.txt")
        transcript = "\n".join(f"db> {o.command}\n{o.output}" for o in debugger.transcript)
        run.write_raw(transcript + "\n", workload, "ddb", "transcript.txt")
