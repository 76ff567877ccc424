"""`hotspotd mpesa register-c2b` against the Daraja simulator, and `mpesa unmatched`."""

import json
from datetime import datetime, timezone

import pytest

from hotspotd import cli
from hotspotd.billing import c2b
from hotspotd.billing.callbacks import Incoming
from hotspotd.sim.daraja import SANDBOX_PASSKEY
from hotspotd.sim.daraja.wire import c2b_body, masked_msisdn

TOKEN = "cli-token-0123456789abcdef"


@pytest.fixture
def ini(tmp_path, make_sim):
    sim = make_sim()
    path = tmp_path / "hotspotd.ini"
    path.write_text(f"[site]\nstate_dir = {tmp_path / 'state'}\n[portal]\npublic_url = https://wifi.example.test\n"
                    f"[mpesa]\nbase_url = {sim.url}\nconsumer_key = sim-key\nconsumer_secret = sim-secret\n"
                    f"passkey = {SANDBOX_PASSKEY}\ncallback_token = {TOKEN}\npaybill = 600984\n")
    assert cli.main(["--config", str(path), "init"]) == 0
    return str(path), sim


def test_register_c2b_registers_both_urls_for_the_paybill_and_hides_the_token(ini, capsys):
    path, sim = ini
    assert cli.main(["--config", path, "mpesa", "register-c2b"]) == 0
    out = capsys.readouterr().out
    assert "Paybill 600984: Daraja took the URLs" in out and TOKEN not in out and "cli-…" in out
    assert sim.c2b.registrations["600984"] == {
        "ConfirmationURL": f"https://wifi.example.test/api/payments/c2b-confirmation/{TOKEN}",
        "ValidationURL": f"https://wifi.example.test/api/payments/c2b-validation/{TOKEN}",
        "ResponseType": "Completed", "version": "v2"}
    assert cli.main(["--config", path, "mpesa", "register-c2b", "--response-type", "Cancelled", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["short_code"] == "600984" and shown["response_type"] == "Cancelled"
    assert sim.c2b.registrations["600984"]["ResponseType"] == "Cancelled"


def test_register_c2b_says_what_daraja_refused(ini, capsys):
    path, sim = ini
    sim.c2b.register_once = True
    assert cli.main(["--config", path, "mpesa", "register-c2b"]) == 0
    capsys.readouterr()
    assert cli.main(["--config", path, "mpesa", "register-c2b"]) == 1
    assert "already registered" in capsys.readouterr().err


def test_unmatched_lists_paybill_money_for_the_operator(ini, capsys):
    path, _ = ini
    now = datetime.now(timezone.utc)
    body = json.dumps(c2b_body(trans_id="RKL51ZDR4F", when=now, amount=30, short_code="600984", bill_ref="9999999",
                               msisdn=masked_msisdn("254712345126"))).encode()
    c2b.record_confirmations([Incoming(body, None, now)])
    assert cli.main(["--config", path, "mpesa", "unmatched", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["receipt"], row["account"], row["amount"], row["reason"]) == ("RKL51ZDR4F", "9999999", 30,
                                                                            "unknown account number")
    assert row["id"] and "345" not in row["msisdn"]


def test_register_pull_registers_the_paybill_once_and_says_so_the_second_time(ini, capsys):
    path, sim = ini
    assert cli.main(["--config", path, "mpesa", "register-pull", "--nominated-number", "0722 000 000"]) == 0
    out = capsys.readouterr().out
    assert "Paybill 600984 is registered for Pull Transactions" in out and "every 300 s" in out
    assert sim.pull.registrations["600984"] == {
        "NominatedNumber": "254722000000",
        "CallBackURL": f"https://wifi.example.test/api/payments/c2b-confirmation/{TOKEN}"}
    assert cli.main(["--config", path, "mpesa", "register-pull", "--nominated-number", "0722000000", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["already_registered"] is True and shown["status"] == "1001" and TOKEN not in shown["callback_url"]


def test_register_pull_refuses_a_number_that_is_not_a_phone(ini, capsys):
    path, sim = ini
    assert cli.main(["--config", path, "mpesa", "register-pull", "--nominated-number", "12"]) == 1
    assert "Kenyan mobile number" in capsys.readouterr().err and sim.pull.registrations == {}
