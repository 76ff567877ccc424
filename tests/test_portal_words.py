"""The portal's two languages: the catalogues agree, every message a customer can see is
in both, and numbers and times read as a customer in Nairobi says them."""

from __future__ import annotations

import ast
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from hotspotd.errors import RateLimited
from hotspotd.web import language, wording
from hotspotd.web.language import catalogue, placeholders

ROOT = Path(__file__).resolve().parents[1]
EN, SW = catalogue("en"), catalogue("sw")
NAIROBI = "Africa/Nairobi"

# Where a customer's errors come from, and which functions of each (None: all of it).
CUSTOMER_FACING = {
    "hotspotd/customer/checkout.py": None, "hotspotd/customer/account.py": None, "hotspotd/customer/already_paid.py": None,
    "hotspotd/customer/trial.py": None, "hotspotd/customer/paybill.py": {"offer"}, "hotspotd/phone.py": None,
    "hotspotd/billing/vouchers.py": {"redeem"}, "hotspotd/billing/packages.py": {"get_package"},
    "hotspotd/store/db.py": None, "hotspotd/mpesa/client.py": {"stk_push", "stk_query", "_fetch_token", "_send",
                                                               "_error", "_customer_message"},
    "web/jsonapi.py": None, "web/portal_api.py": None, "web/portal_forms.py": None,
    "hotspotd/devices.py": None,  # devices blocked by central sync (issue 10), once merged
    "hotspotd/plumbing/clock.py": {"require_believable"},  # selling waits for a believable clock
    "hotspotd/customer/receipt_check.py": {"clean_code", "ask", "outcome", "asked_by"},
}
ERRORS = {"InvalidInput", "NotFound", "Conflict", "UpstreamError", "StorageUnavailable", "ClockNotBelievable"}
SAME_IN_BOTH = {"words.price"}  # "KES {n}" reads the same in Swahili


def test_both_catalogues_have_every_key_with_the_same_values_to_fill_in():
    en, sw = language.load_catalogue("en"), language.load_catalogue("sw")
    assert sorted(en) == sorted(sw), set(en) ^ set(sw)
    for key in en:
        assert en[key] and sw[key] and (en[key].strip() or key == "words.and"), key
        assert placeholders(en[key]) == placeholders(sw[key]), key
    untranslated = {key for key in en if en[key] == sw[key]} - SAME_IN_BOTH
    assert not untranslated, f"English left in the Swahili catalogue: {sorted(untranslated)}"


def _messages(path: Path, functions: set[str] | None) -> list[str]:
    """The messages of errors raised in `path` (in `functions`), and the customer messages
    of mpesa.client's (message, retryable) pairs; f-string parts filled with "X"."""
    tree = ast.parse(path.read_text())
    constants = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
                 for t in n.targets if isinstance(t, ast.Name) and isinstance(n.value, ast.Constant)
                 and isinstance(n.value.value, str)}

    def text(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and node.id in constants:
            return constants[node.id]
        if isinstance(node, ast.JoinedStr):
            return "".join(v.value if isinstance(v, ast.Constant) else "X" for v in node.values)
        return None

    roots = [tree] if functions is None else [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)
                                              and n.name in functions]
    found = []
    for root in roots:
        for node in ast.walk(root):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in ERRORS:
                found += [m for m in [text(node.args[0])] if node.args and m]
            if (isinstance(node, ast.Tuple) and len(node.elts) == 2 and isinstance(node.elts[1], ast.Constant)
                    and isinstance(node.elts[1].value, bool)):
                found += [m for m in [text(node.elts[0])] if m]
    if path.name == "client.py":  # KNOWN_ERRORS: code -> (message, retryable)
        known = next(n for n in tree.body if isinstance(n, ast.AnnAssign) and n.target.id == "KNOWN_ERRORS")
        found += [text(v.elts[0]) for v in known.value.values]
    return found


def test_every_message_a_customer_can_be_shown_is_in_both_languages():
    messages = {m for path, functions in CUSTOMER_FACING.items() if (ROOT / path).exists()
                for m in _messages(ROOT / path, functions)}
    messages |= {str(RateLimited(42)), "Not found", "Method not allowed", "Something went wrong"}
    assert len(messages) > 40  # the scan found them
    missing = sorted(m for m in messages if SW.message(m) == m)
    assert not missing, f"no Swahili for: {missing}"
    assert all(EN.message(m) == m for m in messages)


def test_a_message_with_values_keeps_them_in_swahili():
    assert SW.message(str(RateLimited(42))) == "Umejaribu mara nyingi mno. Jaribu tena baada ya sekunde 42."
    assert SW.message("phone is not valid") == "phone si sahihi"
    assert SW.message("a sentence nobody wrote down") == "a sentence nobody wrote down"  # English over nothing


def test_every_text_the_page_asks_for_exists():
    script = (ROOT / "web/static/portal.js").read_text()
    asked = set(re.findall(r'\bt\("([a-z_.]+)"', script)) - {"ended."}
    asked |= {f"ended.{status}" for status in ("cancelled", "failed", "expired")}  # t("ended." + p.status)
    asked |= {"package", "valid", "time_left", "data_left", "devices"}  # facts(): t(r[0])
    assert asked <= set(EN.js()), sorted(asked - set(EN.js()))
    templates = "".join(p.read_text() for p in (ROOT / "web/templates").glob("portal*.tpl"))
    templates += (ROOT / "web/portal_forms.py").read_text()
    for key in set(re.findall(r"""t\(['"]((?:page|js)\.[a-z_.]+)['"]""", templates)):
        assert key in EN.texts, key


@pytest.mark.parametrize("package, english, swahili", [
    ({"duration_s": 3600, "price": 20, "rate": "2M/5M", "data_limit": None},
     "1 hour · KES 20 · up to 5 Mbps", "Saa 1 · KES 20 · hadi Mbps 5"),
    ({"duration_s": 86400, "price": 50, "rate": "3M/6M", "data_limit": 3 * 10**9, "devices": 2},
     "1 day · KES 50 · up to 6 Mbps · 3 GB · 2 devices", "Siku 1 · KES 50 · hadi Mbps 6 · GB 3 · vifaa 2"),
    ({"duration_s": 1800, "price": 5, "rate": "512k", "data_limit": 500 * 10**6},
     "30 minutes · KES 5 · up to 512 kbps · 500 MB", "Dakika 30 · KES 5 · hadi kbps 512 · MB 500"),
    ({"duration_s": 9000, "price": 30, "rate": "", "data_limit": 1_500_000_000},
     "2 hours 30 minutes · KES 30 · 1.5 GB", "Saa 2 na dakika 30 · KES 30 · GB 1.5"),
    ({"duration_s": 7 * 86400, "price": 250, "rate": "5M/10M 8M/16M", "data_limit": None},
     "1 week · KES 250 · up to 10 Mbps", "Wiki 1 · KES 250 · hadi Mbps 10"),
    ({"duration_s": 10 * 86400, "price": 300, "rate": "1500k/2500k", "data_limit": None},
     "10 days · KES 300 · up to 2.5 Mbps", "Siku 10 · KES 300 · hadi Mbps 2.5"),
])
def test_packages_read_as_people_say_them(package, english, swahili):
    assert wording.package_line(package, EN) == english
    assert wording.package_line(package, SW) == swahili


@pytest.mark.parametrize("utc, swahili", [
    ((18, 40), "hadi leo saa 3:40 usiku (21:40)"),
    ((4, 0), "hadi leo saa 1:00 asubuhi (07:00)"),
    ((9, 30), "hadi leo saa 6:30 mchana (12:30)"),
    ((15, 15), "hadi leo saa 12:15 jioni (18:15)"),
    ((2, 0), "hadi leo saa 11:00 alfajiri (05:00)"),
])
def test_swahili_times_count_the_hours_from_sunrise(utc, swahili):
    now = datetime(2026, 11, 23, 0, 1, tzinfo=timezone.utc)  # 03:01 in Nairobi
    ends = datetime(2026, 11, 23, *utc, tzinfo=timezone.utc)
    assert wording.until(ends, now, NAIROBI, SW) == swahili


def test_expiry_is_today_tomorrow_or_a_date_in_the_sites_time_zone():
    now = datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc)  # 20:00 in Nairobi
    assert wording.until(now + timedelta(hours=1, minutes=40), now, NAIROBI, EN) == "until 21:40 today"
    assert wording.until(now + timedelta(hours=5), now, NAIROBI, EN) == "until 01:00 tomorrow"
    assert wording.until(now + timedelta(hours=5), now, NAIROBI, SW) == "hadi kesho saa 7:00 usiku (01:00)"
    assert wording.until(now + timedelta(days=3), now, NAIROBI, EN) == "until 26 Nov, 20:00"
    assert wording.until(now + timedelta(days=3), now, NAIROBI, SW) == "hadi tarehe 26 Novemba, saa 2:00 usiku (20:00)"
    assert wording.duration(59, EN) == "under a minute" and wording.duration(0, SW) == "dakika 0"


@pytest.mark.parametrize("header, lang", [
    ("sw-KE,sw;q=0.9,en-US;q=0.8", "sw"), ("en-US,en;q=0.9,sw;q=0.8", "en"), ("fr-FR,fr", "en"),
    ("sw;q=0.5, en;q=0.4", "sw"), ("en;q=0.5, sw", "sw"), ("", "en"), (None, "en"), ("sw;q=abc,,;;", "en"),
    ("x" * 5000, "en"),
])
def test_the_language_comes_from_the_browser_when_not_chosen(header, lang):
    assert language.from_accept_language(header) == lang


def test_a_chosen_language_sticks_over_the_browsers():
    assert language.choose("sw", None, "en") == ("sw", True)  # chosen now: remember it
    assert language.choose(None, "sw", "en") == ("sw", False)  # remembered
    assert language.choose("en", "sw", "sw") == ("en", True)
    assert language.choose("xx", "yy", "sw-KE") == ("sw", False)  # nonsense is ignored


def test_the_scripts_texts_fit_in_the_page():
    assert len(json.dumps(SW.js())) < 8000
