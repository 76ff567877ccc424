"""What leaves the box: withheld fields, masked phone numbers unless central asks, the
signing rules, and the backoff."""

from __future__ import annotations

import json

import pytest

from hotspotd import events
from hotspotd.store.db import utcnow, write_transaction
from hotspotd.store.models import Package, Payment, Setting
from hotspotd.sync import outbox, protocol
from hotspotd.sync.protocol import SignatureRefused, SignedRequest
from hotspotd.sync.state import backoff


def _payment(phone: str) -> int:
    now = utcnow()
    package = Package.create(name="Hour", price=10, duration_s=3600, created_at=now)
    return Payment.create(ref="r1", package=package, phone=phone, amount=10, status="paid", created_at=now,
                          updated_at=now).id


def _wire(full: bool) -> list[dict]:
    return [json.loads(text) for text in outbox.wire_events(outbox.read_batch(0), full_phones=full)]


def test_passwords_and_secrets_never_leave_and_phones_stay_masked(store):
    payment_id = _payment("254712345678")
    with write_transaction():
        events.emit("payment.processed", {"payment_id": payment_id, "amount": 10, "receipt": "SKN1",
                                          "phone": "254712345678"}, utcnow())
        events.emit("system.critical", {"component": "x", "message": "m", "password": "hunter2",
                                        "api_password": "p", "secret": "s"}, utcnow())
    sent = _wire(full=False)
    assert sent[0]["data"]["phone"] == "2547*****678"
    assert sent[1]["data"] == {"component": "x", "message": "m"}
    assert [e["id"] for e in sent] == [1, 2] and sent[0]["type"] == "payment.processed"
    assert "hunter2" not in json.dumps(sent)


def test_full_phone_numbers_only_when_central_asks(store):
    payment_id = _payment("254712345678")
    with write_transaction():
        events.emit("payment.processed", {"payment_id": payment_id, "amount": 10, "phone": "254712345678"}, utcnow())
    assert not outbox.full_phone_numbers()
    Setting.create(key=outbox.FULL_PHONES_KEY, value=True, updated_at=utcnow())
    assert outbox.full_phone_numbers()
    assert _wire(full=True)[0]["data"]["phone"] == "254712345678"


def test_a_signature_covers_the_headers_and_every_body_byte():
    headers = protocol.signed_headers("k", "site", "POST", "/p", b"body", 1000.0)
    request = SignedRequest.from_headers("POST", "/p", headers, b"body")
    request.verify("k", 1000.0, 300)
    for spoilt in (SignedRequest.from_headers("POST", "/p", headers, b"bodY"),
                   SignedRequest.from_headers("POST", "/q", headers, b"body"),
                   SignedRequest.from_headers("GET", "/p", headers, b"body"),
                   SignedRequest.from_headers("POST", "/p", {**headers, protocol.SITE_HEADER: "other"}, b"body"),
                   SignedRequest.from_headers("POST", "/p", {**headers, protocol.NONCE_HEADER: "00"}, b"body")):
        with pytest.raises(SignatureRefused, match="bad signature"):
            spoilt.verify("k", 1000.0, 300)
    with pytest.raises(SignatureRefused, match="behind"):
        request.verify("k", 1301.0, 300)
    assert protocol.signed_headers("k", "s", "POST", "/p", b"", 1)[protocol.NONCE_HEADER] != headers[
        protocol.NONCE_HEADER]


def test_a_batch_round_trips():
    body = protocol.encode_raw({"protocol": 1, "outbox": "o"}, ['{"id":1,"type":"t","at":"x","data":{}}'])
    assert protocol.decode(body) == {"protocol": 1, "outbox": "o", "events": [{"id": 1, "type": "t", "at": "x",
                                                                              "data": {}}]}


@pytest.mark.parametrize("failures, low, high", [(1, 7.5, 15), (2, 15, 30), (3, 30, 60), (8, 900, 1800),
                                                 (30, 900, 1800)])
def test_backoff_doubles_to_the_cap_with_jitter(failures, low, high):
    assert backoff(failures, 1800, lambda: 0.0) == low
    assert backoff(failures, 1800, lambda: 1.0) == high
    assert low <= backoff(failures, 1800) <= high


def test_check_config_asks_for_the_site_id_and_key_with_a_central_url(tmp_path):
    from hotspotd import config as config_mod
    from hotspotd.errors import ConfigError

    config = config_mod.load(None, overrides={"central": {"url": "https://central.example.com"}})
    assert any("[central] site_id and site_key" in p for p in config.problems())
    with pytest.raises(ConfigError, match="receiver"):
        config_mod.load(None, overrides={"receiver": {"database": "mysql://x/y"}})
    default = config_mod.load(None, overrides={"site": {"state_dir": str(tmp_path)}}).receiver_database
    assert default == f"sqlite:///{tmp_path.resolve()}/central.db"
