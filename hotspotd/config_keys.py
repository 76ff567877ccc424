"""The config file's keys, one declarative table: section, key, default, parser, help.
It feeds loading (`hotspotd.config`), `check-config` and config.example.ini. (A `ConfigKey`
is a key of the INI file; `store.models.Setting` is a run-time setting an operator changes.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .config_values import (choice, database_url, digits, hour, int_at_least_0, ip_address, listen, optional_listen,
                            percent, port, positive_int, seconds, text, timezone, token, url, whole_number, yes_no)
from .pppoe.settings import SETTINGS as PPPOE_SETTINGS


@dataclass(frozen=True)
class ConfigKey:
    """One key of the INI file: its section, name, default, parser and help (the table below)."""

    section: str
    key: str
    default: str
    parse: Callable[[str], Any]
    help: str


SETTINGS: tuple[ConfigKey, ...] = (
    ConfigKey("site", "name", "Hotspot", text, "Name shown to customers on the portal."),
    ConfigKey("site", "id", "site-1", text, "Short identifier of this site (used in sync)."),
    ConfigKey("site", "timezone", "Africa/Nairobi", timezone, "Time zone for display and Daraja timestamps."),
    ConfigKey("site", "help_phone", "", text, "Phone number customers can call for help, shown on the portal."),
    ConfigKey("site", "notice", "", text, "A short notice shown on the portal (opening hours, an outage)."),
    ConfigKey("site", "wifi_name", "", text, "The WiFi network's name (SSID) printed on voucher sheets; empty: the site's name."),
    ConfigKey("site", "state_dir", "/var/lib/hotspotd", text, "Folder for the databases (app and queue)."),
    ConfigKey("site", "require_ntp", "yes", yes_no,
            "Sell only once the kernel says NTP keeps the clock (or Daraja's clock agrees); no: for boxes without "
            "NTP and for tests (the clock is then believed when it is not behind the last known-good time). "
            "Clock steps are detected and repaired either way."),
    ConfigKey("store", "synchronous", "full", choice("full", "normal"),
            "SQLite synchronous mode for the app database; full survives power loss."),
    ConfigKey("store", "busy_timeout", "10", seconds, "Seconds a writer waits for the database lock."),
    ConfigKey("portal", "listen", "0.0.0.0:8080", listen, "Address of the captive portal and callback server."),
    ConfigKey("portal", "public_url", "http://127.0.0.1:8080", url, "URL at which devices reach the portal."),
    ConfigKey("portal", "threads", "16", positive_int, "Request threads of the portal server (callback bursts are group-committed across them)."),
    ConfigKey("portal", "callback_listen", "", optional_listen,
            "Address of a second listener that serves only Daraja's callbacks, with its own connections and threads "
            "(point [mpesa] callback_url at it); empty: callbacks share the portal's listener."),
    ConfigKey("portal", "connections_per_address", "32", positive_int,
            "Connections one client address may hold open at the portal (raise it if the router NATs clients)."),
    ConfigKey("portal", "request_timeout", "10", seconds,
            "Seconds a client may take to send one whole request before the connection is closed."),
    ConfigKey("portal", "trial_minutes", "0", whole_number,
            "Minutes of free trial a device may take once a day (in the site's time zone); 0 turns the trial off."),
    ConfigKey("portal", "trial_rate", "512k/1M", text, "Speed of the free trial, upload/download as on a package."),
    ConfigKey("portal", "payments_per_minute", "120", positive_int,
            "Payments (M-Pesa prompts, Paybill account numbers) the portal starts per minute for all devices "
            "together, after 300 at once (or this many, if more); past it a flood from many addresses is "
            "refused, so records stay small."),
    ConfigKey("admin", "listen", "127.0.0.1:8081", listen, "Address of the admin pages (keep it on the LAN)."),
    ConfigKey("admin", "session_idle", "3600", seconds, "Seconds without a request after which a console login ends."),
    ConfigKey("admin", "session_max", "43200", seconds, "Seconds after which a console login ends however busy it is."),
    ConfigKey("admin", "lockout_after", "10", positive_int,
            "Failed console logins (per account, and per address) before logins are locked."),
    ConfigKey("admin", "lockout_seconds", "900", seconds, "Seconds a locked account or address must wait."),
    ConfigKey("admin", "metrics_token", "", token,
            "Bearer token a Prometheus scraper may use for /metrics instead of a login; empty: login only."),
    ConfigKey("admin", "certfile", "", text, "TLS certificate (PEM) to serve the console over HTTPS; empty: plain HTTP."),
    ConfigKey("admin", "keyfile", "", text, "TLS private key (PEM) for certfile."),
    ConfigKey("radius", "listen", "0.0.0.0", ip_address, "Address the RADIUS server binds."),
    ConfigKey("radius", "auth_port", "1812", port, "RADIUS authentication port."),
    ConfigKey("radius", "acct_port", "1813", port, "RADIUS accounting port."),
    ConfigKey("radius", "processes", "1", positive_int, "RADIUS server processes (SO_REUSEPORT)."),
    ConfigKey("radius", "require_message_authenticator", "yes", yes_no,
            "Drop Access-Requests without Message-Authenticator (BlastRADIUS)."),
    ConfigKey("radius", "interim_interval", "300", positive_int, "Acct-Interim-Interval sent to routers, seconds."),
    ConfigKey("radius", "sweep_interval", "30", seconds, "Seconds between checks for sessions that outlive their package."),
    ConfigKey("queue", "mode", "async", choice("async", "immediate"),
            "async: tasks run in the worker; immediate: inline in the caller."),
    ConfigKey("queue", "workers", "2", positive_int, "Worker threads of the queue consumer."),
    ConfigKey("queue", "reconcile_interval", "15", seconds, "Seconds between reconciler passes."),
    ConfigKey("mpesa", "base_url", "https://sandbox.safaricom.co.ke", url, "Daraja API base URL."),
    ConfigKey("mpesa", "consumer_key", "", text, "Daraja app consumer key."),
    ConfigKey("mpesa", "consumer_secret", "", text, "Daraja app consumer secret."),
    ConfigKey("mpesa", "shortcode", "174379", digits, "Business shortcode (paybill, or store number for a till)."),
    ConfigKey("mpesa", "passkey", "", text, "Lipa na M-Pesa online passkey."),
    ConfigKey("mpesa", "transaction_type", "CustomerPayBillOnline",
            choice("customerpaybillonline", "customerbuygoodsonline"),
            "CustomerPayBillOnline (paybill) or CustomerBuyGoodsOnline (till)."),
    ConfigKey("mpesa", "party_b", "", digits, "Receiving number: the till for buy-goods; empty means the shortcode."),
    ConfigKey("mpesa", "callback_url", "", url,
            "Public base URL Daraja posts callbacks to; empty means [portal] public_url."),
    ConfigKey("mpesa", "callback_token", "", text,
            "Secret path segment of the callback URL, at least 16 random characters."),
    ConfigKey("mpesa", "account_reference", "Hotspot", text, "AccountReference on the customer's prompt (12 characters at most)."),
    ConfigKey("mpesa", "timeout", "15", seconds, "Seconds to wait for a Daraja answer."),
    ConfigKey("mpesa", "query_after", "60", seconds, "Seconds without a callback before asking Daraja (STK query)."),
    ConfigKey("mpesa", "pending_timeout", "300", seconds, "Seconds after which an unanswered payment expires."),
    ConfigKey("mpesa", "paybill", "", digits,
            "Paybill number customers may pay by hand (C2B; `hotspotd mpesa register-c2b` registers it); "
            "empty hides Pay by Paybill."),
    ConfigKey("mpesa", "paybill_valid_for", "3600", seconds,
            "Seconds a Paybill account number shown on the portal stays valid."),
    ConfigKey("mpesa", "pull_interval", "300", seconds,
            "Seconds between Pull Transactions passes that find Paybill payments whose confirmation never came "
            "(`hotspotd mpesa register-pull` first; Daraja keeps 48 hours); 0 turns them off."),
    ConfigKey("mpesa", "initiator", "", text,
            "M-Pesa API user (initiator) for Transaction Status and refunds (Reversal); empty turns both off."),
    ConfigKey("mpesa", "initiator_password", "", text,
            "Password of that API user (a secret, like the passkey; sent encrypted with the certificate)."),
    ConfigKey("mpesa", "certificate", "", text,
            "Path of Daraja's public certificate (PEM or DER, from the Daraja portal) that encrypts the initiator "
            "password."),
    ConfigKey("sms", "provider", "", choice("africastalking", ""),
            "SMS gateway for the customers' receipts: africastalking, or empty for none."),
    ConfigKey("sms", "username", "", text, "Africa's Talking username (sandbox for the sandbox)."),
    ConfigKey("sms", "api_key", "", text, "Africa's Talking API key (a secret, like the passkey)."),
    ConfigKey("sms", "sender_id", "", text, "Sender id or short code the texts come from; empty: the gateway's default."),
    ConfigKey("sms", "base_url", "https://api.africastalking.com", url,
            "The gateway's root (sandbox: https://api.sandbox.africastalking.com); /version1/messaging is appended."),
    ConfigKey("routers", "probe_interval", "60", seconds, "Seconds between probes of every router (/system/resource)."),
    ConfigKey("routers", "offline_after", "3", positive_int,
            "Consecutive failed probes before a router is shown offline (one success shows it online)."),
    ConfigKey("routers", "connect_timeout", "3", seconds, "Seconds to connect to a router's API and log in."),
    ConfigKey("routers", "timeout", "10", seconds, "Seconds to wait for a router's answer to one command."),
    ConfigKey("routers", "connections", "4", positive_int, "API connections open at most to one router (reused)."),
    ConfigKey("routers", "sessions_interval", "30", seconds,
            "Seconds between reads of the routers' live sessions (hotspot and PPPoE active)."),
    ConfigKey("routers", "reconcile_interval", "300", seconds,
            "Seconds between comparisons of each router with the store (users, profiles, RADIUS entry)."),
    ConfigKey("routers", "radius_address", "", text,
            "hotspotd's IPv4 address as the routers and their customers reach it (the routers' RADIUS server; "
            "`router deploy` lets customers reach it past the hotspot); empty: the host of [portal] public_url."),
    ConfigKey("central", "url", "", url, "Central server URL; empty disables sync."),
    ConfigKey("central", "site_id", "", text, "This site's id at the central server."),
    ConfigKey("central", "site_key", "", text, "This site's key at the central server."),
    ConfigKey("central", "interval", "300", seconds, "Seconds between sync passes."),
    ConfigKey("central", "timeout", "30", seconds, "Seconds to wait for the central server's answer."),
    ConfigKey("central", "max_backoff", "1800", seconds,
            "Longest wait between tries while the central server cannot be reached (with jitter)."),
    ConfigKey("central", "allow_insecure", "no", yes_no,
            "yes: sync with a plain http:// central (a test, or a private link); otherwise https:// is required."),
    ConfigKey("receiver", "listen", "0.0.0.0:8090", listen, "Address of the central receiver (`run --role central`)."),
    ConfigKey("receiver", "database", "", database_url,
            "Receiver database URL: sqlite:////abs/path.db or postgresql://user:pw@host/db; empty: central.db in state_dir."),
    ConfigKey("receiver", "threads", "8", positive_int, "Request threads of the central receiver."),
    ConfigKey("receiver", "max_clock_skew", "300", seconds,
            "Seconds a site's clock may differ from the receiver's before its requests are refused."),
    ConfigKey("alerts", "webhook_url", "", url, "URL that receives each alert as a JSON POST; empty: no webhook."),
    ConfigKey("alerts", "telegram_bot_token", "", text, "Telegram bot token (from @BotFather); empty: no Telegram."),
    ConfigKey("alerts", "telegram_chat_id", "", text, "Telegram chat that receives the alerts (a user, group or channel id)."),
    ConfigKey("alerts", "telegram_api_url", "https://api.telegram.org", url, "Telegram Bot API base URL."),
    ConfigKey("alerts", "check_interval", "60", seconds, "Seconds between the worker's looks at what needs an alert."),
    ConfigKey("alerts", "max_per_hour", "12", positive_int, "At most this many alert messages an hour; the rest wait their turn."),
    ConfigKey("alerts", "timeout", "10", seconds, "Seconds to wait for the webhook or Telegram to answer."),
    ConfigKey("alerts", "disk_free_percent", "10", percent, "Alert when the state folder's disk has less than this much free."),
    ConfigKey("alerts", "router_offline_minutes", "10", positive_int, "Alert when a router has been offline this long."),
    ConfigKey("alerts", "sync_failing_hours", "6", positive_int, "Alert when central sync has failed this long."),
    ConfigKey("alerts", "restart_loop_count", "5", positive_int, "Alert when a role starts this many times ..."),
    ConfigKey("alerts", "restart_loop_minutes", "10", positive_int, "... within this many minutes."),
    ConfigKey("alerts", "sms_failing_minutes", "30", positive_int,
            "Alert when texts to customers have failed this long with none sent (with [sms] provider)."),
    ConfigKey("alerts", "critical_quiet_minutes", "30", positive_int,
            "A system.critical alert clears after this many minutes without another."),
    ConfigKey("retention", "interval", "3600", seconds, "Seconds between retention passes (the worker)."),
    ConfigKey("retention", "health_log_days", "7", positive_int, "Days the health log is kept."),
    ConfigKey("retention", "event_days", "30", positive_int,
            "Days events are kept once central sync has them (all events when sync is off)."),
    ConfigKey("retention", "callback_days", "90", positive_int, "Days the M-Pesa callback bodies are kept."),
    ConfigKey("retention", "session_days", "30", positive_int,
            "Days closed sessions are kept before they are rolled up into daily usage per customer."),
    ConfigKey("retention", "alert_days", "90", positive_int, "Days cleared alerts are kept."),
    ConfigKey("backup", "keep", "7", int_at_least_0, "Nightly backups kept (0: no nightly backup)."),
    ConfigKey("backup", "folder", "", text, "Folder of the nightly backups; empty: backups/ in the state folder."),
    ConfigKey("backup", "hour", "3", hour, "Local hour (0-23, site time zone) after which the nightly backup runs."),
    *(ConfigKey(*each) for each in PPPOE_SETTINGS),
)
