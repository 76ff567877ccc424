"""MikroTik's login links, believed only when they point at one of the site's routers.

The router's login page sends the customer to the portal with `link-login-only` (where
the page posts the login), `link-orig` and `link-logout`; the browser carries them, so a
link or a QR sticker can carry any URL instead (`/?link-login-only=https://evil/x` would
make the page post the customer's password there). A link is used only when its host is
a router of the site: its API or NAS address, or where its hotspot's login page is (the
hotspot's DNS name or the address of a hotspot interface, read by the probe). Otherwise
the page uses the one router's known login page, or none.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..store.models import Router


@dataclass(frozen=True)
class LoginLinks:
    hosts: frozenset[str]  # where a login link may point
    known: str | None  # the login URL to use when the request's is not the site's (one router only)

    def ours(self, url: str) -> bool:
        """`url` is an http(s) link to one of the site's routers."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return False
        return parts.scheme in ("http", "https") and (parts.hostname or "").lower() in self.hosts


def login_links() -> LoginLinks:
    """The site's routers as the portal's login links may name them."""
    hosts: set[str] = set()
    pages: list[str] = []
    for router in Router.select(Router.host, Router.nas_ip, Router.login_hosts):
        hosts.update(h.lower() for h in (router.host, router.nas_ip) if h)
        found = [h for h in (router.login_hosts or []) if isinstance(h, str) and h]
        hosts.update(h.lower() for h in found)
        if found:
            pages.append(found[0])
    known = f"http://{pages[0]}/login" if len(pages) == 1 else None
    return LoginLinks(frozenset(hosts), known)
