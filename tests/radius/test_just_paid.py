"""A customer who has just paid is never turned away by a RADIUS view a moment old: the
radius role as a real process, FreeRADIUS's radclient as the router asking at once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hotspotd.billing import payments
from hotspotd.billing.payments import PaymentStatus
from hotspotd.store.db import utcnow, write_transaction
from hotspotd.store.models import Credential, Payment

from .test_e2e import MA, radclient

pytestmark = pytest.mark.e2e


@pytest.fixture
def now():
    return utcnow()  # the role judges by the real clock


def received(site, phone: str, n: int, customer=None) -> int:
    """A payment M-Pesa has confirmed, ready to apply (for `customer`'s account: "buy more")."""
    now = utcnow()
    with write_transaction():
        payment = Payment.create(ref=f"just-paid-{n}", package=site["hour"], phone=phone, amount=20, customer=customer,
                                 status=PaymentStatus.PENDING, checkout_request_id=f"ws_CO_just_{n}",
                                 created_at=now, updated_at=now)
        payments.mark_received(payment.id, receipt=f"JUSTPAID{n:02d}", amount_paid=Decimal(20), result_desc="ok",
                               now=now)
    return payment.id


def login(radius_role, username: str, password: str):
    return radclient(radius_role.auth_port, "auth", [f'User-Name = "{username}"', f'User-Password = "{password}"',
                                                     'Calling-Station-Id = "AA:BB:CC:00:00:09"', MA],
                     tries=1, timeout=3)


def test_a_new_customer_is_accepted_the_moment_the_payment_is_applied(radius_role, site):
    # Several in a row: the routine refresh (every second) would let one slip through by luck.
    for n in range(3):
        payment_id = received(site, f"25471100000{n}", n)
        assert payments.apply(payment_id, utcnow()).status == PaymentStatus.PAID
        credential = Credential.get(Credential.customer == Payment.get_by_id(payment_id).customer_id)
        out = login(radius_role, credential.username, credential.password)
        assert "Received Access-Accept" in out.stdout, out.stdout + out.stderr
        assert 'Mikrotik-Rate-Limit = "2M/5M"' in out.stdout


def test_an_expired_customer_who_pays_again_is_accepted_at_once(radius_role, site):
    bob = site["subs"]["bob"]  # his hour ended five minutes ago
    phone = "254722000001"
    bob.customer.phone = phone
    bob.customer.save()
    out = login(radius_role, "bob", "bob-pw")
    assert 'Reply-Message = "Your package has expired"' in out.stdout, out.stdout + out.stderr
    for n in range(3):
        payment_id = received(site, phone, 10 + n, customer=bob.customer_id)  # "buy more" on his phone
        assert payments.apply(payment_id, utcnow()).status == PaymentStatus.PAID
        out = login(radius_role, "bob", "bob-pw")
        assert "Received Access-Accept" in out.stdout, out.stdout + out.stderr
        assert "Session-Timeout = " in out.stdout


def test_unknown_users_are_still_rejected_after_a_fresh_look(radius_role, site):
    for _ in range(3):
        out = login(radius_role, "nobody-here", "x")
        assert 'Reply-Message = "Unknown user"' in out.stdout, out.stdout + out.stderr
    out = login(radius_role, "dave", "dave-pw")  # and a used-up allowance stays used up
    assert 'Reply-Message = "Your data allowance is used up"' in out.stdout, out.stdout + out.stderr
