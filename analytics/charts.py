"""Geometry for the server-rendered SVG charts: numbers in, coordinates out; templates draw the markup.

Colours come from CSS classes (`series-N`, `heat-N`), never from inline styles, so a strict CSP holds.
"""

from __future__ import annotations

import math
from decimal import Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 36
SERIES_COLOURS = 12


def heat_class(value, maximum) -> str:
    """heat-0 (nothing) .. heat-10 (the maximum) for a table cell."""
    if not maximum or not value or value <= 0:
        return "heat-0"
    return f"heat-{max(1, min(10, math.ceil(10 * float(value) / float(maximum))))}"


def nice_max(value: float) -> float:
    """Round the top of an axis up to 1, 2, 2.5 or 5 × a power of ten."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _fmt(value: float) -> str:
    """An axis label in the reader's number format: 2.5k in English, 2,5 тыс. in Russian."""

    def number(x: float) -> str:
        return number_format(f"{x:g}", decimal_pos=None)

    if value >= 1_000_000:
        return gettext("%(count)sM") % {"count": number(value / 1_000_000)}
    if value >= 1_000:
        return gettext("%(count)sk") % {"count": number(value / 1_000)}
    return number(value)


def _y_ticks(top: float, plot_h: float, count: int = 4) -> list[dict]:
    return [
        {"y": round(TOP + plot_h - plot_h * i / count, 1), "label": _fmt(top * i / count)} for i in range(count + 1)
    ]


def line_chart(series: list[dict], x_labels: list[str], *, max_x_labels: int = 12) -> dict:
    """`series`: [{"label": str, "values": [number | None, ...]}], one value per x label."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [float(v) for s in series for v in s["values"] if v is not None]
    top = nice_max(max(values, default=0))
    steps = max(1, len(x_labels) - 1)

    def x_at(i):
        return round(LEFT + plot_w * i / steps, 1)

    def y_at(v):
        return round(TOP + plot_h - plot_h * float(v) / top, 1)

    lines = []
    for index, s in enumerate(series):
        points = [(x_at(i), y_at(v)) for i, v in enumerate(s["values"]) if v is not None]
        if not points:
            continue
        lines.append(
            {
                "label": s["label"],
                "css": f"series-{index % SERIES_COLOURS}",
                "points": " ".join(f"{x},{y}" for x, y in points),
                "dots": [{"x": x, "y": y} for x, y in points] if len(points) <= 40 else [],
                "end": {"x": points[-1][0], "y": points[-1][1]},
            }
        )
    every = max(1, math.ceil(len(x_labels) / max_x_labels))
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "bottom": TOP + plot_h,
        "lines": lines,
        "y_ticks": _y_ticks(top, plot_h),
        "x_ticks": [
            {"x": x_at(i), "label": label, "anchor": "end" if i == len(x_labels) - 1 and i else "middle"}
            for i, label in enumerate(x_labels)
            if i % every == 0
        ],
        "label_y": HEIGHT - 12,
    }


def bar_chart(bars: list[dict]) -> dict:
    """`bars`: [{"label": str, "value": number}] → vertical bars with their labels."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = nice_max(max((float(b["value"]) for b in bars), default=0))
    slot = plot_w / max(1, len(bars))
    width = max(4.0, min(80.0, slot * 0.6))
    drawn = []
    for index, bar in enumerate(bars):
        value = float(bar["value"] or Decimal(0))
        height = plot_h * value / top
        x = LEFT + slot * index + (slot - width) / 2
        label = str(bar["label"])
        room = max(3, int(slot / 6.5))  # characters that fit under a bar at 11 px
        drawn.append(
            {
                "label": label,
                "short": label if len(label) <= room else label[: room - 1] + "…",
                "value": bar["value"],
                "css": f"series-{index % SERIES_COLOURS}",
                "x": round(x, 1),
                "y": round(TOP + plot_h - height, 1),
                "w": round(width, 1),
                "h": round(height, 1),
                "cx": round(x + width / 2, 1),
                "value_y": round(TOP + plot_h - height - 4, 1),
            }
        )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "bottom": TOP + plot_h,
        "bars": drawn,
        "y_ticks": _y_ticks(top, plot_h),
        "label_y": HEIGHT - 12,
    }
