"""The dashboard's two charts, drawn here as SVG (no chart library, nothing from a CDN).

Each chart scales to its container (a viewBox, no fixed size), carries a <title> per bar or
point for a hover tooltip, and a plain-text <desc> for screen readers. Colours come from
classes styled by admin.css, so the page's theme applies.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from html import escape
from zoneinfo import ZoneInfo

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 22, 14, 28


def _nice_top(value: float) -> float:
    """A round number at or above `value` for the top of the axis."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10.0 * magnitude


def _axis(top: float, label) -> list[str]:
    parts = []
    plot_h = HEIGHT - TOP - BOTTOM
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(label(value))}</text>')
    return parts


def _frame(title: str, desc: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="chart" role="img" '
            f'aria-label="{escape(title)}"><title>{escape(title)}</title><desc>{escape(desc)}</desc>'
            + "".join(body) + "</svg>")


def _shillings(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:,.0f}"


def revenue_svg(series: list[dict], currency: str = "KES") -> str:
    """Bars: money in per day (series of {date, amount, payments}), oldest left."""
    top = _nice_top(max((p["amount"] for p in series), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(series))
    body = _axis(top, _shillings)
    for i, point in enumerate(series):
        h = plot_h * point["amount"] / top
        x = LEFT + i * slot + slot * 0.15
        day = date.fromisoformat(point["date"])
        tip = f"{day:%a %d %b}: {currency} {point['amount']:,} ({point['payments']} payments)"
        body.append(f'<rect class="bar" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
                    f'height="{max(h, 0):.1f}"><title>{escape(tip)}</title></rect>')
        if i % 7 == (len(series) - 1) % 7:
            body.append(f'<text class="tick" x="{x + slot * 0.35:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                        f'{day:%d %b}</text>')
    total = sum(p["amount"] for p in series)
    return _frame(f"Revenue per day, last {len(series)} days",
                  f"{currency} {total:,} in {len(series)} days", body)


def sessions_svg(series: list[dict], tz: ZoneInfo) -> str:
    """A line: open sessions over the last hours (series of {at, sessions}), local times."""
    peak = max((p["sessions"] for p in series), default=0)
    top = 4 * _nice_top(math.ceil(max(peak, 1) / 4))  # four steps of whole devices on the axis
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(series) - 1)
    axis, body = _axis(top, lambda v: f"{v:g}"), []
    points = []
    for i, point in enumerate(series):
        x = LEFT + i * step
        y = TOP + plot_h - plot_h * point["sessions"] / top
        points.append(f"{x:.1f},{y:.1f}")
        at = datetime.fromisoformat(point["at"].replace("Z", "+00:00")).astimezone(tz)
        body.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="2.5"><title>{at:%H:%M}: '
                    f'{point["sessions"]} online</title></circle>')
        if i % 8 == 0:
            body.append(f'<text class="tick" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">{at:%H:%M}</text>')
    if points:
        area = f"{LEFT},{TOP + plot_h} " + " ".join(points) + f" {points[-1].split(',')[0]},{TOP + plot_h}"
        axis += [f'<polygon class="area" points="{area}"/>', f'<polyline class="line" points="{" ".join(points)}"/>']
    body = axis + body
    now = series[-1]["sessions"] if series else 0
    return _frame(f"Sessions online, last {round(len(series) / 2)} hours", f"{now} online now", body)
