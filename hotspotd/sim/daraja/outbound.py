"""The simulator's calls out: a JSON POST to a URL the client registered (a callback, a
confirmation, a result), never through a proxy, surviving whatever the receiver does."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

# Calls go straight to their URL, whatever proxy the environment names.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post(url: str, body: Any, timeout: float = 10.0, content_type: str = "application/json") -> tuple[int | None, str]:
    """POST `body` as JSON: (HTTP status, the answer's text); (None, why) when no answer came."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": content_type})
    try:
        with OPENER.open(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")
    except Exception as exc:  # the simulator must outlive any receiver
        # Only the host: the path usually carries the site's secret token.
        log.warning("Simulated call to %s failed: %s", urlsplit(url).netloc, type(exc).__name__)
        return None, f"{type(exc).__name__}: {exc}"


def post_json(url: str, body: Any, timeout: float = 10.0) -> tuple[int | None, Any]:
    """As `post`, with the answer read as JSON when it is JSON."""
    status, text = post(url, body, timeout)
    try:
        return status, json.loads(text) if status is not None else text
    except ValueError:
        return status, text
