"""Numbers and times in the customer's words: "1 hour · KES 20 · up to 5 Mbps",
"Saa 1 · KES 20 · hadi Mbps 5", data in GB, "until 21:40 today", "hadi saa 3:40 usiku leo".

The words come from the catalogues (`words.*`); the rules (which units, Swahili time)
are here. Swahili readers count the hours from sunrise: 21:40 is "saa 3:40 usiku"; the
24-hour time follows in brackets, as phones show it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .language import Catalogue

_UNITS = (("week", 7 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60))
_RATE_PART = re.compile(r"^(\d+(?:\.\d+)?)([kKmMgG]?)$")
_SW_PERIODS = ((4, "usiku"), (6, "alfajiri"), (12, "asubuhi"), (16, "mchana"), (19, "jioni"), (24, "usiku"))


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def duration(seconds: int, t: Catalogue) -> str:
    """"1 hour 30 minutes" / "saa 1 na dakika 30": at most two units, the larger first."""
    seconds = max(0, int(seconds))
    parts = []
    for unit, size in _UNITS:
        if unit == "week" and seconds % size:
            continue  # "10 days", not "1 week 3 days"
        if seconds >= size and len(parts) < 2:
            count, seconds = divmod(seconds, size)
            parts.append(t(f"words.{unit}.{'one' if count == 1 else 'other'}", n=count))
        elif parts:
            break  # "1 day 5 minutes" reads oddly: stop at the first gap
    if not parts:
        return t("words.minute.other", n=0) if seconds == 0 else t("words.under_a_minute")
    return t("words.and").join(parts)


def speed(rate: str, t: Catalogue) -> str | None:
    """The download speed of a MikroTik rate limit (upload/download as the router sees
    it): "2M/5M" -> "up to 5 Mbps"; None when there is no limit."""
    if not rate:
        return None
    download = rate.split()[0].split("/")[-1]
    found = _RATE_PART.match(download)
    if not found:
        return None
    value, unit = float(found.group(1)), found.group(2).lower()
    bits = value * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[unit]
    if bits >= 1e6:
        return t("words.speed_mbps", n=_number(bits / 1e6))
    return t("words.speed_kbps", n=_number(bits / 1e3))


def data(size: int | None, t: Catalogue) -> str | None:
    """Bytes as phones show data: "3 GB" / "GB 3", "500 MB" / "MB 500"; None for no cap."""
    if size is None:
        return None
    if size >= 10**9:
        return t("words.data_gb", n=_number(round(size / 10**9, 1)))
    return t("words.data_mb", n=_number(round(size / 10**6, 1)))


def package_line(package: dict, t: Catalogue, *, price: bool = True) -> str:
    """"1 hour · KES 20 · up to 5 Mbps · 3 GB · 2 devices", capitalised (without the
    price where the page shows it apart)."""
    parts = [duration(package["duration_s"], t), t("words.price", n=package["price"]) if price else None,
             speed(package.get("rate", ""), t), data(package.get("data_limit"), t)]
    if package.get("devices", 1) > 1:
        parts.append(t("words.devices", n=package["devices"]))
    text = " · ".join(part for part in parts if part)
    return text[:1].upper() + text[1:]


def clock(when: datetime, t: Catalogue) -> str:
    """A time of day: "21:40"; in Swahili "saa 3:40 usiku (21:40)"."""
    hhmm = when.strftime("%H:%M")
    if t.lang != "sw":
        return hhmm
    hour = (when.hour + 6) % 12 or 12
    period = next(name for end, name in _SW_PERIODS if when.hour < end)
    return f"saa {hour}:{when.minute:02d} {period} ({hhmm})"


def until(ends_at: datetime, now: datetime, tz: str, t: Catalogue) -> str:
    """"until 21:40 today", "until 09:15 tomorrow", "until 25 Nov, 18:00" in the site's time zone."""
    zone = ZoneInfo(tz)
    local, today = ends_at.astimezone(zone), now.astimezone(zone).date()
    if local.date() == today:
        return t("words.until_today", time=clock(local, t))
    if local.date() == today + timedelta(days=1):
        return t("words.until_tomorrow", time=clock(local, t))
    month = t(f"words.month.{local.month}")
    return t("words.until_date", day=local.day, month=month, time=clock(local, t))
