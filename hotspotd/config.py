"""Settings: one declarative table feeds loading, validation, `check-config` and the
example file (a test checks that every setting is documented in config.example.ini).

A config is an INI file; its path comes from `--config` or `HOTSPOTD_CONFIG`. Every
setting has a default, so an empty file is a valid start; `problems()` lists what a
running site still needs (M-Pesa credentials, a callback token) in one line each.
"""

from __future__ import annotations

import configparser
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError

ENV_VAR = "HOTSPOTD_CONFIG"


def _text(value: str) -> str:
    return value.strip()


def _int(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError(f"must be a whole number (got {value!r})") from None


def _positive_int(value: str) -> int:
    number = _int(value)
    if number < 1:
        raise ValueError(f"must be 1 or more (got {number})")
    return number


def _port(value: str) -> int:
    number = _int(value)
    if not 0 <= number <= 65535:
        raise ValueError(f"must be a port number 0-65535 (got {number})")
    return number


def _seconds(value: str) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise ValueError(f"must be a number of seconds (got {value!r})") from None
    if number < 0:
        raise ValueError(f"must not be negative (got {number})")
    return number


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "yes", "true", "on"):
        return True
    if lowered in ("0", "no", "false", "off"):
        return False
    raise ValueError(f"must be yes or no (got {value!r})")


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host:
        raise ValueError(f"must be host:port, e.g. 0.0.0.0:8080 (got {value!r})")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise ValueError(f"host must be an IP address (got {host!r})") from None
    return host, _port(port)


def _optional_listen(value: str) -> tuple[str, int] | None:
    return _listen(value) if value.strip() else None


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"must be an IP address (got {value!r})") from None


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (e.g. Africa/Nairobi)") from None
    return value.strip()


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        lowered = value.strip().lower()
        if lowered not in choices:
            raise ValueError(f"must be one of {', '.join(choices)} (got {value!r})")
        return lowered

    return parse


def _digits(value: str) -> str:
    value = value.strip()
    if value and not value.isdigit():
        raise ValueError(f"must be digits only (got {value!r})")
    return value


def _url(value: str) -> str:
    value = value.strip().rstrip("/")
    if value and not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"must start with http:// or https:// (got {value!r})")
    return value


@dataclass(frozen=True)
class Setting:
    section: str
    key: str
    default: str
    parse: Callable[[str], Any]
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("site", "name", "Hotspot", _text, "Name shown to customers on the portal."),
    Setting("site", "id", "site-1", _text, "Short identifier of this site (used in sync)."),
    Setting("site", "timezone", "Africa/Nairobi", _timezone, "Time zone for display and Daraja timestamps."),
    Setting("site", "help_phone", "", _text, "Phone number customers can call for help, shown on the portal."),
    Setting("site", "notice", "", _text, "A short notice shown on the portal (opening hours, an outage)."),
    Setting("site", "state_dir", "/var/lib/hotspotd", _text, "Folder for the databases (app and queue)."),
    Setting("store", "synchronous", "full", _choice("full", "normal"),
            "SQLite synchronous mode for the app database; full survives power loss."),
    Setting("store", "busy_timeout", "10", _seconds, "Seconds a writer waits for the database lock."),
    Setting("portal", "listen", "0.0.0.0:8080", _listen, "Address of the captive portal and callback server."),
    Setting("portal", "public_url", "http://127.0.0.1:8080", _url, "URL at which devices reach the portal."),
    Setting("portal", "threads", "16", _positive_int, "Request threads of the portal server (callback bursts are group-committed across them)."),
    Setting("portal", "callback_listen", "", _optional_listen,
            "Address of a second listener that serves only Daraja's callbacks, with its own connections and threads "
            "(point [mpesa] callback_url at it); empty: callbacks share the portal's listener."),
    Setting("portal", "connections_per_address", "32", _positive_int,
            "Connections one client address may hold open at the portal (raise it if the router NATs clients)."),
    Setting("portal", "request_timeout", "10", _seconds,
            "Seconds a client may take to send one whole request before the connection is closed."),
    Setting("portal", "trial_minutes", "0", _int,
            "Minutes of free trial a device may take once a day (in the site's time zone); 0 turns the trial off."),
    Setting("portal", "trial_rate", "512k/1M", _text, "Speed of the free trial, upload/download as on a package."),
    Setting("admin", "listen", "127.0.0.1:8081", _listen, "Address of the admin pages (keep it on the LAN)."),
    Setting("radius", "listen", "0.0.0.0", _ip, "Address the RADIUS server binds."),
    Setting("radius", "auth_port", "1812", _port, "RADIUS authentication port."),
    Setting("radius", "acct_port", "1813", _port, "RADIUS accounting port."),
    Setting("radius", "processes", "1", _positive_int, "RADIUS server processes (SO_REUSEPORT)."),
    Setting("radius", "require_message_authenticator", "yes", _bool,
            "Drop Access-Requests without Message-Authenticator (BlastRADIUS)."),
    Setting("radius", "interim_interval", "300", _positive_int, "Acct-Interim-Interval sent to routers, seconds."),
    Setting("radius", "sweep_interval", "30", _seconds, "Seconds between checks for sessions that outlive their package."),
    Setting("queue", "mode", "async", _choice("async", "immediate"),
            "async: tasks run in the worker; immediate: inline in the caller."),
    Setting("queue", "workers", "2", _positive_int, "Worker threads of the queue consumer."),
    Setting("queue", "reconcile_interval", "15", _seconds, "Seconds between reconciler passes."),
    Setting("mpesa", "base_url", "https://sandbox.safaricom.co.ke", _url, "Daraja API base URL."),
    Setting("mpesa", "consumer_key", "", _text, "Daraja app consumer key."),
    Setting("mpesa", "consumer_secret", "", _text, "Daraja app consumer secret."),
    Setting("mpesa", "shortcode", "174379", _digits, "Business shortcode (paybill, or store number for a till)."),
    Setting("mpesa", "passkey", "", _text, "Lipa na M-Pesa online passkey."),
    Setting("mpesa", "transaction_type", "CustomerPayBillOnline",
            _choice("customerpaybillonline", "customerbuygoodsonline"),
            "CustomerPayBillOnline (paybill) or CustomerBuyGoodsOnline (till)."),
    Setting("mpesa", "party_b", "", _digits, "Receiving number: the till for buy-goods; empty means the shortcode."),
    Setting("mpesa", "callback_url", "", _url,
            "Public base URL Daraja posts callbacks to; empty means [portal] public_url."),
    Setting("mpesa", "callback_token", "", _text,
            "Secret path segment of the callback URL, at least 16 random characters."),
    Setting("mpesa", "account_reference", "Hotspot", _text, "AccountReference on the customer's prompt (12 characters at most)."),
    Setting("mpesa", "timeout", "15", _seconds, "Seconds to wait for a Daraja answer."),
    Setting("mpesa", "query_after", "60", _seconds, "Seconds without a callback before asking Daraja (STK query)."),
    Setting("mpesa", "pending_timeout", "300", _seconds, "Seconds after which an unanswered payment expires."),
    Setting("mpesa", "paybill", "", _digits,
            "Paybill number customers may pay by hand (C2B; `hotspotd mpesa register-c2b` registers it); "
            "empty hides Pay by Paybill."),
    Setting("mpesa", "paybill_valid_for", "3600", _seconds,
            "Seconds a Paybill account number shown on the portal stays valid."),
    Setting("central", "url", "", _url, "Central server URL; empty disables sync."),
    Setting("central", "site_id", "", _text, "This site's id at the central server."),
    Setting("central", "site_key", "", _text, "This site's key at the central server."),
    Setting("central", "interval", "300", _seconds, "Seconds between sync passes."),
)

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
    def mpesa_party_b(self) -> str:
        return self.mpesa.party_b or self.mpesa.shortcode

    def problems(self) -> list[str]:
        """What a running site still needs, one line each (empty when ready)."""
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
