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
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .config_keys import SETTINGS, ConfigKey
from .errors import ConfigError

ENV_VAR = "HOTSPOTD_CONFIG"


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

    @property
    def short_codes(self) -> tuple[str, ...]:
        """Every number customers pay this site at: the STK short code, the till, the Paybill."""
        found = (self.mpesa.shortcode, self.mpesa_party_b, self.mpesa.paybill)
        return tuple(dict.fromkeys(code for code in found if code))

    @property
    def initiator_enabled(self) -> bool:
        """Transaction Status and refunds can be asked (the API user, its password, the certificate)."""
        m = self.mpesa
        return bool(m.initiator and m.initiator_password and m.certificate)

    @property
    def sms_report_url(self) -> str:
        """Where the SMS gateway POSTs delivery reports (set it in its dashboard)."""
        base = self.mpesa.callback_url or self.portal.public_url
        return f"{base}/api/sms/report/{self.mpesa.callback_token}"

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
