"""What every portal route shares: the core use cases it calls, the attempt budgets, the
site as the page shows it (cached for a moment: the landing page is the hottest route),
the request's language, and the customer's words for what the core answers."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import bottle

from hotspotd.config import Config
from hotspotd.customer.account import Account
from hotspotd.customer.already_paid import Restore
from hotspotd.customer.attempts import Attempts
from hotspotd.customer.captive import Captive
from hotspotd.customer.checkout import Checkout
from hotspotd.customer.identity import Identity
from hotspotd.customer.paybill import Paybill
from hotspotd.customer.trial import Trial
from hotspotd.devices import Asker
from hotspotd.router.links import LoginLinks, login_links
from hotspotd.settings import site_settings

from . import language, wording
from .jsonapi import text_field

log = logging.getLogger(__name__)

TEMPLATES = [str(Path(__file__).parent / "templates")]
SITE_CACHE_SECONDS = 2.0
NONE = "'none'"
LOGIN_VARS = ("mac", "ip", "link-login-only", "link-orig", "link-logout", "error", "chap-id", "chap-challenge")


@dataclass
class UseCases:
    """The core use cases the portal calls (and nothing below them)."""

    checkout: Checkout
    paybill: Paybill
    restore: Restore
    trial: Trial
    account: Account
    captive: Captive
    identity: Identity

    @classmethod
    def around(cls, checkout: Checkout, **given: Any) -> UseCases:
        """Those not given, made over the checkout's runtime."""
        rt = checkout.rt
        made = {"paybill": Paybill, "restore": Restore, "trial": Trial, "account": Account, "captive": Captive,
                "identity": Identity}
        return cls(checkout=checkout, **{name: given.get(name) or kind(rt) for name, kind in made.items()})

    def close(self) -> None:
        self.paybill.close()
        self.identity.close()


@dataclass(frozen=True)
class Site:
    """The site as the page shows it, at one moment."""

    name: str
    help_phone: str
    notice: str
    timezone: str
    packages: list[dict[str, Any]]
    offline: bool  # the store did not answer: the page says so instead of failing
    links: LoginLinks = LoginLinks(frozenset(), None)  # where MikroTik's login links may point


class PortalContext:
    def __init__(self, config: Config, cases: UseCases) -> None:
        self.config = config
        self.cases = cases
        self.attempts = Attempts(payments_per_minute=config.portal.payments_per_minute)
        self._site: tuple[float, Site] | None = None
        self._headers: tuple[LoginLinks, dict[str, str]] | None = None
        self._lock = threading.Lock()
        self._texts_json = {lang: json.dumps(language.catalogue(lang).js()).replace("<", "\\u003c")
                            for lang in language.LANGUAGES}

    # -- the site

    def site(self) -> Site:
        now = time.monotonic()
        cached = self._site
        if cached and now - cached[0] < SITE_CACHE_SECONDS:
            return cached[1]
        with self._lock:
            try:
                settings = site_settings(self.config)
                site = Site(settings.name, settings.help_phone, settings.notice, settings.timezone,
                            self.cases.checkout.packages(), offline=False, links=login_links())
            except Exception as exc:  # a locked or broken store: the page shows, saying so
                log.warning("portal page without the store: %s", exc)
                s = self.config.site
                site = Site(s.name, s.help_phone, s.notice, s.timezone, [], offline=True)
            self._site = (now, site)
            return site

    # -- the request

    def lang(self) -> str:
        request = bottle.request
        return language.choose(request.query.get("lang"), request.get_cookie(language.COOKIE),
                               request.get_header("Accept-Language"))[0]

    def t(self) -> language.Catalogue:
        return language.catalogue(self.lang())

    def texts_json(self, lang: str) -> str:
        return self._texts_json[lang]

    def check(self, action: str, device: Asker) -> None:
        """One attempt of `action` for this device and the address the request came from."""
        self.attempts.check(action, device)

    def asker(self, source: dict[str, Any] | None = None, *, fresh: bool = False) -> Asker:
        """Who is asking: the request's own address, as the routers know it; the `mac` and
        `ip` the request carries (a JSON body, else the query or form) are only hints."""
        request = bottle.request
        if source is not None:
            mac, ip = text_field(source, "mac", 17), text_field(source, "ip", 45)
        else:
            fields = request.forms if request.method == "POST" else request.query
            mac = (fields.getunicode("mac", default="") or "")[:17] or None
            ip = (fields.getunicode("ip", default="") or "")[:45] or None
        return self.cases.identity.resolve(request.remote_addr, mac=mac, ip=ip, fresh=fresh)

    def login_vars(self, source: Any) -> dict[str, str]:
        """MikroTik's login-page variables from a query or form (trimmed). Its links are
        kept only when they point at one of the site's routers; a login link that does not
        is replaced by the router's known login page (one router), or dropped."""
        values = {key: (source.getunicode(key, default="") or "")[:512] for key in LOGIN_VARS}
        links = self.site().links
        for key in ("link-login-only", "link-orig", "link-logout"):
            if values[key] and not links.ours(values[key]):  # not logged: a page load each, any stranger's
                values[key] = (links.known or "") if key == "link-login-only" else ""
        return values

    def security_headers(self) -> dict[str, str]:
        """What every portal answer carries: no inline script, never framed, no referrer
        (the page's URL holds MikroTik's variables), and the login form and its frame may
        reach only the site's routers."""
        links = self.site().links
        cached = self._headers
        if cached is None or cached[0] is not links:
            routers = " ".join(f"http://{h}:* https://{h}:*" for h in sorted(links.hosts) if h.replace(".", "").replace(
                "-", "").replace(":", "").isalnum())
            policy = (f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                      f"connect-src 'self'; frame-src {routers or NONE}; "
                      f"form-action 'self' {routers}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
            cached = self._headers = (links, {"Content-Security-Policy": policy.replace("  ", " "),
                                              "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                                              "Referrer-Policy": "no-referrer"})
        return cached[1]

    # -- the customer's words

    def described(self, package: dict[str, Any], t: language.Catalogue) -> dict[str, Any]:
        return {**package, "description": wording.package_line(package, t),
                "details": wording.package_line(package, t, price=False)}

    def worded(self, view: dict[str, Any], t: language.Catalogue) -> dict[str, Any]:
        """A view of what a customer has (payment, voucher, restore, status) with its
        times and amounts in the customer's words."""
        now = datetime.now(timezone.utc)
        words: dict[str, Any] = {}
        if view.get("expires_at"):
            ends = datetime.fromisoformat(view["expires_at"].replace("Z", "+00:00"))
            words["expires_text"] = wording.until(ends, now, self.site().timezone, t)
            left = (ends - now).total_seconds()
            words["time_left_text"] = wording.duration(int(round(left / 60)) * 60 if left >= 60 else int(left), t)
        if "data_left" in view:
            words["data_left_text"] = wording.data(view["data_left"], t) or t("words.no_data_cap")
        return {**view, **words}
