"""The VM start timeline of a run: the boot (or restore) phases recorded in ``steps.jsonl`` (``harness.vm.phases``)
as data for results.json and as an inline SVG for report.html."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

#: steps.jsonl is read only this far: phases are recorded at the start of a run, and the file is run output.
_READ_LIMIT = 4 << 20
_KINDS = ("boot", "restore")
COLOURS = {"boot": "#0969da", "restore": "#1a7f37"}


def read(path: Path) -> list[dict[str, Any]]:
    """Phases in order: name, kind (boot/restore), start (seconds after the first phase began) and seconds."""
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            text = handle.read(_READ_LIMIT)
    except OSError:
        return []
    spans: list[dict[str, Any]] = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict) or event.get("state") != "end":
            continue
        fields = event.get("fields")
        kind = fields.get("phase") if isinstance(fields, dict) else None
        duration, at = event.get("duration"), event.get("time")
        if kind in _KINDS and isinstance(duration, int | float) and isinstance(at, int | float):
            spans.append({"name": str(event.get("name"))[:40], "kind": kind, "at": at - duration, "seconds": duration})
    if not spans:
        return []
    origin = min(s["at"] for s in spans)
    return [
        {"name": s["name"], "kind": s["kind"], "start": round(s["at"] - origin, 3), "seconds": round(s["seconds"], 3)}
        for s in sorted(spans, key=lambda s: s["at"])
    ]


def svg(spans: list[dict[str, Any]], width: int = 760) -> str:
    """One row per phase: a bar from its start to its end on a common seconds axis."""
    left, right, row = 130, 90, 22
    total = max((s["start"] + s["seconds"] for s in spans), default=0.0) or 1.0
    height = row * len(spans) + 30
    plot = width - left - right
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'role="img" aria-label="VM start timeline">'
    ]
    for index, span in enumerate(spans):
        y = 4 + index * row
        x0 = left + span["start"] / total * plot
        bar = max(span["seconds"] / total * plot, 1.5)
        colour = COLOURS.get(span["kind"], "#57606a")
        label = escape(f"{span['kind']}: {span['name']}")
        parts.append(f'<text x="4" y="{y + 14}" font-size="12">{escape(span["name"])}</text>')
        parts.append(
            f'<rect x="{x0:.1f}" y="{y + 3}" width="{bar:.1f}" height="14" fill="{colour}">'
            f"<title>{label}: {span['seconds']:.2f} s</title></rect>"
        )
        parts.append(f'<text x="{x0 + bar + 6:.1f}" y="{y + 14}" font-size="11">{span["seconds"]:.2f} s</text>')
    axis_y = height - 8
    parts.append(f'<text x="{left}" y="{axis_y}" font-size="11">0 s</text>')
    parts.append(f'<text x="{left + plot}" y="{axis_y}" font-size="11" text-anchor="end">{total:.1f} s</text>')
    parts.append("</svg>")
    return "".join(parts)
