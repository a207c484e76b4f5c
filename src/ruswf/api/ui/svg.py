"""Geometry for the server-drawn SVG: the annual-cycle wheel and the report's charts.
Only numbers and texts are computed here; the templates draw them (escaped)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

from ruswf.app.labels import MONTHS_EN, MONTHS_SV

SIZE = 640
CENTRE = SIZE / 2
RINGS = {"meetings": 250.0, "events": 200.0, "periods": 150.0, "due": 112.0}
"""The radius of each kind's ring, outermost first."""
COUNCIL_COLOURS = {"rsr": "#1d4f91", "ssr": "#6a1b9a", "strategic_group": "#2e7d32"}
OTHER_COLOUR = "#8a4b08"


@dataclass
class WheelItem:
    kind: str
    label: str
    href: str
    x: float
    y: float
    colour: str
    day: date


@dataclass
class Arc:
    label: str
    href: str
    path: str
    colour: str
    x: float = 0.0
    y: float = 0.0


@dataclass
class Wheel:
    size: int
    centre: float
    months: list[dict[str, float | str]] = field(default_factory=list)
    items: list[WheelItem] = field(default_factory=list)
    arcs: list[Arc] = field(default_factory=list)
    rings: dict[str, float] = field(default_factory=dict)
    today: dict[str, float] | None = None


def angle(day: date) -> float:
    """The angle of a day (radians, 0 at the top, clockwise) within its year."""
    first = date(day.year, 1, 1)
    days = (date(day.year + 1, 1, 1) - first).days
    return 2 * math.pi * ((day - first).days + 0.5) / days


def point(radius: float, theta: float) -> tuple[float, float]:
    return (
        round(CENTRE + radius * math.sin(theta), 2),
        round(CENTRE - radius * math.cos(theta), 2),
    )


def arc_path(radius: float, start: float, end: float) -> str:
    x1, y1 = point(radius, start)
    x2, y2 = point(radius, end)
    large = 1 if end - start > math.pi else 0
    return f"M {x1} {y1} A {radius} {radius} 0 {large} 1 {x2} {y2}"


def wheel(year: int, today: date, lang: str) -> Wheel:
    """The wheel's frame: month sectors and labels, and today's mark when in `year`."""
    names = MONTHS_EN if lang == "en" else MONTHS_SV
    result = Wheel(size=SIZE, centre=CENTRE, rings=dict(RINGS))
    for month in range(1, 13):
        start = angle(date(year, month, 1)) - angle(date(year, 1, 1)) + 0.0
        x1, y1 = point(285, start)
        x0, y0 = point(95, start)
        middle = angle(date(year, month, 15))
        tx, ty = point(290, middle)
        result.months.append(
            {"name": names[month - 1], "x1": x0, "y1": y0, "x2": x1, "y2": y1, "tx": tx, "ty": ty}
        )
    if today.year == year:
        x, y = point(300, angle(today))
        result.today = {"x": x, "y": y}
    return result


def place(result: Wheel, kind: str, day: date, label: str, href: str, colour: str) -> None:
    x, y = point(result.rings[kind], angle(day))
    result.items.append(WheelItem(kind, label, href, x, y, colour, day))


def add_arc(result: Wheel, first: date, last: date, label: str, href: str, colour: str) -> None:
    start, end = angle(first), angle(last)
    mx, my = point(RINGS["periods"] - 24, (start + end) / 2)
    result.arcs.append(Arc(label, href, arc_path(RINGS["periods"], start, end), colour, mx, my))


@dataclass
class Bar:
    label: str
    value: float | None
    """None: a group heading, not a bar."""
    text: str
    y: float
    width: float
    colour: str


@dataclass
class BarChart:
    title: str
    description: str
    width: int
    height: int
    label_width: int
    bars: list[Bar]
    legend: list[tuple[str, str]] = field(default_factory=list)


def bar_chart(
    title: str,
    description: str,
    rows: list[tuple[str, float | None, str, str]],
    *,
    maximum: float | None = None,
    legend: list[tuple[str, str]] | None = None,
    label_width: int = 240,
) -> BarChart:
    """Horizontal bars: (label, value, value as text, colour) per row; a row whose value
    is None is a heading for the bars below it."""
    plot, height, gap = 400, 20, 6
    top = max((v for _, v, _, _ in rows if v is not None), default=0.0)
    scale = maximum if maximum else (top or 1.0)
    bars = []
    y = 6.0
    for label, value, text, colour in rows:
        width = 0.0 if value is None else round(plot * value / scale, 1)
        bars.append(Bar(label, value, text, y, width, colour))
        y += height + gap
    return BarChart(
        title,
        description,
        max(label_width + plot + 110, 760),
        int(y) + 4,
        label_width,
        bars,
        legend or [],
    )
