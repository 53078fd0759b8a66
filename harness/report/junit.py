"""JUnit XML: one ``testsuite`` per run, one ``testcase`` per check; a crash is an ``error`` testcase.

The layout follows the Jenkins/Ant JUnit format that CI systems read; ``schema/junit.xsd`` (shipped) describes it
and the tests validate every document against it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

from harness.model.prediction import number
from harness.report.results import RunResult
from harness.util.files import atomic_write_bytes
from harness.util.text import xml_safe
from harness.validate.verdicts import Status

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
#: A JUnit attribute (a message) is one bounded line; element text (an excerpt) may be longer.
MESSAGE_CHARS = 2000
TEXT_CHARS = 200_000


def _observed(value: float | None, unit: str) -> str:
    return "none" if value is None else f"{number(value)} {unit}".strip()


def _attr(value: object) -> str:
    return xml_safe(str(value), MESSAGE_CHARS)


def _text(value: object) -> str:
    return xml_safe(str(value), TEXT_CHARS)


def _sanitise(element: ET.Element) -> None:
    """Every attribute and text of the tree made XML 1.0 (guest text holds NUL, ESC, BEL: a JUnit file with one
    of them is rejected whole by every reader, and CI loses the results of exactly the runs that went wrong)."""
    for node in element.iter():
        node.attrib = {key: _attr(value) for key, value in node.attrib.items()}
        if node.text is not None:
            node.text = _text(node.text)


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
        timestamp=_timestamp(result.started),
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
    _sanitise(suites)
    return suites


def _timestamp(started: object) -> str:
    """The run's start as the XSD's ISO 8601 date-time (a stored run may hold anything there)."""
    text = str(started)[:19] if isinstance(started, str) else ""
    return text if _ISO.fullmatch(text) else "1970-01-01T00:00:00"


def render(result: RunResult) -> bytes:
    root = build(result)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def write(result: RunResult, path: Path) -> None:
    atomic_write_bytes(path, render(result))


def schema_path() -> Path:
    """The shipped JUnit XSD (for validation with ``xmlschema``)."""
    return Path(str(resources.files("harness.report").joinpath("schema", "junit.xsd")))
