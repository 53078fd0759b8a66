"""Inline SVG plots, computed here so the HTML report needs no script and no external resource.

* ``check_plot``: one row per numeric check: the model's band (expected ± tolerance, or [low, high]) and the
  observed value as a dot, green inside and red outside, each row on its own scale.
* ``series_plot``: a time series (seconds → value) as a polyline with axis labels.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape, quoteattr

from harness.model.prediction import number
from harness.validate.verdicts import Status, Verdict

ROW_HEIGHT = 26
LABEL_WIDTH = 380
LABEL_CHARS = 60
BAR_WIDTH = 400
VALUE_WIDTH = 280
COLOURS = {Status.PASS: "#1a7f37", Status.FAIL: "#cf222e", Status.INCONCLUSIVE: "#9a6700"}


def _band(verdict: Verdict) -> tuple[float | None, float | None]:
    if verdict.expected_value is not None:
        return verdict.expected_value - verdict.tolerance, verdict.expected_value + verdict.tolerance
    return verdict.low, verdict.high


def _fraction(value: float, lo: float, hi: float) -> float:
    """Where ``value`` lies between ``lo`` and ``hi`` (0..1). Values from a guest or a stored run can be 10^18 or
    infinite, where a band is narrower than float spacing: such a scale has no width, the point goes mid-way."""
    span = hi - lo
    if not (math.isfinite(span) and span > 0 and math.isfinite(value)):
        return 0.5
    return min(max((value - lo) / span, 0.0), 1.0)


def _row_scale(points: list[float]) -> tuple[float, float]:
    low, high = min(points), max(points)
    pad = (high - low) * 0.15 or max(abs(high) * 0.1, 1.0)
    return low - pad, high + pad


def check_plot(verdicts: list[Verdict]) -> str:
    rows = [v for v in verdicts if v.observed is not None or any(b is not None for b in _band(v))]
    height = ROW_HEIGHT * len(rows) + 10
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="model against observation">'
    ]
    for i, verdict in enumerate(rows):
        y = 5 + i * ROW_HEIGHT
        low, high = _band(verdict)
        points = [p for p in (low, high, verdict.observed) if p is not None]
        lo, hi = _row_scale(points)

        def x(value: float, lo: float = lo, hi: float = hi) -> float:
            return LABEL_WIDTH + _fraction(value, lo, hi) * BAR_WIDTH

        # Two workloads check the same observable: the workload tells their rows apart.
        workload = f"{verdict.workload}: " if verdict.workload else ""
        label = f"{workload}{verdict.invariant} {verdict.name}@{verdict.phase}"
        shown = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
        parts.append(f'<text x="4" y="{y + 16}" font-size="12"><title>{escape(label)}</title>{escape(shown)}</text>')
        # The numbers themselves: each row has its own scale, so the bar alone shows only inside or outside.
        observed = "—" if verdict.observed is None else number(verdict.observed)
        values = f"observed {observed}, model {verdict.expected} {verdict.unit}".strip()
        parts.append(f'<text x="{LABEL_WIDTH + BAR_WIDTH + 10}" y="{y + 16}" font-size="12">{escape(values)}</text>')
        parts.append(
            f'<line x1="{LABEL_WIDTH}" y1="{y + 12}" x2="{LABEL_WIDTH + BAR_WIDTH}" y2="{y + 12}" stroke="#d0d7de"/>'
        )
        band_lo = x(low) if low is not None else LABEL_WIDTH
        band_hi = x(high) if high is not None else LABEL_WIDTH + BAR_WIDTH
        parts.append(
            f'<rect x="{band_lo:.1f}" y="{y + 6}" width="{max(band_hi - band_lo, 2):.1f}" height="12" '
            f'fill="#54aeff" fill-opacity="0.35"><title>{escape("model " + verdict.expected)}</title></rect>'
        )
        if verdict.observed is not None:
            colour = COLOURS[verdict.status]
            parts.append(
                f'<circle cx="{x(verdict.observed):.1f}" cy="{y + 12}" r="5" fill="{colour}">'
                f"<title>{escape(f'observed {number(verdict.observed)} {verdict.unit}')}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)


def series_plot(name: str, points: list[tuple[float, float]], width: int = 760, height: int = 220) -> str:
    left, right, top, bottom = 70, 15, 15, 35
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(name)}>'
    ]
    if not points:
        parts.append(f'<text x="10" y="20" font-size="12">no samples of {escape(name)}</text></svg>')
        return "".join(parts)
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x_lo, x_hi = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y_lo, y_hi = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(v: float) -> float:
        return left + _fraction(v, x_lo, x_hi) * plot_w

    def sy(v: float) -> float:
        return top + plot_h - _fraction(v, y_lo, y_hi) * plot_h

    path = " ".join(f"{sx(t):.1f},{sy(v):.1f}" for t, v in points)
    parts += [
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#d0d7de"/>',
        f'<polyline points="{path}" fill="none" stroke="#0969da" stroke-width="1.5"/>',
        f'<text x="{left - 6}" y="{top + 10}" font-size="11" text-anchor="end">{number(y_hi)}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" font-size="11" text-anchor="end">{number(y_lo)}</text>',
        f'<text x="{left}" y="{height - 18}" font-size="11">{x_lo:g} s</text>',
        f'<text x="{left + plot_w}" y="{height - 18}" font-size="11" text-anchor="end">{x_hi:g} s</text>',
        f'<text x="{left + plot_w / 2}" y="{height - 4}" font-size="12" text-anchor="middle">{escape(name)}</text>',
        "</svg>",
    ]
    return "".join(parts)
