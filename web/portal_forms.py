"""The portal without JavaScript: the package list, voucher, "already paid?", trial and
login forms post here and get a plain page back; paying leads to a page that reloads
itself until M-Pesa answers. The same use cases and budgets as the JSON API."""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlencode

import bottle

from hotspotd.devices import Asker
from hotspotd.errors import HotspotdError, InvalidInput

from .assets import Assets
from .jsonapi import status_for
from .language import LANGUAGES, Catalogue, catalogue
from .portal_context import TEMPLATES, PortalContext

WAIT_REFRESH = 3  # seconds between reloads of the waiting page


def install(app: bottle.Bottle, portal: PortalContext, assets: Assets) -> None:
    cases = portal.cases

    def form() -> tuple[dict[str, str], Catalogue]:
        forms = bottle.request.forms
        login = portal.login_vars(forms)
        lang = forms.getunicode("lang", default="")
        t = catalogue(lang) if lang in LANGUAGES else portal.t()
        return login, t

    def field(name: str, limit: int) -> str:
        value = bottle.request.forms.getunicode(name, default="") or ""
        if len(value) > limit or not value.isprintable():
            raise InvalidInput(f"{name} is not valid")
        return value.strip()

    def page(t: Catalogue, login: dict[str, str], *, title: str, lines: tuple[str, ...] = (),
             view: dict[str, Any] | None = None, failed: bool = False, refresh: int = 0) -> str:
        access, credentials = [], None
        if view:
            view = portal.worded(view, t)
            facts = (("page.package", view.get("package")), ("page.valid", view.get("expires_text")),
                     ("page.time_left", view.get("time_left_text")), ("page.data_left", view.get("data_left_text")))
            access = [(t(label), value) for label, value in facts if value]
            if view.get("password"):
                credentials = (view["username"], view["password"])
        kept = {key: value for key, value in login.items() if value and key != "error"}
        return bottle.template("portal_done", template_lookup=TEMPLATES, t=t, lang=t.lang, site=portal.site(),
                               login=login, title=title, lines=lines, access=access, credentials=credentials,
                               failed=failed, refresh=refresh, css=assets.url("portal.css"),
                               back="/?" + urlencode({**kept, "lang": t.lang}))

    def handled(action: Callable[[dict[str, str], Catalogue, Asker], str]) -> Callable[[], str]:
        def handle() -> str:
            login, t = form()
            try:
                return action(login, t, portal.asker())
            except HotspotdError as exc:
                bottle.response.status = status_for(exc)
                return page(t, login, title=t("page.not_done"), lines=(t.message(str(exc)),), failed=True)

        handle.__name__ = action.__name__
        return handle

    @app.post("/voucher")
    @handled
    def voucher(login, t, device) -> str:
        portal.check("voucher", device)
        view = cases.checkout.redeem_voucher(field("code", 40), device=device)
        return page(t, login, title=t("page.ready"), view=view)

    @app.post("/restore")
    @handled
    def restore(login, t, device) -> str:
        portal.check("restore", device)
        view = cases.restore.restore(receipt=field("receipt", 40), phone=field("phone", 20), device=device)
        return page(t, login, title=t("page.ready"), view=view)

    @app.post("/trial")
    @handled
    def trial(login, t, device) -> str:
        portal.check("trial", device)
        return page(t, login, title=t("page.ready"), view=cases.trial.start(device=device))

    @app.post("/login")
    @handled
    def login(login, t, device) -> str:
        portal.check("login", device)
        view = cases.account.login(username=field("username", 64), password=field("password", 64), device=device)
        return page(t, login, title=t("page.your_package"), view=view)

    @app.post("/pay")
    @handled
    def pay(login, t, device) -> str:
        portal.check("pay", device)
        package = field("package_id", 19)
        started = cases.checkout.pay(package_id=package if package.isdigit() else None, phone=field("phone", 20),
                                     device=device)
        kept = {key: value for key, value in login.items() if value and key != "error"}
        bottle.redirect(f"/wait/{started['payment_id']}?" + urlencode({**kept, "lang": t.lang}), 303)

    @app.get("/wait/<ref>")
    def wait(ref: str) -> str:
        login = portal.login_vars(bottle.request.query)
        t = portal.t()
        try:
            view = cases.checkout.payment_status(ref[:64], device=portal.asker())
        except HotspotdError as exc:
            bottle.response.status = status_for(exc)
            return page(t, login, title=t("page.not_done"), lines=(t.message(str(exc)),), failed=True)
        if view["status"] == "pending":
            return page(t, login, title=t("js.check_phone"), lines=(t("js.enter_pin", amount=view["amount"]),),
                        refresh=WAIT_REFRESH)
        if view["status"] == "paid":
            return page(t, login, title=t("page.ready"), view=view)
        return page(t, login, title=t("page.not_done"), lines=(t(f"js.ended.{view['status']}"),), failed=True)
