"""JUnit XML: one ``testsuite`` per run, one ``testcase`` per check; a crash is an ``error`` testcase.

The layout follows the Jenkins/Ant JUnit format that CI systems read; ``schema/junit.xsd`` (shipped) describes it
and the tests validate every document against it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

from harness.model.prediction import number
from harness.report.results import RunResult
from harness.validate.verdicts import Status


def _observed(value: float | None, unit: str) -> str:
    return "none" if value is None else f"{number(value)} {unit}".strip()


def build(result: RunResult) -> ET.Element:
    suites = ET.Element("testsuites", name="harness")
    counts = result.counts()
    errors = 1 if result.crash or result.error else 0
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"harness.{result.guest}.{result.arch}",
        tests=str(len(result.verdicts) + errors),
        failures=str(counts["fail"]),
        errors=str(errors),
        skipped=str(counts["inconclusive"]),
        time="0",
        timestamp=(result.started or "1970-01-01T00:00:00")[:19],
        hostname="localhost",
    )
    props = ET.SubElement(suite, "properties")
    for key in ("run_id", "guest", "arch", "release", "generation"):
        ET.SubElement(props, "property", name=key, value=str(getattr(result, key) or ""))
    ET.SubElement(props, "property", name="workloads", value=",".join(result.workloads))
    for verdict in result.verdicts:
        case = ET.SubElement(
            suite,
            "testcase",
            name=verdict.check,
            classname=f"harness.{verdict.workload or 'run'}.{verdict.invariant}",
            time="0",
        )
        text = f"expected {verdict.expected} {verdict.unit}, observed {_observed(verdict.observed, verdict.unit)}"
        if verdict.status is Status.FAIL:
            ET.SubElement(case, "failure", message=verdict.why, type="CheckFailed").text = text
        elif verdict.status is Status.INCONCLUSIVE:
            ET.SubElement(case, "skipped", message=verdict.why)
        ET.SubElement(case, "system-out").text = f"{text}\n{verdict.why}\nsource: {verdict.source}"
    if result.crash or result.error:
        case = ET.SubElement(suite, "testcase", name="guest-kernel", classname="harness.run", time="0")
        if result.crash:
            ET.SubElement(case, "error", message=result.crash.title, type="GuestCrashed").text = "\n".join(
                result.crash.excerpt
            )
        else:
            ET.SubElement(case, "error", message=result.error or "", type="InfraError")
    return suites


def write(result: RunResult, path: Path) -> None:
    tree = ET.ElementTree(build(result))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def schema_path() -> Path:
    """The shipped JUnit XSD (for validation with ``xmlschema``)."""
    return Path(str(resources.files("harness.report").joinpath("schema", "junit.xsd")))
