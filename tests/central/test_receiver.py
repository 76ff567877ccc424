"""The receiver, in-process, on SQLite and on PostgreSQL (every test runs on both): it
stores what a site signed once, refuses everything else and stores nothing of it."""

from __future__ import annotations

import gzip
import json
import time

import pytest

from hotspotd.central import configlog
from hotspotd.central.sites import add_site
from hotspotd.central.store import Event, Site
from hotspotd.web.central import make_app

from ..loopback import free_port
from .wire import T0, batch, call, events, pull, push


@pytest.fixture
def app(receiver, config):
    return make_app(config, receiver)


@pytest.fixture
def site(central_store):
    return add_site(central_store, "Cafe Kilimani", T0)


def stored(site_id: str) -> list[int]:
    return sorted(e.event_id for e in Event.select(Event.event_id).where(Event.site == site_id))


def test_a_signed_batch_is_stored_once_and_acknowledged(app, site):
    status, _, answer = push(app, site.site_id, site.site_key, batch(events(1, 50)))
    assert (status, answer) == (200, {"acknowledged": 50, "stored": 50, "duplicates": 0})
    # the box did not hear the answer and sends the same events again (a new request)
    status, _, answer = push(app, site.site_id, site.site_key, batch(events(1, 60)))
    assert (status, answer) == (200, {"acknowledged": 60, "stored": 10, "duplicates": 50})
    assert stored(site.site_id) == list(range(1, 61))
    row = Site.get_by_id(site.site_id)
    assert row.last_event_id == 60 and row.last_seen_at is not None and row.waiting == 0


def test_events_keep_what_the_box_sent(app, site):
    evt = {"id": 7, "type": "payment.processed", "at": "2026-11-23T08:00:00.000001Z",
           "data": {"payment_id": 3, "amount": 50, "receipt": "SKN3XY12AB", "phone": "2547*****678"}}
    assert push(app, site.site_id, site.site_key, batch([evt]))[0] == 200
    row = Event.get(Event.event_id == 7)
    assert (row.type, json.loads(row.data), row.amount) == ("payment.processed", evt["data"], 50)
    assert row.at.isoformat() == "2026-11-23T08:00:00.000001+00:00"


def test_a_heartbeat_reports_status_and_acknowledges_what_central_has(app, site):
    push(app, site.site_id, site.site_key, batch(events(1, 5)))
    status, _, answer = push(app, site.site_id, site.site_key,
                             batch([], status={"sessions_open": 4, "routers_online": 1, "routers_total": 2}))
    assert (status, answer) == (200, {"acknowledged": 5, "stored": 0, "duplicates": 0})
    assert Site.get_by_id(site.site_id).status["sessions_open"] == 4


def test_the_site_is_the_one_that_signed_whatever_the_body_says(app, site, central_store):
    other = add_site(central_store, "Cafe Westlands", T0)
    untouched = Site.get_by_id(other.site_id)
    body = json.loads(gzip.decompress(batch(events(1, 5))))
    body.update(site=other.site_id, site_id=other.site_id)  # a box (or a thief of its key) naming another site
    status, _, answer = push(app, site.site_id, site.site_key, gzip.compress(json.dumps(body).encode()))
    assert status == 200 and answer["acknowledged"] == 5  # stored, under the site whose key signed it
    assert stored(site.site_id) == [1, 2, 3, 4, 5] and Site.get_by_id(site.site_id).last_event_id == 5
    assert stored(other.site_id) == []
    after = Site.get_by_id(other.site_id)
    assert (after.last_seen_at, after.outbox, after.last_event_id, after.waiting, after.status) == (
        untouched.last_seen_at, untouched.outbox, untouched.last_event_id, untouched.waiting, untouched.status)


def test_a_rebuilt_box_whose_ids_start_again_is_not_taken_for_a_resend(app, site):
    push(app, site.site_id, site.site_key, batch(events(1, 5), outbox="old-box"))
    status, _, answer = push(app, site.site_id, site.site_key, batch(events(1, 3), outbox="new-box"))
    assert (status, answer["stored"]) == (200, 3)
    assert Event.select().where(Event.site == site.site_id).count() == 8


@pytest.mark.parametrize("spoil", ["signature", "body", "key", "path"])
def test_a_bad_signature_is_refused_and_nothing_stored(app, site, spoil):
    body = batch(events(1, 10))
    from hotspotd.sync import protocol

    headers = protocol.signed_headers(site.site_key, site.site_id, "POST", protocol.EVENTS_PATH, body, time.time())
    headers["Content-Encoding"] = "gzip"
    if spoil == "signature":
        headers[protocol.SIGNATURE_HEADER] = "0" * 64
    elif spoil == "body":
        body = batch(events(1, 11))
    elif spoil == "key":
        headers = protocol.signed_headers("not-the-key", site.site_id, "POST", protocol.EVENTS_PATH, body,
                                          time.time())
        headers["Content-Encoding"] = "gzip"
    elif spoil == "path":
        headers = protocol.signed_headers(site.site_key, site.site_id, "POST", "/api/sync/v1/other", body,
                                          time.time())
        headers["Content-Encoding"] = "gzip"
    status, _, answer = call(app, "POST", protocol.EVENTS_PATH, body, headers)
    assert status == 401 and "signature" in answer["error"]
    assert stored(site.site_id) == []


def test_an_unsigned_request_is_refused(app, site):
    status, _, answer = call(app, "POST", "/api/sync/v1/events", batch(events(1, 1)), {"Content-Encoding": "gzip"})
    assert status == 401 and "unsigned" in answer["error"]
    assert stored(site.site_id) == []


def test_an_unknown_site_is_refused(app, site):
    status, _, answer = push(app, "no-such-site", site.site_key, batch(events(1, 3)))
    assert status == 403 and "unknown site" in answer["error"]
    assert Event.select().count() == 0


@pytest.mark.parametrize("offset", [-301, 301])
def test_a_stale_or_future_timestamp_is_refused(app, site, offset):
    status, _, answer = push(app, site.site_id, site.site_key, batch(events(1, 3)), now=time.time() + offset)
    assert status == 401 and "clock" in answer["error"]
    assert stored(site.site_id) == []


def test_a_replayed_batch_is_refused(app, site):
    from hotspotd.sync import protocol

    body = batch(events(1, 3))
    headers = protocol.signed_headers(site.site_key, site.site_id, "POST", protocol.EVENTS_PATH, body, time.time())
    headers["Content-Encoding"] = "gzip"
    assert call(app, "POST", protocol.EVENTS_PATH, body, headers)[0] == 200
    Event.delete().execute()  # so that a replay that got through would show
    status, _, answer = call(app, "POST", protocol.EVENTS_PATH, body, headers)
    assert status == 409 and "replayed" in answer["error"]
    assert stored(site.site_id) == []


@pytest.mark.parametrize("body, message", [
    (b"not gzip", "gzip"),
    (gzip.compress(b"[1, 2]"), "object"),
    (gzip.compress(b'{"protocol": 2, "outbox": "x", "events": []}'), "protocol"),
    (gzip.compress(b'{"protocol": 1, "outbox": "x", "events": [{"id": 0, "type": "a", "at": "2026-11-23T00:00:00Z", '
                   b'"data": {}}]}'), "id"),
    (gzip.compress(b'{"protocol": 1, "outbox": "x", "events": [{"id": 1, "type": "a", "at": "yesterday", '
                   b'"data": {}}]}'), "ISO-8601"),
], ids=["not-gzip", "not-an-object", "protocol", "event-id", "event-time"])  # gzip bytes carry a time
def test_a_malformed_batch_is_refused_clearly(app, site, body, message):
    status, _, answer = push(app, site.site_id, site.site_key, body)
    assert status == 400 and message in answer["error"]
    assert stored(site.site_id) == []


def test_a_gzip_bomb_is_refused(app, site):
    bomb = gzip.compress(b'{"protocol": 1, "outbox": "x", "events": [], "pad": "' + b"0" * (65 * 1024 * 1024) + b'"}')
    status, _, answer = push(app, site.site_id, site.site_key, bomb)
    assert status == 400 and "too large" in answer["error"]


def test_a_site_pulls_its_changes_and_those_for_every_site_in_order(app, site, central_store):
    other = add_site(central_store, "Other Cafe", T0)
    package = configlog.add_package(central_store, name="1 day", price=50, duration="1d", now=T0)
    configlog.set_package(central_store, package.id, price=60, now=T0)
    configlog.issue_vouchers(central_store, other.site_id, package.id, 3, T0)
    codes = configlog.issue_vouchers(central_store, site.site_id, package.id, 2, T0)
    configlog.block_devices(central_store, ["aa-bb-cc-dd-ee-ff"], "stolen", None, T0)
    status, _, answer = pull(app, site.site_id, site.site_key, 0)
    assert status == 200 and answer["more"] is False
    kinds = [(c["kind"], c["data"].get("price")) for c in answer["changes"]]
    assert kinds == [("package.set", 50), ("package.set", 60), ("vouchers.issue", None), ("devices.block", None)]
    versions = [c["version"] for c in answer["changes"]]
    assert versions == sorted(versions) and answer["version"] == versions[-1]
    assert answer["changes"][2]["data"]["codes"] == sorted(codes)
    assert answer["changes"][3]["data"]["macs"] == ["AA:BB:CC:DD:EE:FF"]
    status, _, later = pull(app, site.site_id, site.site_key, versions[1])
    assert [c["version"] for c in later["changes"]] == versions[2:]
    assert Site.get_by_id(site.site_id).config_version == versions[1]  # the version the box reports it runs


def test_a_pull_must_be_signed_and_fresh(app, site):
    assert pull(app, site.site_id, "wrong key", 0)[0] == 401
    assert pull(app, site.site_id, site.site_key, 0, now=time.time() - 3600)[0] == 401
    assert call(app, "GET", "/api/sync/v1/config?have=0")[0] == 401


def test_settings_are_checked_before_they_go_out(central_store, site):
    from hotspotd.errors import InvalidInput

    with pytest.raises(InvalidInput):
        configlog.set_settings(central_store, {"timezone": "Mars/Olympus"}, None, T0)
    with pytest.raises(InvalidInput):
        configlog.set_settings(central_store, {"colour": "blue"}, None, T0)
    version = configlog.set_settings(central_store, {"notice": "Open 7-22", "full_phone_numbers": True},
                                     site.site_id, T0)
    assert version >= 1


def test_a_database_url_that_cannot_work_is_a_clear_config_error(tmp_path):
    from hotspotd.central.store import open_central_store
    from hotspotd.errors import ConfigError

    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="cannot make"):
        open_central_store(f"sqlite:///{tmp_path / 'file' / 'central.db'}")
    with pytest.raises(ConfigError, match="sqlite:///relative.db or sqlite:////absolute.db"):
        open_central_store("sqlite://central.db")
    with pytest.raises(ConfigError, match="cannot connect"):
        open_central_store(f"postgresql://nobody@127.0.0.1:{free_port()}/x")
