"""Settings: one declarative table feeds loading, validation, `check-config` and the
example file (a test checks that every setting is documented in config.example.ini).

A config is an INI file; its path comes from `--config` or `HOTSPOTD_CONFIG`. Every
setting has a default, so an empty file is a valid start; `problems()` lists what a
running site still needs (M-Pesa credentials, a callback token) in one line each.
"""

from __future__ import annotations

import configparser
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

from .config_values import (choice, database_url, digits, hour, int_at_least_0, ip_address, listen, optional_listen,
                            percent, port, positive_int, seconds, text, timezone, token, url, whole_number, yes_no)
from .errors import ConfigError
from .pppoe.settings import SETTINGS as PPPOE_SETTINGS

ENV_VAR = "HOTSPOTD_CONFIG"


@dataclass(frozen=True)
class Setting:
    section: str
    key: str
    default: str
    parse: Callable[[str], Any]
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("site", "name", "Hotspot", text, "Name shown to customers on the portal."),
    Setting("site", "id", "site-1", text, "Short identifier of this site (used in sync)."),
    Setting("site", "timezone", "Africa/Nairobi", timezone, "Time zone for display and Daraja timestamps."),
    Setting("site", "help_phone", "", text, "Phone number customers can call for help, shown on the portal."),
    Setting("site", "notice", "", text, "A short notice shown on the portal (opening hours, an outage)."),
    Setting("site", "state_dir", "/var/lib/hotspotd", text, "Folder for the databases (app and queue)."),
    Setting("store", "synchronous", "full", choice("full", "normal"),
            "SQLite synchronous mode for the app database; full survives power loss."),
    Setting("store", "busy_timeout", "10", seconds, "Seconds a writer waits for the database lock."),
    Setting("portal", "listen", "0.0.0.0:8080", listen, "Address of the captive portal and callback server."),
    Setting("portal", "public_url", "http://127.0.0.1:8080", url, "URL at which devices reach the portal."),
    Setting("portal", "threads", "16", positive_int, "Request threads of the portal server (callback bursts are group-committed across them)."),
    Setting("portal", "callback_listen", "", optional_listen,
            "Address of a second listener that serves only Daraja's callbacks, with its own connections and threads "
            "(point [mpesa] callback_url at it); empty: callbacks share the portal's listener."),
    Setting("portal", "connections_per_address", "32", positive_int,
            "Connections one client address may hold open at the portal (raise it if the router NATs clients)."),
    Setting("portal", "request_timeout", "10", seconds,
            "Seconds a client may take to send one whole request before the connection is closed."),
    Setting("portal", "trial_minutes", "0", whole_number,
            "Minutes of free trial a device may take once a day (in the site's time zone); 0 turns the trial off."),
    Setting("portal", "trial_rate", "512k/1M", text, "Speed of the free trial, upload/download as on a package."),
    Setting("portal", "payments_per_minute", "120", positive_int,
            "Payments (M-Pesa prompts, Paybill account numbers) the portal starts per minute for all devices "
            "together, as many at once; past it a flood from many addresses is refused, so records stay small."),
    Setting("admin", "listen", "127.0.0.1:8081", listen, "Address of the admin pages (keep it on the LAN)."),
    Setting("admin", "session_idle", "3600", seconds, "Seconds without a request after which a console login ends."),
    Setting("admin", "session_max", "43200", seconds, "Seconds after which a console login ends however busy it is."),
    Setting("admin", "lockout_after", "10", positive_int,
            "Failed console logins (per account, and per address) before logins are locked."),
    Setting("admin", "lockout_seconds", "900", seconds, "Seconds a locked account or address must wait."),
    Setting("admin", "metrics_token", "", token,
            "Bearer token a Prometheus scraper may use for /metrics instead of a login; empty: login only."),
    Setting("admin", "certfile", "", text, "TLS certificate (PEM) to serve the console over HTTPS; empty: plain HTTP."),
    Setting("admin", "keyfile", "", text, "TLS private key (PEM) for certfile."),
    Setting("radius", "listen", "0.0.0.0", ip_address, "Address the RADIUS server binds."),
    Setting("radius", "auth_port", "1812", port, "RADIUS authentication port."),
    Setting("radius", "acct_port", "1813", port, "RADIUS accounting port."),
    Setting("radius", "processes", "1", positive_int, "RADIUS server processes (SO_REUSEPORT)."),
    Setting("radius", "require_message_authenticator", "yes", yes_no,
            "Drop Access-Requests without Message-Authenticator (BlastRADIUS)."),
    Setting("radius", "interim_interval", "300", positive_int, "Acct-Interim-Interval sent to routers, seconds."),
    Setting("radius", "sweep_interval", "30", seconds, "Seconds between checks for sessions that outlive their package."),
    Setting("queue", "mode", "async", choice("async", "immediate"),
            "async: tasks run in the worker; immediate: inline in the caller."),
    Setting("queue", "workers", "2", positive_int, "Worker threads of the queue consumer."),
    Setting("queue", "reconcile_interval", "15", seconds, "Seconds between reconciler passes."),
    Setting("mpesa", "base_url", "https://sandbox.safaricom.co.ke", url, "Daraja API base URL."),
    Setting("mpesa", "consumer_key", "", text, "Daraja app consumer key."),
    Setting("mpesa", "consumer_secret", "", text, "Daraja app consumer secret."),
    Setting("mpesa", "shortcode", "174379", digits, "Business shortcode (paybill, or store number for a till)."),
    Setting("mpesa", "passkey", "", text, "Lipa na M-Pesa online passkey."),
    Setting("mpesa", "transaction_type", "CustomerPayBillOnline",
            choice("customerpaybillonline", "customerbuygoodsonline"),
            "CustomerPayBillOnline (paybill) or CustomerBuyGoodsOnline (till)."),
    Setting("mpesa", "party_b", "", digits, "Receiving number: the till for buy-goods; empty means the shortcode."),
    Setting("mpesa", "callback_url", "", url,
            "Public base URL Daraja posts callbacks to; empty means [portal] public_url."),
    Setting("mpesa", "callback_token", "", text,
            "Secret path segment of the callback URL, at least 16 random characters."),
    Setting("mpesa", "account_reference", "Hotspot", text, "AccountReference on the customer's prompt (12 characters at most)."),
    Setting("mpesa", "timeout", "15", seconds, "Seconds to wait for a Daraja answer."),
    Setting("mpesa", "query_after", "60", seconds, "Seconds without a callback before asking Daraja (STK query)."),
    Setting("mpesa", "pending_timeout", "300", seconds, "Seconds after which an unanswered payment expires."),
    Setting("mpesa", "paybill", "", digits,
            "Paybill number customers may pay by hand (C2B; `hotspotd mpesa register-c2b` registers it); "
            "empty hides Pay by Paybill."),
    Setting("mpesa", "paybill_valid_for", "3600", seconds,
            "Seconds a Paybill account number shown on the portal stays valid."),
    Setting("mpesa", "pull_interval", "300", seconds,
            "Seconds between Pull Transactions passes that find Paybill payments whose confirmation never came "
            "(`hotspotd mpesa register-pull` first; Daraja keeps 48 hours); 0 turns them off."),
    Setting("mpesa", "initiator", "", text,
            "M-Pesa API user (initiator) for Transaction Status and refunds (Reversal); empty turns both off."),
    Setting("mpesa", "initiator_password", "", text,
            "Password of that API user (a secret, like the passkey; sent encrypted with the certificate)."),
    Setting("mpesa", "certificate", "", text,
            "Path of Daraja's public certificate (PEM or DER, from the Daraja portal) that encrypts the initiator "
            "password."),
    Setting("sms", "provider", "", choice("africastalking", ""),
            "SMS gateway for the customers' receipts: africastalking, or empty for none."),
    Setting("sms", "username", "", text, "Africa's Talking username (sandbox for the sandbox)."),
    Setting("sms", "api_key", "", text, "Africa's Talking API key (a secret, like the passkey)."),
    Setting("sms", "sender_id", "", text, "Sender id or short code the texts come from; empty: the gateway's default."),
    Setting("sms", "base_url", "https://api.africastalking.com", url,
            "The gateway's root (sandbox: https://api.sandbox.africastalking.com); /version1/messaging is appended."),
    Setting("routers", "probe_interval", "60", seconds, "Seconds between probes of every router (/system/resource)."),
    Setting("routers", "offline_after", "3", positive_int,
            "Consecutive failed probes before a router is shown offline (one success shows it online)."),
    Setting("routers", "connect_timeout", "3", seconds, "Seconds to connect to a router's API and log in."),
    Setting("routers", "timeout", "10", seconds, "Seconds to wait for a router's answer to one command."),
    Setting("routers", "connections", "4", positive_int, "API connections open at most to one router (reused)."),
    Setting("routers", "sessions_interval", "30", seconds,
            "Seconds between reads of the routers' live sessions (hotspot and PPPoE active)."),
    Setting("routers", "reconcile_interval", "300", seconds,
            "Seconds between comparisons of each router with the store (users, profiles, RADIUS entry)."),
    Setting("routers", "radius_address", "", text,
            "hotspotd's IPv4 address as the routers and their customers reach it (the routers' RADIUS server; "
            "`router deploy` lets customers reach it past the hotspot); empty: the host of [portal] public_url."),
    Setting("central", "url", "", url, "Central server URL; empty disables sync."),
    Setting("central", "site_id", "", text, "This site's id at the central server."),
    Setting("central", "site_key", "", text, "This site's key at the central server."),
    Setting("central", "interval", "300", seconds, "Seconds between sync passes."),
    Setting("central", "timeout", "30", seconds, "Seconds to wait for the central server's answer."),
    Setting("central", "max_backoff", "1800", seconds,
            "Longest wait between tries while the central server cannot be reached (with jitter)."),
    Setting("central", "allow_insecure", "no", yes_no,
            "yes: sync with a plain http:// central (a test, or a private link); otherwise https:// is required."),
    Setting("receiver", "listen", "0.0.0.0:8090", listen, "Address of the central receiver (`run --role central`)."),
    Setting("receiver", "database", "", database_url,
            "Receiver database URL: sqlite:////abs/path.db or postgresql://user:pw@host/db; empty: central.db in state_dir."),
    Setting("receiver", "threads", "8", positive_int, "Request threads of the central receiver."),
    Setting("receiver", "max_clock_skew", "300", seconds,
            "Seconds a site's clock may differ from the receiver's before its requests are refused."),
    Setting("alerts", "webhook_url", "", url, "URL that receives each alert as a JSON POST; empty: no webhook."),
    Setting("alerts", "telegram_bot_token", "", text, "Telegram bot token (from @BotFather); empty: no Telegram."),
    Setting("alerts", "telegram_chat_id", "", text, "Telegram chat that receives the alerts (a user, group or channel id)."),
    Setting("alerts", "telegram_api_url", "https://api.telegram.org", url, "Telegram Bot API base URL."),
    Setting("alerts", "check_interval", "60", seconds, "Seconds between the worker's looks at what needs an alert."),
    Setting("alerts", "max_per_hour", "12", positive_int, "At most this many alert messages an hour; the rest wait their turn."),
    Setting("alerts", "timeout", "10", seconds, "Seconds to wait for the webhook or Telegram to answer."),
    Setting("alerts", "disk_free_percent", "10", percent, "Alert when the state folder's disk has less than this much free."),
    Setting("alerts", "router_offline_minutes", "10", positive_int, "Alert when a router has been offline this long."),
    Setting("alerts", "sync_failing_hours", "6", positive_int, "Alert when central sync has failed this long."),
    Setting("alerts", "restart_loop_count", "5", positive_int, "Alert when a role starts this many times ..."),
    Setting("alerts", "restart_loop_minutes", "10", positive_int, "... within this many minutes."),
    Setting("alerts", "critical_quiet_minutes", "30", positive_int,
            "A system.critical alert clears after this many minutes without another."),
    Setting("retention", "interval", "3600", seconds, "Seconds between retention passes (the worker)."),
    Setting("retention", "health_log_days", "7", positive_int, "Days the health log is kept."),
    Setting("retention", "event_days", "30", positive_int,
            "Days events are kept once central sync has them (all events when sync is off)."),
    Setting("retention", "callback_days", "90", positive_int, "Days the M-Pesa callback bodies are kept."),
    Setting("retention", "session_days", "30", positive_int,
            "Days closed sessions are kept before they are rolled up into daily usage per customer."),
    Setting("retention", "alert_days", "90", positive_int, "Days cleared alerts are kept."),
    Setting("backup", "keep", "7", int_at_least_0, "Nightly backups kept (0: no nightly backup)."),
    Setting("backup", "folder", "", text, "Folder of the nightly backups; empty: backups/ in the state folder."),
    Setting("backup", "hour", "3", hour, "Local hour (0-23, site time zone) after which the nightly backup runs."),
    *(Setting(*each) for each in PPPOE_SETTINGS),
)

INSECURE_CENTRAL = ("[central] url: plain http:// is refused (anyone on the way reads the site's sales and can "
                    "change what the box is told); use https://, or set [central] allow_insecure = yes "
                    "(a test, or a private link)")

FORBIDDEN_CALLBACK_WORDS = ("mpesa", "m-pesa", "safaricom", "query", "exe", "cmd", "sql")  # "exe" covers "exec"


class Config(SimpleNamespace):
    """Typed settings: `config.mpesa.shortcode`, `config.portal.listen`, ...

    `path` is the file it came from (None for defaults only).
    """

    path: Path | None

    @property
    def state_dir(self) -> Path:
        return Path(self.site.state_dir)

    @property
    def app_db_path(self) -> Path:
        return self.state_dir / "hotspotd.db"

    @property
    def queue_db_path(self) -> Path:
        return self.state_dir / "queue.db"

    @property
    def receiver_database(self) -> str:
        """The central receiver's database URL (default: central.db in the state folder)."""
        return self.receiver.database or f"sqlite:///{self.state_dir.resolve() / 'central.db'}"

    @property
    def backup_dir(self) -> Path:
        return Path(self.backup.folder) if self.backup.folder else self.state_dir / "backups"

    @property
    def callback_url(self) -> str:
        base = self.mpesa.callback_url or self.portal.public_url
        return f"{base}/api/payments/stk-callback/{self.mpesa.callback_token}"

    @property
    def c2b_confirmation_url(self) -> str:
        base = self.mpesa.callback_url or self.portal.public_url
        return f"{base}/api/payments/c2b-confirmation/{self.mpesa.callback_token}"

    @property
    def c2b_validation_url(self) -> str:
        base = self.mpesa.callback_url or self.portal.public_url
        return f"{base}/api/payments/c2b-validation/{self.mpesa.callback_token}"

    @property
    def result_url(self) -> str:
        """Where Daraja POSTs the results of Transaction Status and Reversal requests."""
        base = self.mpesa.callback_url or self.portal.public_url
        return f"{base}/api/payments/result/{self.mpesa.callback_token}"

    @property
    def result_timeout_url(self) -> str:
        """Daraja's QueueTimeOutURL for those requests."""
        base = self.mpesa.callback_url or self.portal.public_url
        return f"{base}/api/payments/timeout/{self.mpesa.callback_token}"

    @property
    def mpesa_party_b(self) -> str:
        return self.mpesa.party_b or self.mpesa.shortcode

    def problems(self, role: str | None = None) -> list[str]:
        """What a running site still needs, one line each (empty when ready): what
        `check-config` prints and what `run` (any role) refuses to start with. `role` as
        `run --role` takes it: the central receiver (`central`) needs none of a site's settings."""
        if role == "central":
            return []
        found = []
        for key in ("consumer_key", "consumer_secret", "passkey"):
            if not getattr(self.mpesa, key):
                found.append(f"[mpesa] {key}: required to take M-Pesa payments; copy it from the Daraja portal")
        if len(self.mpesa.shortcode) < 5:
            found.append("[mpesa] shortcode: required (5 or more digits)")
        token = self.mpesa.callback_token
        if len(token) < 16 or not re.fullmatch(r"[A-Za-z0-9_-]+", token):
            found.append("[mpesa] callback_token: set at least 16 random letters, digits, - or _ "
                         "(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')")
        lowered = self.callback_url.lower()
        for word in FORBIDDEN_CALLBACK_WORDS:
            if word in lowered:
                found.append(f"[mpesa] callback URL must not contain {word!r}: Daraja rejects such URLs")
        if len(self.mpesa.account_reference) > 12:
            found.append("[mpesa] account_reference: 12 characters at most (Daraja's limit)")
        if self.central.url and not (self.central.site_id and self.central.site_key):
            found.append("[central] site_id and site_key: required when [central] url is set "
                         "(`hotspotd central site add NAME` at the receiver prints them)")
        if bool(self.alerts.telegram_bot_token) != bool(self.alerts.telegram_chat_id):
            found.append("[alerts] telegram_bot_token and telegram_chat_id: give both, or neither")
        return found + self._initiator_problems() + self._sms_problems()

    def _initiator_problems(self) -> list[str]:
        m = self.mpesa
        found = []
        if m.pull_interval > 48 * 3600:
            found.append("[mpesa] pull_interval: at most 172800 seconds (Daraja keeps 48 hours to pull)")
        given = [key for key in ("initiator", "initiator_password", "certificate") if getattr(m, key)]
        if 0 < len(given) < 3:
            found.append("[mpesa] initiator, initiator_password and certificate: give all three (Transaction Status "
                         "and refunds), or none")
        elif given:
            from .mpesa.initiator import certificate_problem  # loads cryptography: only when one is set

            problem = certificate_problem(m.certificate)
            found += [f"[mpesa] certificate: {problem}"] if problem else []
        return found

    def _sms_problems(self) -> list[str]:
        s = self.sms
        if not s.provider:
            return []
        found = [f"[sms] {key}: required when [sms] provider is set" for key in ("username", "api_key")
                 if not getattr(s, key)]
        if "africastalking.com" in s.base_url and (s.username == "sandbox") != ("sandbox." in s.base_url):
            found.append("[sms] username sandbox goes with base_url https://api.sandbox.africastalking.com "
                         "(and only with it)")
        return found

    def warnings(self) -> list[str]:
        """What `check-config` and `doctor` warn about but a site still runs with, one line
        each: a plain-HTTP central stops only central sync (every pass is refused), not selling."""
        found = []
        if self.central.url.lower().startswith("http://") and not self.central.allow_insecure:
            found.append(INSECURE_CENTRAL + ": central sync is refused until then")
        return found


def load(path: str | os.PathLike | None = None, overrides: dict[str, dict[str, str]] | None = None) -> Config:
    """Read the INI file at `path` (or `$HOTSPOTD_CONFIG`; defaults when neither is set).

    Raises ConfigError with one line per wrong or unknown setting.
    """
    if path is None:
        path = os.environ.get(ENV_VAR) or None
    parser = configparser.ConfigParser(interpolation=None)
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} not found (give --config PATH or set {ENV_VAR})")
        try:
            parser.read(path, encoding="utf-8")
        except configparser.Error as exc:
            raise ConfigError(f"{path}: cannot parse: {exc}".replace("\n", " ")) from None
    for section, values in (overrides or {}).items():
        if not parser.has_section(section):
            parser.add_section(section)
        for key, value in values.items():
            parser.set(section, key, str(value))
    return _from_parser(parser, Path(path) if path else None)


def _from_parser(parser: configparser.ConfigParser, path: Path | None) -> Config:
    known = {(s.section, s.key) for s in SETTINGS}
    errors = []
    for section in parser.sections():
        for key in parser[section]:
            if (section, key) not in known:
                errors.append(f"[{section}] {key}: unknown setting (see config.example.ini)")
    sections: dict[str, dict[str, Any]] = {}
    for setting in SETTINGS:
        raw = parser.get(setting.section, setting.key, fallback=setting.default)
        try:
            value = setting.parse(raw)
        except ValueError as exc:
            errors.append(f"[{setting.section}] {setting.key}: {exc}")
            continue
        sections.setdefault(setting.section, {})[setting.key] = value
    if errors:
        where = f"{path}: " if path else ""
        raise ConfigError(where + "; ".join(errors))
    config = Config(**{name: SimpleNamespace(**values) for name, values in sections.items()})
    config.path = path
    config.mpesa.transaction_type = {
        "customerpaybillonline": "CustomerPayBillOnline",
        "customerbuygoodsonline": "CustomerBuyGoodsOnline",
    }[config.mpesa.transaction_type]
    return config


def example_ini() -> str:
    """The text of config.example.ini, generated from SETTINGS."""
    lines = ["# hotspotd configuration. Every setting, its default, and what it does.", ""]
    section = None
    for setting in SETTINGS:
        if setting.section != section:
            if section is not None:
                lines.append("")
            lines.append(f"[{setting.section}]")
            section = setting.section
        lines.append(f"# {setting.help}")
        lines.append(f"{setting.key} = {setting.default}")
    return "\n".join(lines) + "\n"
