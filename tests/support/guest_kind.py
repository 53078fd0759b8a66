"""A third guest kind, outside the package: what "adding a guest kind is one module" means in practice.

``ToyKind`` boots nothing (its ``prepare`` refuses), reads ``raw/<workload>/count.txt`` and predicts that the count
is what the workload's ``count`` parameter asked for; its crashes are ``TOY OOPS: <title>`` console lines. It is
registered for a block with ``harness.run.kinds.registry.registered(ToyKind())``.
"""

from __future__ import annotations

from harness.errors import UsageError
from harness.model.prediction import Prediction
from harness.report.results import Crash
from harness.run.crashes import workload_at
from harness.run.kinds.base import GuestAnalysis, PreparedGuest
from harness.run.metadata import RunMetadata
from harness.run.request import ModelOverrides, RunRequest
from harness.run.rundir import RunDir
from harness.validate.observed import Observations
from harness.validate.verdicts import judge

OOPS = "TOY OOPS: "


class ToyKind:
    name = "toy"
    model_help = "slack"
    has_releases = False
    takes_kernels = False

    @property
    def model_keys(self) -> frozenset[str]:
        return frozenset({"slack"})

    def check_options(self, request: RunRequest) -> None:
        if request.kernel or request.patch or request.image:
            raise UsageError("the toy guest boots no kernel and no image")

    def resolve(self, request: RunRequest) -> None:
        request.release = None

    def prepare(self, request: RunRequest) -> PreparedGuest:
        raise UsageError("the toy guest cannot boot", hint="analyze a stored toy run instead")

    def find_crash(self, console_text: str) -> Crash | None:
        lines = console_text.splitlines()
        for index, line in enumerate(lines):
            if line.startswith(OOPS):
                return Crash(line.removeprefix(OOPS), workload_at(lines, index), lines[index : index + 3], "oops")
        return None

    def analyze(self, run: RunDir, meta: RunMetadata, overrides: ModelOverrides) -> GuestAnalysis:
        result = GuestAnalysis("toy-1", notes=["judged by the toy kind"])
        slack = float(overrides.get("slack", 0))
        for entry in meta.workloads:
            text = run.read_raw(entry.name, "count.txt")
            obs = Observations()
            if text is not None:
                obs.put("toy.count", "after", float(text.strip()), source=f"raw/{entry.name}/count.txt")
            wanted = Prediction(
                "toy.count",
                "T-1",
                "after",
                "items",
                "the workload makes as many items as asked",
                "tests/support/guest_kind.py",
                expected=float(entry.params.get("count", 0)),
                tolerance=slack,
            )
            result.verdicts += judge([wanted], obs, workload=entry.name)
        return result
