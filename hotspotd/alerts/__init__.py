"""Alerts: tell someone when the site needs help, once when it starts and once when it is over.

The worker's ticker runs `tick()` every `[alerts] check_interval` seconds: the conditions
(`conditions.py`) are evaluated, alerts raised and cleared in the store with their
`alert.raised` / `alert.cleared` events and a message each (`state.py`). `send_due()`
(a task of its own) delivers the messages to the webhook and/or Telegram
(`channels.py`), at most `[alerts] max_per_hour` an hour; a message a channel refused is
tried again with a growing pause, up to a day. Nothing here blocks payments or RADIUS:
sending runs in a worker thread, and a dead channel only delays its own messages.

    conditions.py  what needs a person (a question asked of the store at `now`)
    state.py       alerts and messages in the store
    channels.py    webhook and Telegram
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..store.models import iso
from . import conditions, state
from .conditions import SyncState

if TYPE_CHECKING:
    from ..plumbing.clock import Reading
    from .channels import Channel

log = logging.getLogger(__name__)

__all__ = ["Checked", "SyncState", "central_sync_state", "check", "send_due", "tick", "recent"]


def central_sync_state(config: Config) -> SyncState | None:
    """Central sync's state for the `sync` condition (from the sync record); None while sync is off."""
    if not config.central.url:
        return None
    from ..sync import state as sync_state

    row = sync_state.load()
    return SyncState(last_success=row.last_success_at, last_error=row.last_error)


@dataclass(frozen=True)
class Checked:
    """What a check did: the alerts it raised and cleared (keys), and the messages due to be sent."""

    raised: list[str]
    cleared: list[str]
    due: int


def tick(now: datetime, config: Config, clock: Reading | None = None) -> Checked:
    """The worker's alerts pass at `now`: `check` with central sync's state from its record,
    the disk as it is and the site clock's reading."""
    return check(now, config, sync_state=central_sync_state(config), clock=clock)


def check(now: datetime, config: Config, *, sync_state: SyncState | None = None,
          free_percent: float | None = None, clock: Reading | None = None) -> Checked:
    """Raise and clear alerts as things stand at `now` (`sync_state`: None when sync is off;
    `free_percent`: measured when not given; `clock`: the site clock's reading)."""
    failing_since = state.get_setting_time(conditions.SYNC_FAILING_SINCE)
    failing = sync_state is not None and sync_state.last_error is not None
    if failing and failing_since is None:
        failing_since = now
        state.set_setting_time(conditions.SYNC_FAILING_SINCE, now, now)
    elif not failing and failing_since is not None:
        failing_since = None
        state.set_setting_time(conditions.SYNC_FAILING_SINCE, None, now)
    holding = conditions.evaluate(now, config, sync_state=sync_state, sync_failing_since=failing_since,
                                  free_percent=free_percent, clock=clock)
    a = config.alerts
    deliver = bool(a.webhook_url or (a.telegram_bot_token and a.telegram_chat_id))  # a channel to send to
    raised, cleared = state.apply(holding, now, site=config.site.name, deliver=deliver)
    messages = {condition.key: condition.message for condition in holding}
    for key in raised:
        log.warning("alert raised: %s: %s", key, messages[key])
    for key in cleared:
        log.info("alert cleared: %s", key)
    return Checked(raised, cleared, state.due(now))


@dataclass
class SendReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    held: int = 0  # due but over the hourly limit


def send_due(now: datetime, config: Config, channels: list[Channel] | None = None) -> SendReport:
    """Deliver the messages due at `now`, within the hourly limit."""
    # Only the worker sends; the admin role, which lists alerts, never loads the HTTP client.
    from ..plumbing.httpclient import Session
    from .channels import ChannelError, Outgoing, configured

    report = SendReport()
    with Session() as session:
        chosen = configured(config, session) if channels is None else channels
        if not chosen:  # the channels were taken out of the config: nowhere to send what waits
            state.skip_due(now)
            return report
        budget = config.alerts.max_per_hour - state.sent_since(now - timedelta(hours=1))
        hold = timedelta(seconds=config.alerts.timeout * max(1, len(chosen)) * 2 + 30)
        for message in state.claim(now, budget, hold):
            alert = message.alert
            outgoing = Outgoing(message.id, alert.id, alert.key, alert.kind, message.action, message.text,
                                iso(message.created_at), config.site.id, config.site.name)
            done, errors = list(message.channels), []
            for channel in chosen:
                if channel.name in done:
                    continue
                try:
                    channel.send(outgoing)
                    done.append(channel.name)
                except ChannelError as exc:
                    errors.append(str(exc))
            status = state.record_attempt(message, done, "; ".join(errors) or None, now)
            {"sent": report.sent, "pending": report.retrying, "failed": report.failed}[status].append(message.id)
            if errors:
                log.warning("alert message %d not delivered (%s): %s", message.id, status, "; ".join(errors))
    report.held = state.due(now)
    return report


def recent(limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """The latest alerts, newest first, with their messages (for the admin page)."""
    return state.recent(limit, offset)


def listed(page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    """A page of alerts for the console (newest first) and how many there are in all."""
    return state.recent(per_page, (page - 1) * per_page), state.count()
