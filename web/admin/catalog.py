"""What is sold: packages (admins change them) and voucher batches (operators make them),
with the printable A4 sheet of a batch (a QR code per voucher that opens the portal with
the code filled in) and its CSV export.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import bottle

from hotspotd.billing import packages, voucher_batches
from hotspotd.console.actions import Console
from hotspotd.errors import HotspotdError, InvalidInput
from hotspotd.settings import site_settings
from hotspotd.store.db import utcnow

from ..jsonapi import answer, api, read_json, status_for, text_field
from .auth import AUDIT_SELF, actor
from .lists import page_of
from .login import TEMPLATES

PACKAGE_FIELDS = ("name", "price", "duration", "rate", "data", "devices")



def segno():
    """The QR code library, loaded when a sheet is printed: it costs the admin process
    several MB it would otherwise hold all day."""
    import segno as library

    return library

def _package_changes(body: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for field in PACKAGE_FIELDS:
        if field in body:
            changes[field] = text_field(body, field, 60) or ""
    if "active" in body:
        changes["active"] = body["active"]
    return changes


def voucher_url(portal_url: str, code: str) -> str:
    """Where a voucher's QR code leads: the portal, with the code filled in."""
    return f"{portal_url.rstrip('/')}/?voucher={code}"


def local_time(iso_text: str | None, tz: ZoneInfo) -> str:
    if not iso_text:
        return ""
    return datetime.fromisoformat(iso_text.replace("Z", "+00:00")).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def install(app: bottle.Bottle, console: Console) -> None:
    config = console.config

    # -- packages

    @app.post("/api/admin/packages", audit=AUDIT_SELF)
    @api
    def package_add() -> tuple[int, dict[str, Any]]:
        raw = read_json()
        body = _package_changes(raw)
        missing = [f for f in ("name", "price", "duration") if not body.get(f)]
        if missing:
            raise InvalidInput(f"a package needs {', '.join(missing)}")
        package = packages.add_package(name=body["name"], price=body["price"], duration=body["duration"],
                                       rate=body.get("rate", ""), data=body.get("data") or None,
                                       devices=body.get("devices") or 1, now=utcnow(), by=actor(),
                                       service=text_field(raw, "service", 20) or packages.HOTSPOT)
        return 201, packages.package_dict(package)

    @app.post("/api/admin/packages/<package_id:int>", audit=AUDIT_SELF)
    @api
    def package_edit(package_id: int) -> dict[str, Any]:
        changes = _package_changes(read_json())
        if not changes:
            raise InvalidInput("nothing to change")
        return packages.package_dict(packages.update_package(package_id, changes, utcnow(), by=actor()))

    # -- vouchers

    @app.get("/api/admin/vouchers")
    @api
    def batch_list() -> dict[str, Any]:
        return page_of(voucher_batches.batches)

    @app.post("/api/admin/vouchers", role="operator", audit=AUDIT_SELF)
    @api
    def batch_make() -> tuple[int, dict[str, Any]]:
        body = read_json()
        return 201, voucher_batches.make_batch(body.get("package_id"), body.get("count"), utcnow(), by=actor())

    @app.get("/api/admin/vouchers/<batch>")
    @api
    def batch_codes(batch: str) -> dict[str, Any]:
        codes = page_of(lambda page, per_page: voucher_batches.codes(batch, page, per_page), 200)
        return {**codes, "batch": voucher_batches.batch_summary(batch)}

    @app.post("/api/admin/vouchers/<batch>/void", role="operator", audit=AUDIT_SELF)
    @api
    def batch_void(batch: str) -> dict[str, Any]:
        body = read_json()
        voucher_id = body.get("voucher_id")
        if voucher_id is not None:
            codes, _ = voucher_batches.codes(batch)
            if isinstance(voucher_id, bool) or voucher_id not in {c["id"] for c in codes}:
                raise InvalidInput("voucher_id is not a voucher of this batch")
            done = voucher_batches.void(utcnow(), by=actor(), voucher_id=voucher_id)
        else:
            done = voucher_batches.void(utcnow(), by=actor(), batch=batch)
        return {"voided": done, "batch": voucher_batches.batch_summary(batch)}

    @app.get("/api/admin/vouchers/<batch>/csv")
    def batch_csv(batch: str) -> Any:
        try:
            found = voucher_batches.codes(batch)[0]
        except HotspotdError as exc:
            return answer(status_for(exc), {"error": str(exc)})
        tz = ZoneInfo(site_settings(config).timezone)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["code", "printed_code", "package", "price_kes", "validity", "data", "status",
                         "redeemed_at_local", "url"])
        for row in found:
            writer.writerow([row["code"], row["printed"], row["package"], row["price"], row["validity"], row["data"], row["status"],
                             local_time(row["redeemed_at"], tz), voucher_url(config.portal.public_url, row["code"])])
        bottle.response.content_type = "text/csv; charset=utf-8"
        bottle.response.set_header("Content-Disposition", f'attachment; filename="vouchers-{batch}.csv"')
        bottle.response.set_header("Cache-Control", "no-store")
        return out.getvalue()

    @app.get("/vouchers/<batch>/print")
    def print_sheet(batch: str) -> Any:
        try:
            found = voucher_batches.codes(batch)[0]
        except HotspotdError as exc:
            return answer(status_for(exc), {"error": str(exc)})
        settings = site_settings(config)
        tz = ZoneInfo(settings.timezone)
        cards = []
        for row in found:
            if row["status"] != "unused":
                continue
            url = voucher_url(config.portal.public_url, row["code"])
            qr = segno().make(url, error="m").svg_inline(scale=3, border=2, omitsize=True, svgclass="qr",
                                                       lineclass=None)
            cards.append({**row, "url": url, "qr": qr})
        bottle.response.set_header("Cache-Control", "no-store")
        bottle.response.content_type = "text/html; charset=utf-8"
        return bottle.template("voucher_sheet", template_lookup=TEMPLATES, site=settings,
                               batch=voucher_batches.batch_summary(batch), cards=cards,
                               printed=utcnow().astimezone(tz).strftime("%Y-%m-%d %H:%M"), tz=settings.timezone)
