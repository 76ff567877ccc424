import pytest

from hotspotd.devices import claimed, verified
from hotspotd.billing import vouchers
from hotspotd.billing.packages import add_package
from hotspotd.errors import Conflict, InvalidInput, NotFound
from hotspotd.store.models import Event, Subscription, Voucher


@pytest.fixture
def day(store, now):
    return add_package(name="Day", price=50, duration="1d", now=now)


def test_codes_are_unique_unambiguous_and_stored(day, now):
    codes = vouchers.make(day, 500, now)
    assert len(set(codes)) == 500 and Voucher.select().count() == 500
    assert all(len(c) == 10 and not set(c) & set("01OIL") for c in codes)


def test_a_voucher_works_exactly_once(day, now):
    code = vouchers.make(day, 1, now)[0]
    first = vouchers.redeem(code.lower()[:5] + "-" + code[5:], device=verified("aa:bb:cc:dd:ee:ff", "10.5.50.9"), now=now)
    assert first.username and first.password
    again = vouchers.redeem(code, device=verified("AA:BB:CC:DD:EE:FF", "10.5.50.9"), now=now)
    assert again == first  # the same phone reloading the page gets the same login back
    with pytest.raises(Conflict, match="already been used"):
        vouchers.redeem(code, device=verified("11:22:33:44:55:66", "10.5.50.10"), now=now)
    assert Subscription.select().count() == 1
    assert Event.select().where(Event.type == "voucher.redeemed").count() == 1


def test_unknown_and_malformed_codes(day, now):
    with pytest.raises(NotFound, match="Unknown voucher"):
        vouchers.redeem("ABCDEFGHJK", device=claimed(None, None), now=now)
    with pytest.raises(InvalidInput):
        vouchers.redeem("short", device=claimed(None, None), now=now)
