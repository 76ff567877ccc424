"""Cash vouchers: codes printed in batches, each redeemable exactly once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from .. import events
from ..devices import Asker
from ..errors import Conflict, InvalidInput, NotFound
from ..store.db import write_transaction
from ..store.models import Package, Voucher
from . import grants, subscriptions
from .bindings import BoundBy

# 31 symbols without 0/O, 1/I/L; 10 of them ≈ 49.5 bits: not guessable over HTTP.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 10


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def printed_code(code: str) -> str:
    """A code as people read and type it, on the sheet and every screen: ABCDE-FGHIJ
    (the portal takes it with or without the dash)."""
    return f"{code[:5]}-{code[5:]}" if len(code) > 5 else code


def clean_code(text: str) -> str:
    """What a customer typed, as stored: upper case, no spaces or dashes."""
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def make(package: Package, count: int, now: datetime) -> list[str]:
    """Make `count` new codes for `package` in one batch; returns them."""
    if not 1 <= count <= 10000:
        raise InvalidInput("count must be between 1 and 10000")
    if package.service != "hotspot":
        raise InvalidInput("vouchers are for hotspot packages; a PPPoE plan is paid by its subscriber's account")
    batch = now.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(2)
    codes: list[str] = []
    with write_transaction():
        seen = set()
        while len(codes) < count:
            code = new_code()
            if code in seen or Voucher.select().where(Voucher.code == code).exists():
                continue
            seen.add(code)
            codes.append(code)
        Voucher.insert_many(
            [{"code": c, "package": package.id, "batch": batch, "created_at": now} for c in codes]
        ).execute()
    return codes


@dataclass(frozen=True)
class Redemption:
    username: str
    password: str
    expires_at: datetime
    subscription_id: int
    customer_id: int
    granted: grants.Granted | None = field(default=None, compare=False)  # what follows (a new redemption only)


def redeem(code: str, *, device: Asker, now: datetime, lang: str | None = None) -> Redemption:
    """Turn a voucher into access for the device typing it, exactly once: an account of its
    own (bound to the device when a router confirmed it; else its first login takes it).

    The same device asking again (a page reload) gets the same credentials back;
    anyone else gets a clear 'already used'.
    """
    code = clean_code(code)
    if len(code) != LENGTH:
        raise InvalidInput("Voucher codes have 10 letters and digits")
    mac = device.mac
    with write_transaction():
        voucher = Voucher.get_or_none(Voucher.code == code)
        if voucher is None or voucher.voided_at is not None:
            raise NotFound("Unknown voucher code: check it and try again")
        if voucher.redeemed_at is not None:
            if mac and voucher.mac == mac:
                return _redemption(voucher)
            raise Conflict("This voucher has already been used")
        customer_id = subscriptions.new_customer(None, now)
        grant, granted = grants.grant(customer_id, voucher.package, now, device=device, how=BoundBy.REDEEMED,
                                      source={"voucher_id": voucher.id}, lang=lang)
        voucher.redeemed_at = now
        voucher.customer = customer_id
        voucher.subscription = grant.subscription_id
        voucher.mac = mac
        voucher.save()
        events.emit("voucher.redeemed", {"voucher_id": voucher.id, "package_id": voucher.package_id,
                                         "subscription_id": grant.subscription_id, "mac": mac, "ip": device.ip,
                                         "verified": device.verified}, now)
        return Redemption(grant.username, grant.password, grant.ends_at, grant.subscription_id, customer_id, granted)


def _redemption(voucher: Voucher) -> Redemption:
    username, password = subscriptions.credential_for(voucher.customer_id, voucher.redeemed_at)
    subscription = voucher.subscription
    return Redemption(username, password, subscription.ends_at, subscription.id, voucher.customer_id)
