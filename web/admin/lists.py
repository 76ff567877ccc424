"""How every admin list reads its paging and filters from the query string, and answers.

A list answers `{"items": [...], "page": N, "per_page": M, "total": T}`; `?page=` starts
at 1, `?per_page=` is at most 200. Bad values are a clear 400, never a 500.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo

import bottle

from hotspotd.console.dashboard import local_midnight
from hotspotd.errors import InvalidInput

MAX_PER_PAGE = 200


def int_arg(name: str, default: int | None = None, *, low: int = 1, high: int = 10**12) -> int | None:
    raw = bottle.request.query.getunicode(name, default="").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def text_arg(name: str, limit: int = 100) -> str:
    value = bottle.request.query.getunicode(name, default="") or ""
    if len(value) > limit:
        raise InvalidInput(f"{name} is too long")
    return value.strip()


def page_args(default_per_page: int = 50) -> tuple[int, int]:
    return (int_arg("page", 1, high=10**6), int_arg("per_page", default_per_page, high=MAX_PER_PAGE))


def paged(items: list[dict[str, Any]], total: int, page: int, per_page: int) -> dict[str, Any]:
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def page_of(lookup: Callable[[int, int], tuple[list[dict[str, Any]], int]], default_per_page: int = 50
            ) -> dict[str, Any]:
    """The asked-for page of a list the core pages itself: `lookup(page, per_page)` gives
    (items, total)."""
    page, per_page = page_args(default_per_page)
    items, total = lookup(page, per_page)
    return paged(items, total, page, per_page)


def page_of_all(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The asked-for page of a short list the core gives whole."""
    page, per_page = page_args()
    return paged(items[(page - 1) * per_page:page * per_page], len(items), page, per_page)


def date_arg(name: str, tz: ZoneInfo, *, end: bool = False) -> datetime | None:
    """A local date (YYYY-MM-DD) as the UTC instant its day starts (`end`: the next day's start)."""
    raw = text_arg(name, 10)
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a date like 2026-11-23") from None
    if end:
        day = date.fromordinal(day.toordinal() + 1)
    return local_midnight(day, tz)
