import pytest

from hotspotd.billing.packages import add_package, format_duration, list_packages, parse_data, parse_duration, parse_rate
from hotspotd.errors import InvalidInput


@pytest.mark.parametrize("text,seconds", [("30m", 1800), ("1h", 3600), ("1d", 86400), ("1w", 604800),
                                          ("2h30m", 9000), ("90", 90), ("1D", 86400)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "1x", "h1", "1h 2", "-1h"])
def test_bad_durations_are_refused(text):
    with pytest.raises(InvalidInput):
        parse_duration(text)


def test_duration_round_trip():
    assert format_duration(9000) == "2h30m"
    assert format_duration(604800 + 3600) == "1w1h"


def test_data_caps_are_decimal_like_phones_show():
    assert parse_data("1GB") == 10**9
    assert parse_data("500MB") == 5 * 10**8
    assert parse_data("1.5GB") == 15 * 10**8
    assert parse_data("") is None and parse_data(None) is None and parse_data("unlimited") is None
    with pytest.raises(InvalidInput):
        parse_data("lots")


def test_rates_in_mikrotik_form():
    assert parse_rate("2M/5M") == "2M/5M"
    assert parse_rate("512k") == "512k"
    with pytest.raises(InvalidInput):
        parse_rate("fast")


def test_packages_are_stored_and_listed_by_price(store, now):
    add_package(name="Day", price=50, duration="1d", rate="2M/5M", data="1GB", devices=2, now=now)
    add_package(name="Hour", price=10, duration="1h", now=now)
    assert [p.name for p in list_packages()] == ["Hour", "Day"]
    with pytest.raises(InvalidInput):
        add_package(name="Free", price=0, duration="1h", now=now)
