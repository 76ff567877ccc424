"""What a text to a customer says: the operator's two templates (English and Swahili),
kept in the `setting` table and edited on the console's Settings page, and the language
used when a customer's is not known.

A template names what it fills in as `{site}`, `{package}`, `{expires}` (the end of the
package, in the site's time zone), `{username}`, `{password}` and `{link}` (the portal's
status page); `{username}` and `{password}` must be there, since the login is what a
customer whose page closed needs.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..console import audit
from ..console.audit import Actor
from ..errors import InvalidInput
from ..store.db import write_transaction
from ..store.models import Setting

LANGUAGES = ("en", "sw")
DEFAULTS = {
    "en": "{site}: {package} until {expires}. Login {username} password {password}. Status: {link}",
    "sw": "{site}: {package} hadi {expires}. Jina {username} nenosiri {password}. Hali: {link}",
}
PLACEHOLDERS = ("site", "package", "expires", "username", "password", "link")
REQUIRED = ("username", "password")
MAX_TEMPLATE = 480  # three SMS parts, before the values are filled in
_NAME = re.compile(r"\{(\w*)\}")
_KEYS = {"template_en": "sms.template.en", "template_sw": "sms.template.sw", "language": "sms.language"}
# Time as the texts write it: short, and the same digits whatever the language.
_EXPIRES = {"en": "%d %b %H:%M", "sw": "%d/%m %H:%M"}


@dataclass(frozen=True)
class SmsTexts:
    template_en: str
    template_sw: str
    language: str  # for customers whose language is not known (a voucher, a Paybill payment)

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def template(self, lang: str | None) -> str:
        return self.template_sw if self.language_of(lang) == "sw" else self.template_en

    def language_of(self, lang: str | None) -> str:
        return lang if lang in LANGUAGES else self.language


def load() -> SmsTexts:
    """The templates and the default language in force (the operator's, else the defaults)."""
    stored = {row.key: row.value for row in Setting.select().where(Setting.key.in_(list(_KEYS.values())))}
    return SmsTexts(template_en=stored.get(_KEYS["template_en"], DEFAULTS["en"]),
                    template_sw=stored.get(_KEYS["template_sw"], DEFAULTS["sw"]),
                    language=stored.get(_KEYS["language"], "en"))


def _check(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text")
    value = " ".join(value.split())
    if field == "language":
        if value not in LANGUAGES:
            raise InvalidInput("the language is en or sw")
        return value
    if not 1 <= len(value) <= MAX_TEMPLATE:
        raise InvalidInput(f"a text template needs 1 to {MAX_TEMPLATE} characters")
    names = _NAME.findall(value)
    unknown = sorted(set(names) - set(PLACEHOLDERS))
    if unknown:
        raise InvalidInput(f"unknown {{names}} in the template: {', '.join(unknown) or '{}'}; use "
                           + ", ".join("{" + n + "}" for n in PLACEHOLDERS))
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise InvalidInput("the template must say " + " and ".join("{" + n + "}" for n in missing))
    try:
        value.format(**{name: "" for name in PLACEHOLDERS})
    except (ValueError, IndexError, KeyError):
        raise InvalidInput("a { or } in the template that is not one of its {names}: write {{ or }}") from None
    return value


def update(changes: dict[str, Any], now: datetime, *, by: Actor) -> SmsTexts:
    """Change the templates or the default language (all checked before any is written;
    audited in the same transaction); returns what is in force."""
    unknown = set(changes) - set(_KEYS)
    if unknown or not changes:
        raise InvalidInput(f"change any of {', '.join(_KEYS)}")
    clean = {field: _check(field, value) for field, value in changes.items()}
    with write_transaction():
        for field, value in clean.items():
            Setting.insert(key=_KEYS[field], value=value, updated_at=now).on_conflict_replace().execute()
        audit.record(by, "sms.texts", "SMS texts", now, changes=clean)
    return load()


def render(template: str, lang: str, *, site: str, package: str, expires: datetime, username: str, password: str,
           link: str, tz: str) -> str:
    """The text, filled in; `expires` in the site's time zone."""
    local = expires.astimezone(ZoneInfo(tz))
    return template.format(site=site, package=package, expires=local.strftime(_EXPIRES.get(lang, _EXPIRES["en"])),
                           username=username, password=password, link=link)
