"""Alerts sent by the real worker process to a webhook and a Telegram bot (one local HTTP
receiver standing in for both): one message when a condition starts, one when it clears."""

from __future__ import annotations

import pytest

from hotspotd import config as config_mod
from hotspotd.plumbing.queue import Queue
from hotspotd.sim.daraja import DarajaSimulator
from hotspotd.store.db import db, open_database, utcnow, write_transaction
from hotspotd.store.models import FailedTask

from ..alert_receiver import CHAT, TOKEN, Receiver
from .site import Site, wait_for

pytestmark = pytest.mark.e2e


def about(receiver: Receiver, channel: str, key: str) -> list[dict]:
    if channel == "webhook":
        return [body["state"] for body in receiver.got("webhook") if body["key"] == key]
    return [body["text"].split(":")[0] for body in receiver.got("telegram") if "failed for good" in body["text"]
            or "no failed tasks" in body["text"]]


def test_the_worker_raises_and_clears_an_alert_once_on_both_channels(tmp_path):
    with DarajaSimulator() as sim, Receiver() as receiver:
        site = Site(tmp_path, sim.url, alerts={
            "webhook_url": receiver.url + "/hook", "telegram_api_url": receiver.url, "telegram_bot_token": TOKEN,
            "telegram_chat_id": CHAT, "check_interval": "1"})
        config = config_mod.load(site.config_path)
        open_database(config.app_db_path)
        try:
            site.start("worker")
            with write_transaction():  # a task that used up its retries
                FailedTask.create(task="reconcile", args=[], error="RuntimeError: boom", attempts=1, failed_at=utcnow())
            db.close()
            wait_for(lambda: about(receiver, "webhook", "tasks.failed") == ["raised"], 30, "the raise on the webhook")
            wait_for(lambda: len(about(receiver, "telegram", "tasks.failed")) == 1, 30, "the raise on Telegram")
            raised = receiver.got("telegram")[-1]["text"]
            assert raised.startswith("[Hotspot] ALERT: 1 task failed for good (reconcile x1)")
            site.cli("queue", "retry", "--all")  # the operator deals with it
            wait_for(lambda: about(receiver, "webhook", "tasks.failed") == ["raised", "cleared"], 30, "the clear")
            wait_for(lambda: len(about(receiver, "telegram", "tasks.failed")) == 2, 30, "the clear on Telegram")
            # a few more checks pass: nothing more is said about it
            queue = Queue(config.queue_db_path, [], None)
            seen = queue.last_reconciled()
            wait_for(lambda: (queue.last_reconciled() - seen).total_seconds() >= 3, 30, "three more passes")
            assert about(receiver, "webhook", "tasks.failed") == ["raised", "cleared"]
            assert len(about(receiver, "telegram", "tasks.failed")) == 2
        finally:
            site.stop()
            db.close()
