"""The "please pay" page for home subscribers whose period has ended, served by the portal.

A suspended subscriber's web traffic reaches the portal through the router's redirect
(deploy: dstnat of TCP 80 from the suspended address list), with the Host of whatever site
they asked for. Such a request, from an address where a subscriber's PPP session is open,
is sent to `/please-pay`; every other request goes on as before. The page says who they
are, what is owed and until when paying now keeps them online ("pay KES 1,500 for 5 Mbps
until 3 February"), with an M-Pesa prompt and the Paybill account number. It works without
JavaScript (a form and a page that refreshes while the payment is pending). Thin: the use
cases are `hotspotd.pppoe.pleasepay.PleasePay`.

    GET  /please-pay                      the page (?payment=REF: after "Pay now")
    POST /please-pay                      the form: phone (optional) -> M-Pesa prompt
    GET  /api/portal/please-pay           {known, ...what is owed} for the asking address
    POST /api/portal/please-pay/pay       {phone?} -> 202 {payment_id, amount, status}
    GET  /api/portal/please-pay/payments/<ref>   {status, period_end, online}
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import bottle

from hotspotd.config import Config
from hotspotd.errors import HotspotdError
from hotspotd.pppoe.month_end import day_text
from hotspotd.pppoe.pleasepay import PleasePay

from . import language, wording
from .jsonapi import TRANSLATE, api, read_json, status_for, text_field
from .portal_context import TEMPLATES

PATH = "/please-pay"
TEXTS = {
    "en": {"title": "Please pay", "hello": "Hi {name}", "ended": "Your home internet ({plan}) ended on {date}.",
           "held": "Your home internet ({plan}) is suspended.", "ends": "Your home internet ({plan}) ends on {date}.",
           "offer": "Pay KES {owed} for {speed} until {until}.", "pay": "Pay now with M-Pesa",
           "phone": "M-Pesa number (empty: the one we have)", "paybill": "Or pay by Paybill {paybill}, account {account}.",
           "balance": "You have KES {balance} towards it already.", "unknown": "This page is for home internet "
           "subscribers, and we could not tell who you are. Call us if your internet is off.",
           "pending": "Check your phone: enter your M-Pesa PIN to pay KES {amount}.",
           "paid": "Paid, thank you. Your internet comes back in a few seconds.",
           "failed": "The payment did not go through ({reason}). Try again.", "help": "Help: {phone}"},
    "sw": {"title": "Tafadhali lipa", "hello": "Habari {name}",
           "ended": "Intaneti yako ya nyumbani ({plan}) iliisha tarehe {date}.",
           "held": "Intaneti yako ya nyumbani ({plan}) imesimamishwa.",
           "ends": "Intaneti yako ya nyumbani ({plan}) itaisha tarehe {date}.",
           "offer": "Lipa KES {owed} kwa {speed} hadi tarehe {until}.", "pay": "Lipa sasa kwa M-Pesa",
           "phone": "Nambari ya M-Pesa (wazi: ile tuliyo nayo)",
           "paybill": "Au lipa kwa Paybill {paybill}, akaunti {account}.",
           "balance": "Tayari una KES {balance} kwa ajili yake.", "unknown": "Ukurasa huu ni wa wateja wa intaneti "
           "ya nyumbani, na hatukuweza kukutambua. Tupigie ikiwa intaneti yako imezimwa.",
           "pending": "Angalia simu yako: weka PIN ya M-Pesa kulipa KES {amount}.",
           "paid": "Umelipa, asante. Intaneti yako inarudi baada ya sekunde chache.",
           "failed": "Malipo hayakufaulu ({reason}). Jaribu tena.", "help": "Msaada: {phone}"},
}


def _money(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def lines(owing: dict[str, Any] | None, lang: str, tz: str, paybill: str) -> dict[str, str]:
    """The page's sentences for what `PleasePay.who` found, in `lang`."""
    text, t = TEXTS[lang], language.catalogue(lang)
    if owing is None:
        return {"unknown": text["unknown"]}
    zone = ZoneInfo(tz)

    def day(iso_text: str) -> str:
        return day_text(datetime.fromisoformat(iso_text).astimezone(zone), lang)

    plan = owing["plan"]
    state = {"active": "ends", "grace": "ended", "suspended": "ended"}[owing["status"]]
    found = {"hello": text["hello"].format(name=owing["name"]),
             "state": text[state].format(plan=plan, date=day(owing["period_end"])),
             "offer": text["offer"].format(owed=_money(owing["owed"]), speed=wording.speed(owing["rate"], t) or plan,
                                           until=day(owing["paid_until"])),
             "paybill": text["paybill"].format(paybill=paybill, account=owing["account"])}
    if owing["balance"]:
        found["balance"] = text["balance"].format(balance=_money(owing["balance"]))
    return found


def _pool(ranges: str) -> list[tuple[int, int]]:
    """The suspended pool's ranges (`10.21.0.2-10.21.0.254[,a-b]`) as integer bounds."""
    found = []
    for part in ranges.split(","):
        first, _, last = part.strip().partition("-")
        found.append((int(ipaddress.IPv4Address(first)), int(ipaddress.IPv4Address(last or first))))
    return found


def _within(address: str | None, pool: list[tuple[int, int]]) -> bool:
    try:
        value = int(ipaddress.IPv4Address(address or ""))
    except ValueError:
        return False
    return any(low <= value <= high for low, high in pool)


def install(app: bottle.Bottle, config: Config, runtime) -> PleasePay:
    """Add the page and its JSON to the portal app, and the redirect of foreign hosts."""
    cases = PleasePay(runtime)
    own_hosts = {urlsplit(url).hostname for url in (config.portal.public_url, config.mpesa.callback_url) if url}
    suspended = _pool(config.pppoe.suspended_ranges)  # only these addresses are sent here by the router
    public = config.portal.public_url.rstrip("/")

    def lang() -> str:
        request = bottle.request
        return language.choose(request.query.get("lang"), request.get_cookie(language.COOKIE),
                               request.get_header("Accept-Language"))[0]

    @app.hook("before_request")
    def redirected_traffic() -> None:
        request = bottle.request
        host = (request.get_header("Host") or "").rsplit(":", 1)[0].strip("[]")
        if request.method not in ("GET", "HEAD") or not host or host in own_hosts or request.path == PATH:
            return
        if not _within(request.remote_addr, suspended):  # every other request pays nothing for this hook
            return
        if cases.is_subscriber(request.remote_addr):  # a suspended subscriber's page view, sent here by the router
            raise bottle.HTTPResponse(status=302, headers={"Location": public + PATH, "Cache-Control": "no-store"})

    def page(payment: dict[str, Any] | None = None, error: str | None = None) -> str:
        chosen = lang()
        owing = cases.who(bottle.request.remote_addr)
        found = owing.as_dict() if owing else None
        text = TEXTS[chosen]
        note = None
        if payment is not None:
            status = payment["status"]
            note = (text["paid"] if status == "paid" else text["pending"].format(amount=payment["amount"])
                    if status == "pending" else text["failed"].format(reason=payment.get("reason") or status))
        bottle.response.set_header("Cache-Control", "no-store")
        return bottle.template("pleasepay", template_lookup=TEMPLATES, lang=chosen, text=text, owing=found,
                               lines=lines(found, chosen, config.site.timezone, cases.paybill), note=note,
                               error=error, refresh=payment is not None and payment["status"] == "pending",
                               help_phone=config.site.help_phone)

    @app.get(PATH)
    def please_pay() -> str:
        ref = bottle.request.query.getunicode("payment", default="")[:64]
        payment = None
        if ref:
            try:
                payment = cases.payment(ref)
            except HotspotdError:
                payment = None
        return page(payment)

    @app.post(PATH)
    def please_pay_form() -> str:
        phone = (bottle.request.forms.getunicode("phone", default="") or "").strip()[:20]
        try:
            paid = cases.pay(bottle.request.remote_addr, phone or None)
        except HotspotdError as exc:
            bottle.response.status = status_for(exc)
            translate = app.config.get(TRANSLATE)
            return page(error=translate(str(exc)) if translate else str(exc))
        bottle.redirect(f"{PATH}?payment={paid['payment_id']}", 303)

    @app.get("/api/portal/please-pay")
    @api
    def owing_json() -> dict[str, Any]:
        owing = cases.who(bottle.request.remote_addr)
        if owing is None:
            return {"known": False}
        return {"known": True, **owing.as_dict(), "paybill": cases.paybill,
                **lines(owing.as_dict(), lang(), config.site.timezone, cases.paybill)}

    @app.post("/api/portal/please-pay/pay")
    @api
    def pay_json():
        body = read_json()
        return 202, cases.pay(bottle.request.remote_addr, text_field(body, "phone", 20))

    @app.get("/api/portal/please-pay/payments/<ref>")
    @api
    def payment_json(ref: str) -> dict[str, Any]:
        return cases.payment(ref)

    return cases
