"""What needs the operator, in words: failed tasks and alerts as the System page shows them.

A failed task is stored as its name, its arguments and the exception's text
("RouterCommandRefused: /ip/hotspot/active/login: invalid user name or password"). Here it
becomes what the work was ("Logging a device in at the router"), whom it concerns (the
customer, device, router or payment named by its arguments) and what went wrong in a
sentence; the raw text stays beside it for whoever wants the details. Alerts get a
headline, what the console can do about them, and how their messages went, in words.
"""

from __future__ import annotations

from typing import Any

from .. import phone as phones
from ..store.models import Credential, Payment, Router, RouterSession, Subscription

# What each task does, in the operator's words.
WORK = {
    "apply_payments": "Giving a paying customer their time",
    "check_payment": "Asking M-Pesa about a payment",
    "provision_subscriptions": "Making a customer ready at the router",
    "remove_ended_users": "Removing a customer whose time ended from the router",
    "auto_login": "Logging a device in at the router after its payment",
    "auto_login_device": "Logging a device in at the router",
    "probe_router": "Checking a router",
    "refresh_sessions": "Reading who is online at a router",
    "kick_session": "Logging a session out at its router",
    "deploy_router": "Setting up a router",
    "catch_up_router": "Bringing a router up to date after it came back",
    "reconcile": "The regular look for unfinished work",
    "sync_central": "Sending this site's records to the central server",
    "check_alerts": "Looking for what needs an alert",
    "send_alerts": "Sending alert messages",
    "apply_retention": "Clearing out old records",
    "nightly_backup": "The nightly backup",
}

# The router's own words for a refused hotspot login, and what they mean (lower case, in
# the order they are tried; RouterOS's texts are not documented, so these are matched loosely).
ROUTER_SAYS = (
    ("invalid user", "the router does not know this customer's username or password (yet)"),
    ("invalid username", "the router does not know this customer's username or password (yet)"),
    ("no more sessions", "the customer already has as many devices online as the package allows"),
    ("too many", "the customer already has as many devices online as the package allows"),
    ("not responding", "the router could not reach hotspotd's RADIUS server"),
    ("radius", "the router could not reach hotspotd's RADIUS server"),
    ("limit", "the customer's time or data at the router is used up"),
    ("already", "the device was being logged in already"),
    ("no such", "the router no longer sees this device (it may have left the WiFi)"),
    ("not found", "the router no longer sees this device (it may have left the WiFi)"),
)

COMMANDS = {
    "/ip/hotspot/active/login": "The router would not log the device in",
    "/ip/hotspot/active/remove": "The router would not log the session out",
    "/ip/hotspot/user": "The router would not change the customer's login there",
    "/ppp/active/remove": "The router would not log the PPPoE session out",
}

ERRORS = {
    "RouterUnreachable": "The router did not answer: it may be switched off or unplugged, or its API service is off.",
    "RouterReplyTooLarge": "The router's answer was far too large; hotspotd stopped reading it.",
    "RouterLoginRefused": "The router refused hotspotd's API user name or password: check them on the Routers page.",
    "RouterNotReady": "The router is not ready for hotspotd yet (see its deploy steps on the Routers page).",
    "UpstreamError": "M-Pesa (Daraja) did not answer, or refused the request.",
    "StorageUnavailable": "The database could not be written (busy, or the disk is full).",
    "OperationalError": "The database could not be written (busy, or the disk is full).",
    "NotFound": "What it was about no longer exists (it was removed meanwhile).",
    "Conflict": "It no longer applies (what it was about changed meanwhile).",
    "TimeoutError": "A connection took too long and was given up.",
    "ConnectionError": "A network connection failed.",
    "ConnectionRefusedError": "A network connection was refused.",
    "OSError": "The system refused an operation (a file, the disk or the network).",
}
UNKNOWN = "Something unexpected went wrong; the details below say what."


def explain_error(error: str) -> str:
    """A sentence for an exception's stored text ("ClassName: message")."""
    name, _, rest = (error or "").partition(": ")
    if name == "RouterCommandRefused":
        command, _, said = rest.partition(": ")
        what = next((text for prefix, text in COMMANDS.items() if command.startswith(prefix)),
                    "The router refused a command")
        meaning = next((text for needle, text in ROUTER_SAYS if needle in said.lower()), None)
        return f"{what}: {meaning}." if meaning else f"{what}; it said “{said.strip() or 'nothing'}”."
    return ERRORS.get(name, UNKNOWN)


def _customer_label(customer_id: int | None, phone: str | None) -> str:
    credential = Credential.get_or_none(Credential.customer == customer_id) if customer_id else None
    if credential and phone:
        return f"{credential.username} ({phones.mask(phone)})"
    return credential.username if credential else (phones.mask(phone) if phone else f"customer {customer_id}")


def _payment(payment_id: Any) -> list[dict[str, Any]]:
    p = Payment.get_or_none(Payment.id == payment_id) if isinstance(payment_id, int) else None
    if p is None:
        return [{"kind": "payment", "label": f"payment {payment_id} (no longer recorded)"}]
    name = p.receipt or (f"Paybill account {p.account}" if p.account else phones.mask(p.phone) or p.ref)
    found = [{"kind": "payment", "label": f"payment {name}, KES {p.amount}", "payment_id": p.id}]
    if p.customer_id:
        found.append({"kind": "customer", "label": _customer_label(p.customer_id, p.phone),
                      "customer_id": p.customer_id})
    if p.mac:
        found.append({"kind": "device", "label": p.mac + (f" · {p.ip}" if p.ip else "")})
    return found


def _subscription(subscription_id: Any, mac: str | None = None, ip: str | None = None) -> list[dict[str, Any]]:
    s = Subscription.get_or_none(Subscription.id == subscription_id) if isinstance(subscription_id, int) else None
    if s is None:
        return [{"kind": "customer", "label": f"subscription {subscription_id} (no longer recorded)"}]
    found = [{"kind": "customer", "label": f"{_customer_label(s.customer_id, s.customer.phone)} · {s.package.name}",
              "customer_id": s.customer_id}]
    device = mac or s.mac
    if device:
        found.append({"kind": "device", "label": device + (f" · {ip}" if ip else "")})
    return found


def _router(router_id: Any) -> list[dict[str, Any]]:
    r = Router.get_or_none(Router.id == router_id) if isinstance(router_id, int) else None
    return [{"kind": "router", "label": f"router {r.name}" if r else f"router {router_id} (removed)",
             "router_id": r.id if r else None}]


def _live_session(live_id: Any) -> list[dict[str, Any]]:
    s = RouterSession.get_or_none(RouterSession.id == live_id) if isinstance(live_id, int) else None
    if s is None:
        return [{"kind": "session", "label": f"a session that has ended since (#{live_id})"}]
    return [{"kind": "session", "label": f"{s.user} ({s.kind})"},
            *([{"kind": "device", "label": s.mac}] if s.mac else []), *_router(s.router_id)]


def _ids(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def subjects(task: str, args: list[Any]) -> list[dict[str, Any]]:
    """Whom a task's arguments concern: [{kind, label, and payment_id/customer_id/router_id}]."""
    args = list(args or [])
    if not args:
        return []
    first = args[0]
    if task in ("apply_payments", "check_payment", "auto_login"):
        return [s for pid in _ids(first)[:5] for s in _payment(pid)]
    if task in ("provision_subscriptions", "remove_ended_users"):
        return [s for sid in _ids(first)[:5] for s in _subscription(sid)]
    if task == "auto_login_device":
        return _subscription(first, *(args[1:3] + [None, None])[:2])
    if task in ("probe_router", "refresh_sessions", "deploy_router", "catch_up_router"):
        return _router(first)
    if task == "kick_session":
        return _live_session(first)
    return []


def explain_failed(row: dict[str, Any]) -> dict[str, Any]:
    """A failed task (from `reports.failed_tasks`) with `work`, `subjects` and `problem` added."""
    return {**row, "work": WORK.get(row["task"], row["task"].replace("_", " ").capitalize()),
            "subjects": subjects(row["task"], row.get("args") or []), "problem": explain_error(row.get("error", ""))}


# -- alerts

def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _delivery(message: dict[str, Any], channels_configured: bool) -> str:
    what = "The alert" if message["action"] == "raised" else "The all-clear"
    status = message["status"]
    if status == "sent":
        via = ", ".join(message.get("channels") or [])
        return f"{what} was sent" + (f" ({via})." if via else ".")
    if status == "pending":
        tries = message.get("attempts") or 0
        return f"{what} is waiting to be sent" + (f" (tried {tries} {'time' if tries == 1 else 'times'})." if tries else ".")
    if status == "failed":
        return f"{what} could not be sent: {message.get('last_error') or 'no reason given'}."
    if channels_configured:
        return f"{what} was not sent: it was over before it went out."
    return (f"{what} was not sent: no alert channel is set up (a webhook or a Telegram chat in the "
            "[alerts] part of the config file).")


def explain_alert(alert: dict[str, Any], *, channels_configured: bool, failed_waiting: int = 0) -> dict[str, Any]:
    """An alert (from `alerts.listed`) with `headline`, `action` and `delivery` (sentences) added.

    `action`: what the console offers: {"kind": "retry_all"} (the failed tasks), or a page
    to open ({"kind": "open", "href", "label"}), or None."""
    kind, message = alert["kind"], alert["message"]
    action: dict[str, Any] | None = None
    if kind == "tasks.failed":
        waiting = failed_waiting if alert["open"] else None
        headline = ("Background work gave up after all its retries"
                    + (f": {waiting} {'task waits' if waiting == 1 else 'tasks wait'} for you below." if waiting
                       else "."))
        if alert["open"] and failed_waiting:
            action = {"kind": "retry_all", "label": "Retry all failed tasks"}
    elif kind == "router.offline":
        headline = _first_upper(message.split(" (")[0]) + "."
        action = {"kind": "open", "href": "/routers", "label": "Open Routers"}
    elif kind == "role.restarting":
        headline = _first_upper(message.split(" (journalctl")[0]) + "."
    elif kind == "system.critical":
        component, _, said = message.partition(": ")
        headline = f"A serious problem in the {component} part of hotspotd: {said or component}"
    elif kind == "disk.low":
        headline = _first_upper(message) + ": delete old files or backups, or use a larger card."
    elif kind == "sync.failing":
        headline = _first_upper(message.replace("central sync", "sending records to the central server", 1))
    else:
        headline = _first_upper(message)
    delivery = " ".join(_delivery(m, channels_configured) for m in alert.get("messages", []))
    return {**alert, "headline": headline, "action": action, "delivery": delivery}
