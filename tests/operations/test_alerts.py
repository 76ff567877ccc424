"""Alerts with a clock passed in: each condition raises and clears, one message each way,
delivered to a real HTTP receiver on loopback (webhook and Telegram), with retries and a
limit per hour."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hotspotd import alerts, config as config_mod, events
from hotspotd.console.admins import add_admin
from hotspotd.alerts import SyncState, conditions
from hotspotd.router import add_router
from hotspotd.store import init_store
from hotspotd.store.db import db, write_transaction
from hotspotd.store.models import Alert, AlertMessage, Event, FailedTask, HealthLog, Router

from ..alert_receiver import CHAT, TOKEN, Receiver
from ..test_web_apps import call

PLENTY = 50.0  # percent free on the disk: no disk alert unless a test asks for one


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


def alert_config(tmp_path, receiver=None, **alerts_section):
    section = {"max_per_hour": "20", **alerts_section}
    if receiver is not None:
        section.update(webhook_url=receiver.url + "/hook", telegram_api_url=receiver.url,
                       telegram_bot_token=TOKEN, telegram_chat_id=CHAT)
    return config_mod.load(None, overrides={"site": {"state_dir": str(tmp_path / "state"), "name": "Kibanda",
                                                     "id": "kib-1"}, "alerts": section})


@pytest.fixture
def site(tmp_path, receiver):
    config = alert_config(tmp_path, receiver)
    init_store(config)
    yield config
    db.close()


def opened() -> list[str]:
    return [a.key for a in Alert.select().where(Alert.cleared_at.is_null()).order_by(Alert.key)]


def test_each_condition_raises_and_clears(site, now):
    check = lambda at, **kw: alerts.check(at, site, free_percent=kw.pop("free", PLENTY), **kw)  # noqa: E731
    with write_transaction():
        events.emit("system.critical", {"component": "queue", "message": "task queue unavailable"}, now)
        FailedTask.create(task="provision_subscriptions", args=[[1]], error="boom", attempts=6, failed_at=now)
        for minute in range(5):  # [alerts] restart_loop_count
            HealthLog.create(at=now - timedelta(minutes=minute), component="portal", level="info",
                             message="started (pid 1)")
    router = add_router("gate", "10.5.50.1", "long-shared-secret", now=now - timedelta(days=1))
    Router.update(status="offline", last_seen_at=now - timedelta(minutes=9)).execute()
    sync = SyncState(last_success=now - timedelta(hours=7), last_error="central answered 502")
    check(now, free=4.0, sync_state=sync)
    assert opened() == ["critical:queue", "disk", "restarts:portal", "sync", "tasks.failed"]
    check(now + timedelta(minutes=2), sync_state=sync)  # the router has been offline 11 minutes now
    assert "router:%d" % router.id in opened() and "disk" not in opened()
    messages = {a.key: a.message for a in Alert.select()}
    assert messages["router:%d" % router.id].startswith("router gate offline for more than 10 min")
    assert "provision_subscriptions x1" in messages["tasks.failed"]
    assert messages["critical:queue"] == "queue: task queue unavailable"
    # everything gets better
    FailedTask.update(retried_at=now).execute()
    Router.update(status="online", last_seen_at=now).execute()
    later = now + timedelta(minutes=31)
    check(later, sync_state=SyncState(last_success=later, last_error=None))
    assert opened() == []
    assert Event.select().where(Event.type == "alert.raised").count() == 6
    assert Event.select().where(Event.type == "alert.cleared").count() == 6


def test_sync_that_never_succeeded_alerts_hours_after_it_was_first_seen_failing(site, now):
    failing = SyncState(last_success=None, last_error="connection refused")
    alerts.check(now, site, sync_state=failing, free_percent=PLENTY)
    alerts.check(now + timedelta(hours=5, minutes=59), site, sync_state=failing, free_percent=PLENTY)
    assert opened() == []
    alerts.check(now + timedelta(hours=6), site, sync_state=failing, free_percent=PLENTY)
    assert opened() == ["sync"] and "never synced: connection refused" in Alert.get().message
    assert conditions.sync_failing(None, now, now + timedelta(days=9), 6) == []  # sync off: nothing to say


def test_the_sync_condition_reads_the_sync_record(site, now):
    from hotspotd.sync import state as sync_state

    assert alerts.central_sync_state(site) is None  # [central] url not set: sync is off
    site.central.url = "https://central.example.com"
    sync_state.record_success(now - timedelta(hours=7), 300)
    sync_state.record_failure(now - timedelta(hours=1), "central answered 502", 1800)
    alerts.check(now, site, sync_state=alerts.central_sync_state(site), free_percent=PLENTY)
    assert opened() == ["sync"] and "central answered 502" in Alert.get().message
    sync_state.record_success(now, 300)
    alerts.check(now + timedelta(minutes=1), site, sync_state=alerts.central_sync_state(site), free_percent=PLENTY)
    assert opened() == []


def test_one_message_when_it_starts_one_when_it_clears_on_both_channels(site, receiver, now):
    for minute in range(5):  # the disk stays low for five checks
        alerts.check(now + timedelta(minutes=minute), site, free_percent=3.0)
        alerts.send_due(now + timedelta(minutes=minute), site)
    alerts.check(now + timedelta(minutes=5), site, free_percent=40.0)
    alerts.send_due(now + timedelta(minutes=5), site)
    alerts.check(now + timedelta(minutes=6), site, free_percent=40.0)
    alerts.send_due(now + timedelta(minutes=6), site)
    hooks, telegrams = receiver.got("webhook"), receiver.got("telegram")
    assert [h["state"] for h in hooks] == ["raised", "cleared"]
    assert hooks[0]["kind"] == "disk.low" and hooks[0]["site"] == "kib-1" and hooks[0]["key"] == "disk"
    assert hooks[0]["text"] == "[Kibanda] ALERT: the state folder's disk has 3% free (under 10%)"
    assert [t["chat_id"] for t in telegrams] == [CHAT, CHAT]
    assert [t["text"] for t in telegrams] == [h["text"] for h in hooks]
    assert telegrams[1]["text"] == "[Kibanda] OK: the state folder's disk has room again"


def test_a_channel_that_fails_is_retried_alone_with_growing_pauses(site, receiver, now):
    receiver.fail("webhook", times=2)
    alerts.check(now, site, free_percent=3.0)
    report = alerts.send_due(now, site)
    assert report.retrying and len(receiver.got("telegram")) == 1 and receiver.got("webhook") == []
    message = AlertMessage.get()
    assert message.channels == ["telegram"] and "webhook answered HTTP 500" in message.last_error
    assert alerts.send_due(now + timedelta(seconds=29), site).retrying == []  # not due yet
    alerts.send_due(now + timedelta(seconds=30), site)  # second failure: the pause doubles
    assert AlertMessage.get().next_attempt_at == now + timedelta(seconds=90)
    report = alerts.send_due(now + timedelta(seconds=90), site)
    assert report.sent == [message.id]
    assert len(receiver.got("webhook")) == 1 and len(receiver.got("telegram")) == 1  # nothing twice


def test_a_message_no_channel_takes_for_a_day_is_given_up(site, receiver, now):
    receiver.fail("telegram", times=1000, status=429)
    alerts.check(now, site, free_percent=3.0)
    at = now
    while AlertMessage.get().status == "pending":
        at = AlertMessage.get().next_attempt_at
        alerts.send_due(at, site)
    message = AlertMessage.get()
    assert message.status == "failed" and at - now >= timedelta(days=1)
    assert "Telegram answered HTTP 429: Too Many Requests" in message.last_error
    assert TOKEN not in message.last_error and len(receiver.got("webhook")) == 1


def test_at_most_max_per_hour_messages_the_rest_wait(tmp_path, receiver, now):
    config = alert_config(tmp_path, receiver, max_per_hour="2")
    init_store(config)
    with write_transaction():
        for component in ("a", "b", "c"):
            events.emit("system.critical", {"component": component, "message": "down"}, now)
    alerts.check(now, config, free_percent=PLENTY)
    report = alerts.send_due(now, config)
    assert len(report.sent) == 2 and report.held == 1
    assert alerts.send_due(now + timedelta(minutes=59), config).sent == []
    assert len(alerts.send_due(now + timedelta(minutes=61), config).sent) == 1
    assert len(receiver.got("webhook")) == 3


def test_a_clear_before_the_raise_went_out_sends_neither(site, receiver, now):
    receiver.fail("webhook", times=1)
    receiver.fail("telegram", times=1)
    alerts.check(now, site, free_percent=3.0)
    alerts.check(now + timedelta(minutes=1), site, free_percent=30.0)
    assert alerts.send_due(now + timedelta(minutes=1), site).sent == []
    assert [m.status for m in AlertMessage.select()] == ["skipped"]
    assert receiver.got("webhook") == [] and Alert.get().cleared_at is not None


def test_without_channels_alerts_are_recorded_not_sent(tmp_path, now):
    config = alert_config(tmp_path)
    init_store(config)
    assert alerts.check(now, config, free_percent=1.0).due == 0
    assert [(a.key, [m.status for m in a.messages]) for a in Alert.select()] == [("disk", ["skipped"])]


def test_the_admin_api_lists_alerts_and_their_messages(site, receiver, now):
    from hotspotd.console.actions import Console
    from hotspotd.plumbing.runtime import Runtime
    from hotspotd.web import admin

    from ..web.conftest import Client

    alerts.check(now, site, free_percent=3.0)
    alerts.send_due(now, site)
    add_admin("boss", "correct horse battery", now=now)
    app = admin.make_app(site, Console(Runtime(site)), extensions=[])
    assert call(app, "GET", "/api/admin/alerts")[0] == 401
    boss = Client(app)
    assert boss.login("boss", "correct horse battery") == 200
    status, body = boss.json("GET", "/api/admin/alerts?per_page=5")
    (alert,) = body["items"]
    assert status == 200 and alert["key"] == "disk" and alert["open"] is True
    assert [(m["action"], m["status"], m["channels"]) for m in alert["messages"]] == [
        ("raised", "sent", ["telegram", "webhook"])]


def test_messages_waiting_when_the_channels_are_taken_out_are_skipped(site, receiver, tmp_path, now):
    receiver.fail("webhook", times=1)
    alerts.check(now, site, free_percent=3.0)
    alerts.send_due(now, site)  # telegram took it, the webhook did not
    without = alert_config(tmp_path)
    assert alerts.send_due(now + timedelta(minutes=5), without).sent == []
    message = AlertMessage.get()
    assert message.status == "skipped" and message.last_error == "no alert channel configured"
