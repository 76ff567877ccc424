"""What both web apps answer with: JSON bodies, one mapping from core errors to HTTP
status codes, JSON error pages, and the small routes every app has (favicon, static files).

Every route that faces untrusted input goes through `api`, so a core error becomes a
clear JSON answer with the right status and nothing ever shows a traceback. An app may
put a `translate(message) -> message` in `app.config["hotspotd.translate"]`: error
messages then reach its users in their language.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable

import bottle

from hotspotd.errors import (ClockNotBelievable, Conflict, Forbidden, HotspotdError, InvalidInput, NotFound,
                             RateLimited,
                             StorageUnavailable, UpstreamError)

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
MAX_JSON = 8 * 1024
MAX_ID = 2**63 - 1  # SQLite's largest integer
TRANSLATE = "hotspotd.translate"
SOMETHING_WENT_WRONG = "Something went wrong, please try again"

# The one mapping from core errors to HTTP status codes (most specific first).
STATUS_FOR_ERROR: tuple[tuple[type[HotspotdError], int], ...] = (
    (InvalidInput, 400),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (UpstreamError, 502),
    (StorageUnavailable, 503),
    (ClockNotBelievable, 503),
    (RateLimited, 429),
)


def status_for(error: HotspotdError) -> int:
    return next((code for kind, code in STATUS_FOR_ERROR if isinstance(error, kind)), 500)


def answer(status: int, body: Any) -> str:
    """A JSON answer (never cached: it is about this moment)."""
    bottle.response.status = status
    bottle.response.content_type = "application/json"
    bottle.response.set_header("Cache-Control", "no-store")
    return json.dumps(body)


def read_json(limit: int = MAX_JSON) -> dict[str, Any]:
    """The request body as a JSON object, refusing what is too large or not an object."""
    length = bottle.request.content_length
    if length > limit:
        raise InvalidInput("request body too large")
    raw = bottle.request.body.read(limit + 1)
    if len(raw) > limit:
        raise InvalidInput("request body too large")
    try:
        value = json.loads(raw.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidInput("body must be JSON") from None
    if not isinstance(value, dict):
        raise InvalidInput("body must be a JSON object")
    return value


def text_field(body: dict[str, Any], key: str, limit: int = 64) -> str | None:
    """A short text (or whole number) field of a JSON body, stripped; None when absent or
    empty. Control characters, other types and anything longer than `limit` are refused."""
    value = body.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**limit:
        value = str(value)
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        raise InvalidInput(f"{key} is not valid")
    return value.strip()


def id_field(body: dict[str, Any], key: str) -> int | None:
    """A row id field of a JSON body: a whole number from 1 to 2^63-1 (not true, 1.9, "1"
    or 1e400); None when absent."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidInput(f"{key} is not valid")
    return value


def _translated(message: str) -> str:
    app = bottle.request.environ.get("bottle.app")
    translate = app.config.get(TRANSLATE) if app is not None else None
    return translate(message) if translate else message


def api(route: Callable[..., Any]) -> Callable[..., str | bytes]:
    """Run a route; its result (a body, or (status, body), or JSON bytes sent unchanged) and
    core errors become JSON."""

    def handle(*args: Any, **kwargs: Any) -> str | bytes:
        try:
            result = route(*args, **kwargs)
        except HotspotdError as exc:
            status = status_for(exc)
            if status == 500:
                log.exception("error in %s", bottle.request.path)
                return answer(500, {"error": _translated(SOMETHING_WENT_WRONG)})
            if isinstance(exc, RateLimited):
                bottle.response.set_header("Retry-After", str(exc.retry_after))
            return answer(status, {"error": _translated(str(exc))})
        if isinstance(result, bytes):  # JSON already encoded (a signed answer): sent as it is
            answer(200, None)
            return result
        status, body = result if isinstance(result, tuple) else (200, result)
        return answer(status, body)

    handle.__name__ = route.__name__
    return handle


def install_common_routes(app: bottle.Bottle) -> None:
    """JSON error pages, /favicon.ico and /static/ on `app`."""

    @app.error(404)
    @app.error(405)
    @app.error(500)
    def _error(err: bottle.HTTPError) -> str:
        if err.status_code == 500:
            log.error("unhandled error on %s: %s", bottle.request.path, err.exception)
        messages = {404: "Not found", 405: "Method not allowed", 500: "Something went wrong"}
        bottle.response.content_type = "application/json"
        return json.dumps({"error": _translated(messages.get(err.status_code, err.status_line))})

    @app.get("/favicon.ico")
    def favicon():
        response = bottle.static_file("favicon.svg", root=str(STATIC), mimetype="image/svg+xml")
        response.set_header("Cache-Control", "public, max-age=86400")
        return response

    @app.get("/static/<name:path>")
    def static(name: str):
        return bottle.static_file(name, root=str(STATIC))
