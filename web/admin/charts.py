"""The dashboard's two charts, drawn here as SVG (no chart library, nothing from a CDN).

Each chart is drawn at the width its box has on the page (`?width=`, in CSS pixels), so one
unit of its viewBox is one pixel on the screen and its 12 px labels stay 12 px on a 360 px
phone (a chart drawn at 640 and shrunk to fit would write them at 6 px). Axes have round
ticks (0, 10, 20 …, never 0, 12.5, 25 …) and say their unit. Each bar or point carries a
<title> for a hover tooltip and the chart a plain-text <desc> for screen readers. Colours
come from classes styled by admin.css, so the page's theme applies.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from html import escape
from zoneinfo import ZoneInfo

WIDTH, HEIGHT = 640, 240
MIN_WIDTH, MAX_WIDTH = 240, 1400
LEFT, RIGHT, TOP, BOTTOM = 52, 14, 30, 30
FONT = 12  # px, as drawn (admin.css sets the same for .chart text)
LABEL_ROOM = 64  # px an x-axis label needs, with a gap


def chart_width(asked: int | None) -> int:
    """The width to draw at: what the page asked for, within reason."""
    return WIDTH if asked is None else max(MIN_WIDTH, min(MAX_WIDTH, asked))


def nice_step(rough: float) -> float:
    """1, 2 or 5 times a power of ten, at or above `rough`."""
    if rough <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(rough))
    for factor in (1, 2, 5, 10):
        if factor * power >= rough - 1e-9:
            return float(factor * power)
    return 10.0 * power


def nice_ticks(peak: float, *, most: int = 5, least_step: float = 1.0) -> list[float]:
    """Round ticks from 0 to at or above `peak`: at most `most` steps of 1, 2 or 5 × 10ⁿ
    (never finer than `least_step`: whole shillings, whole devices)."""
    step = max(least_step, nice_step(max(peak, 0) / most))
    steps = max(1, math.ceil(max(peak, 0) / step - 1e-9))
    return [step * i for i in range(steps + 1)]


def _money(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:,.{0 if value % 1000 == 0 else 1}f}k"
    return f"{value:,.0f}"


def _axis(ticks: list[float], width: int, label, unit: str) -> list[str]:
    top = ticks[-1] or 1.0
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [f'<text class="unit" x="4" y="{TOP - 12}">{escape(unit)}</text>']
    for value in ticks:
        y = TOP + plot_h - plot_h * value / top
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick y" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(label(value))}</text>')
    return parts


def _frame(width: int, title: str, desc: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {HEIGHT}" width="{width}" '
            f'height="{HEIGHT}" class="chart" role="img" aria-label="{escape(title)}" font-size="{FONT}">'
            f'<title>{escape(title)}</title><desc>{escape(desc)}</desc>' + "".join(body) + "</svg>")


def _every(slot: float) -> int:
    """Label every n-th bar or point so that labels never touch."""
    return max(1, math.ceil(LABEL_ROOM / max(slot, 1e-6)))


def revenue_svg(series: list[dict], currency: str = "KES", width: int = WIDTH) -> str:
    """Stacked bars of income per day (series of {date, amount (M-Pesa), payments, vouchers,
    redeemed}), oldest left: M-Pesa below, vouchers on top."""
    totals = [p["amount"] + p.get("vouchers", 0) for p in series]
    ticks = nice_ticks(max(totals, default=0), least_step=1)
    top = ticks[-1] or 1.0
    plot_w, plot_h = width - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(series))
    every = _every(slot)
    body = _axis(ticks, width, _money, currency)
    body.append(f'<rect class="bar" x="{width - RIGHT - 150}" y="6" width="10" height="10"/>'
                f'<text class="legend" x="{width - RIGHT - 136}" y="15">M-Pesa</text>'
                f'<rect class="bar vouchers" x="{width - RIGHT - 80}" y="6" width="10" height="10"/>'
                f'<text class="legend" x="{width - RIGHT - 66}" y="15">Vouchers</text>')
    for i, point in enumerate(series):
        x = LEFT + i * slot + slot * 0.15
        day = date.fromisoformat(point["date"])
        vouchers = point.get("vouchers", 0)
        tip = (f"{day:%a %d %b}: {currency} {point['amount'] + vouchers:,} "
               f"(M-Pesa {currency} {point['amount']:,}, {plural(point['payments'], 'payment')}; "
               f"vouchers {currency} {vouchers:,}, {plural(point.get('redeemed', 0), 'voucher')})")
        base = TOP + plot_h
        for cls, amount in (("bar", point["amount"]), ("bar vouchers", vouchers)):
            h = plot_h * amount / top
            if h > 0:
                body.append(f'<rect class="{cls}" x="{x:.1f}" y="{base - h:.1f}" width="{slot * 0.7:.1f}" '
                            f'height="{h:.1f}"><title>{escape(tip)}</title></rect>')
                base -= h
        if (len(series) - 1 - i) % every == 0:
            middle = x + slot * 0.35
            at, anchor = (width - 2, "end") if middle + LABEL_ROOM / 2 > width else (middle, "middle")
            body.append(f'<text class="tick x" x="{at:.1f}" y="{HEIGHT - 9}" text-anchor="{anchor}">{day:%d %b}</text>')
    total = sum(totals)
    return _frame(width, f"Income per day, last {len(series)} days ({currency})",
                  f"{currency} {total:,} in {len(series)} days", body)


def sessions_svg(series: list[dict], tz: ZoneInfo, width: int = WIDTH) -> str:
    """A line: open sessions over the last hours (series of {at, sessions}), local times."""
    ticks = nice_ticks(max((p["sessions"] for p in series), default=0), most=4, least_step=1)
    top = ticks[-1] or 1.0
    plot_w, plot_h = width - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(series) - 1)
    every = _every(step)
    axis, body, points = _axis(ticks, width, lambda v: f"{v:g}", "devices"), [], []
    for i, point in enumerate(series):
        x = LEFT + i * step
        y = TOP + plot_h - plot_h * point["sessions"] / top
        points.append(f"{x:.1f},{y:.1f}")
        at = datetime.fromisoformat(point["at"].replace("Z", "+00:00")).astimezone(tz)
        body.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="2.5"><title>{at:%H:%M}: '
                    f'{point["sessions"]} online</title></circle>')
        if (len(series) - 1 - i) % every == 0:
            anchor = "end" if i == len(series) - 1 else "middle"  # the last label stays inside the chart
            body.append(f'<text class="tick x" x="{x:.1f}" y="{HEIGHT - 9}" text-anchor="{anchor}">{at:%H:%M}</text>')
    if points:
        area = f"{LEFT},{TOP + plot_h} " + " ".join(points) + f" {points[-1].split(',')[0]},{TOP + plot_h}"
        axis += [f'<polygon class="area" points="{area}"/>', f'<polyline class="line" points="{" ".join(points)}"/>']
    now = series[-1]["sessions"] if series else 0
    return _frame(width, f"Sessions online, last {round(len(series) / 2)} hours", f"{now} online now", axis + body)


def plural(count: int, one: str, many: str | None = None) -> str:
    """"1 payment", "2 payments" (English: the console's one language)."""
    return f"{count} {one if count == 1 else (many or one + 's')}"
