"""The interface the rest of the core uses to talk to a router, and its errors.

`RouterApi` is what provisioning, probing, live sessions, deploy and reconciliation call:
print (with `?` queries), add, set, remove and any other command, with every value a
string as RouterOS sends it. `client.LibrouterosApi` implements it over librouteros; the
RouterOS simulator (`hotspotd.sim.routeros`) answers it on the wire.

Errors are few and mean something to the operator: the router could not be reached (or
went silent), it refused the login, or it refused a command (with its own message).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import UpstreamError


class RouterUnreachable(UpstreamError):
    """No connection, no answer within the timeout, or the connection dropped."""


class RouterReplyTooLarge(RouterUnreachable):
    """The router's reply ran past the client's limits (client.Limits); the connection
    was closed. Not retryable: a router that does it once will do it again."""

    def __init__(self, message: str) -> None:
        UpstreamError.__init__(self, message, retryable=False)


class RouterLoginRefused(UpstreamError):
    """The router answered but refused the API user and password."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class RouterCommandRefused(UpstreamError):
    """The router refused a command (`!trap`); `message` is the router's own words."""

    def __init__(self, command: str, message: str, category: int | None = None) -> None:
        super().__init__(f"{command}: {message}", code=None if category is None else str(category))
        self.command = command
        self.message = message
        self.category = category

    @property
    def already_exists(self) -> bool:
        return "already have" in self.message or "already exists" in self.message

    @property
    def no_such_item(self) -> bool:
        return "no such item" in self.message


@dataclass(frozen=True)
class Target:
    """How to reach one router's API (from its record)."""

    router_id: int
    name: str
    host: str
    port: int
    user: str
    password: str
    tls: bool = False
    fingerprint: str | None = None  # sha256 of the router's certificate, hex, to pin

    @property
    def key(self) -> tuple:
        """Connections are shared only between identical targets (an edit makes new ones)."""
        return (self.router_id, self.host, self.port, self.user, self.password, self.tls, self.fingerprint)


Item = dict[str, str]


class RouterApi(Protocol):
    """One logged-in API connection. Not thread-safe: one user at a time (see pool.py)."""

    def print(self, path: str, *, where: dict[str, str] | None = None,
              proplist: tuple[str, ...] | None = None) -> list[Item]: ...

    def add(self, path: str, values: dict[str, str]) -> str: ...

    def set(self, path: str, item_id: str | None, values: dict[str, str]) -> None: ...

    def remove(self, path: str, *ids: str) -> None: ...

    def call(self, path: str, command: str, args: dict[str, str]) -> list[Item]: ...

    def close(self) -> None: ...


_TRUE = {"true", "yes"}
_FALSE = {"false", "no"}


def text(value: Any) -> str:
    """A value as RouterOS words carry it (booleans as yes/no)."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return "" if value is None else str(value)


def same(have: Any, want: Any) -> bool:
    """Whether a value read from the router equals the one we want (true/yes and
    false/no are the same; lists compare as sets, `a,b` = `b,a`)."""
    a, b = text(have).strip(), text(want).strip()
    if a.lower() in _TRUE and b.lower() in _TRUE or a.lower() in _FALSE and b.lower() in _FALSE:
        return True
    if "," in a or "," in b:
        return sorted(a.split(",")) == sorted(b.split(","))
    return a == b
