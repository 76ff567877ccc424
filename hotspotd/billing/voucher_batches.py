"""Voucher batches as the operator handles them: made together, printed on one sheet,
counted as used and unused, exported, and voided when a sheet is lost.

Codes themselves are made and redeemed in `vouchers`; a voided code is refused there
exactly like an unknown one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..console import audit
from ..console.audit import Actor
from ..errors import InvalidInput, NotFound
from ..store.db import db, write_transaction
from ..store.models import Package, Voucher, iso
from . import vouchers
from .packages import format_data, format_duration, get_package

_BATCHES = ('SELECT v."batch", v."package_id", k."name", k."price", k."duration_s", k."data_limit", '
            'MIN(v."created_at"), COUNT(*), COUNT(v."redeemed_at"), COUNT(v."voided_at") '
            'FROM "voucher" v JOIN "package" k ON k."id" = v."package_id" '
            'GROUP BY v."batch" ORDER BY MIN(v."created_at") DESC, v."batch" DESC LIMIT ? OFFSET ?')
_BATCH_COUNT = 'SELECT COUNT(DISTINCT "batch") FROM "voucher"'


def _batch_row(row: tuple) -> dict[str, Any]:
    batch, package_id, name, price, duration_s, data_limit, created, count, used, voided = row
    return {"id": batch, "batch": batch, "package_id": package_id, "package": name, "price": price,
            "validity": format_duration(duration_s), "data": format_data(data_limit),
            "created_at": created[:19] + "Z", "count": count, "used": used, "voided": voided,
            "unused": count - used - voided}


def make_batch(package_id: object, count: object, now: datetime, *, by: Actor) -> dict[str, Any]:
    """A new batch of `count` codes for a package (audited); returns the batch."""
    if isinstance(count, bool) or not str(count).strip().isdigit():
        raise InvalidInput("count must be a whole number between 1 and 1000")
    count = int(str(count).strip())
    if not 1 <= count <= 1000:
        raise InvalidInput("count must be a whole number between 1 and 1000")
    package = get_package(package_id)
    codes = vouchers.make(package, count, now)
    batch = Voucher.get(Voucher.code == codes[0]).batch
    with write_transaction():
        audit.record(by, "voucher.make", f"batch {batch}", now, count=count, package=package.name)
    return batch_summary(batch)


def batches(page: int = 1, per_page: int = 50) -> tuple[list[dict[str, Any]], int]:
    rows = db.execute_sql(_BATCHES, (per_page, (page - 1) * per_page)).fetchall()
    return [_batch_row(r) for r in rows], db.execute_sql(_BATCH_COUNT).fetchone()[0]


def batch_summary(batch: str) -> dict[str, Any]:
    row = db.execute_sql(_BATCHES.replace("GROUP BY", 'WHERE v."batch" = ? GROUP BY'),
                         (batch, 1, 0)).fetchone()
    if row is None:
        raise NotFound(f"no voucher batch {batch!r}")
    return _batch_row(row)


def voucher_status(v: Voucher) -> str:
    return "voided" if v.voided_at else "used" if v.redeemed_at else "unused"


def codes(batch: str, page: int = 1, per_page: int = 1000) -> tuple[list[dict[str, Any]], int]:
    """The codes of a batch in the order they were made."""
    query = Voucher.select(Voucher, Package).join(Package).where(Voucher.batch == batch)
    total = query.count()
    if not total:
        raise NotFound(f"no voucher batch {batch!r}")
    rows = query.order_by(Voucher.id).paginate(page, per_page)
    return [{"id": v.id, "code": v.code, "printed": vouchers.printed_code(v.code), "package": v.package.name,
             "price": v.package.price,
             "validity": format_duration(v.package.duration_s), "data": format_data(v.package.data_limit),
             "status": voucher_status(v), "created_at": iso(v.created_at),
             "redeemed_at": iso(v.redeemed_at) if v.redeemed_at else None,
             "voided_at": iso(v.voided_at) if v.voided_at else None,
             "subscription_id": v.subscription_id, "mac": v.mac} for v in rows], total


def void(now: datetime, *, by: Actor, batch: str | None = None, voucher_id: int | None = None) -> int:
    """Take unused codes out of circulation (a whole batch, or one code); used ones stay.
    Returns how many were voided now."""
    if (batch is None) == (voucher_id is None):
        raise InvalidInput("void a batch or one voucher")
    where = (Voucher.batch == batch) if batch is not None else (Voucher.id == voucher_id)
    with write_transaction():
        if not Voucher.select().where(where).exists():
            raise NotFound("no such voucher" if batch is None else f"no voucher batch {batch!r}")
        done = Voucher.update(voided_at=now).where(
            where & Voucher.redeemed_at.is_null() & Voucher.voided_at.is_null()).execute()
        audit.record(by, "voucher.void", f"batch {batch}" if batch else f"voucher {voucher_id}", now, voided=done)
    return done
