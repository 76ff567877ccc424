"""Where alert messages go: a webhook (a JSON POST) and a Telegram bot (Bot API sendMessage).

Each channel sends one message or raises `ChannelError` with a reason fit for the log and
the admin page. The Telegram token is part of the Bot API's URL, so no URL and no
exception text that might hold it is ever logged or stored: the token is cut out first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from ..config import Config
from ..plumbing.httpclient import RequestException, Session

log = logging.getLogger(__name__)


class ChannelError(Exception):
    """The channel did not take the message; the text says why (no secrets in it)."""


@dataclass(frozen=True)
class Outgoing:
    """One alert message as the channels send it."""

    message_id: int
    alert_id: int
    key: str
    kind: str
    action: str  # raised | cleared
    text: str
    at: str  # ISO-8601 UTC
    site_id: str
    site_name: str

    def as_json(self) -> dict[str, Any]:
        return {"site": self.site_id, "site_name": self.site_name, "alert_id": self.alert_id, "key": self.key,
                "kind": self.kind, "state": self.action, "text": self.text, "at": self.at,
                "message_id": self.message_id}


class Channel(Protocol):
    name: str

    def send(self, message: Outgoing) -> None: ...


class Webhook:
    name = "webhook"

    def __init__(self, url: str, timeout: float, session: Session) -> None:
        self.url = url
        self.timeout = timeout
        self.session = session

    def send(self, message: Outgoing) -> None:
        try:
            response = self.session.post(self.url, json=message.as_json(), timeout=self.timeout)
        except RequestException as exc:
            raise ChannelError(f"webhook unreachable: {exc}") from None
        if not 200 <= response.status_code < 300:
            raise ChannelError(f"webhook answered HTTP {response.status_code}")


class Telegram:
    name = "telegram"

    def __init__(self, api_url: str, token: str, chat_id: str, timeout: float, session: Session) -> None:
        self.url = f"{api_url}/bot{token}/sendMessage"
        self.token = token
        self.chat_id = chat_id
        self.timeout = timeout
        self.session = session

    def send(self, message: Outgoing) -> None:
        body = {"chat_id": self.chat_id, "text": message.text, "disable_web_page_preview": True}
        try:
            response = self.session.post(self.url, json=body, timeout=self.timeout)
        except RequestException as exc:  # its text never holds the URL, so never the token
            raise ChannelError(f"Telegram unreachable: {exc}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code == 200 and isinstance(answer, dict) and answer.get("ok") is True:
            return
        description = str(answer.get("description", "")) if isinstance(answer, dict) else ""
        raise ChannelError(f"Telegram answered HTTP {response.status_code}: {description}"
                           .replace(self.token, "***")[:300])


def configured(config: Config, session: Session) -> list[Channel]:
    """The channels the config turns on (none: alerts are recorded, not sent)."""
    a = config.alerts
    found: list[Channel] = []
    if a.webhook_url:
        found.append(Webhook(a.webhook_url, a.timeout, session))
    if a.telegram_bot_token and a.telegram_chat_id:
        found.append(Telegram(a.telegram_api_url, a.telegram_bot_token, a.telegram_chat_id, a.timeout, session))
    return found
