"""Who may use the admin pages: HTTP Basic against the admin accounts."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any, Callable

from hotspotd.admins import authenticate


class Logins:
    """Checks the Authorization header of a request. A good login is remembered (by a hash
    of the header) for `ttl` seconds, so the page's requests do not each pay for scrypt.
    One per admin app: nothing is shared through module globals."""

    def __init__(self, ttl: float = 60.0, size: int = 100, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._good: dict[str, float] = {}

    def authorised(self, environ: dict[str, Any]) -> bool:
        header = environ.get("HTTP_AUTHORIZATION", "")
        if not header.startswith("Basic "):
            return False
        key = hashlib.sha256(header.encode()).hexdigest()
        now = self.clock()
        if self._good.get(key, 0.0) > now:
            return True
        try:
            username, _, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
        except ValueError:
            return False
        if authenticate(username, password) is None:
            return False
        if len(self._good) >= self.size:
            self._good.clear()
        self._good[key] = now + self.ttl
        return True
