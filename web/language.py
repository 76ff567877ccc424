"""The portal's two languages, English and Swahili: the message catalogues, which language
a request wants, and server messages (errors from the core) in that language.

The catalogues are `static/portal.en.json` and `static/portal.sw.json`, one flat object
each with the same keys: `page.*` for the page, `js.*` for the page's script, `words.*`
for numbers and times (see `wording.py`), `err.*` for every message the core may send a
customer. `{name}` marks a value filled in. A test checks that both have every key and
the same `{names}`, and that every customer-facing core message has an `err.*` entry.

The language comes from, in order: `?lang=` (the switch on the page, which also sets a
cookie), the `lang` cookie (so the choice sticks), the browser's Accept-Language.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
LANGUAGES = ("en", "sw")
DEFAULT = "en"
COOKIE = "lang"
NAMES = {"en": "English", "sw": "Kiswahili"}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def load_catalogue(lang: str) -> dict[str, str]:
    return json.loads((STATIC / f"portal.{lang}.json").read_text(encoding="utf-8"))


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


@dataclass(frozen=True)
class Catalogue:
    """One language's texts, and how to turn an English server message into it."""

    lang: str
    texts: Mapping[str, str]
    english: Mapping[str, str]

    def __call__(self, key: str, /, **values: object) -> str:
        """The text for `key` with its `{names}` filled in."""
        text = self.texts.get(key)
        if text is None:
            log.warning("no %s text for %s", self.lang, key)
            text = self.english.get(key, key)
        return text.format_map(values) if values else text

    def js(self) -> dict[str, str]:
        """What the page's script needs (the `js.*` texts, without the prefix)."""
        return {key[3:]: text for key, text in self.texts.items() if key.startswith("js.")}

    def message(self, english: str) -> str:
        """A server message (an error the core raised, in English) in this language."""
        key, values = _message_key(english)
        if key is None:
            log.warning("portal message without a translation: %r", english)
            return english
        try:
            return self(key, **values)
        except (KeyError, ValueError):  # a text whose {names} do not fit: English is better than nothing
            log.warning("%s text for %s does not fit %r", self.lang, key, english)
            return english


@lru_cache(maxsize=None)
def _english_messages() -> tuple[dict[str, str], list[tuple[re.Pattern[str], str]]]:
    """English `err.*` texts: exact ones by text, and patterns for those with {values}."""
    exact: dict[str, str] = {}
    patterns: list[tuple[re.Pattern[str], str]] = []
    for key, text in load_catalogue("en").items():
        if not key.startswith("err."):
            continue
        if placeholders(text):
            parts = _PLACEHOLDER.split(text)  # literal, name, literal, name, ...
            regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts))
            patterns.append((re.compile(regex + r"\Z", re.S), key))
        else:
            exact[text] = key
    return exact, patterns


def _message_key(english: str) -> tuple[str | None, dict[str, str]]:
    exact, patterns = _english_messages()
    if english in exact:
        return exact[english], {}
    for pattern, key in patterns:
        found = pattern.match(english)
        if found:
            return key, found.groupdict()
    return None, {}


@lru_cache(maxsize=None)
def catalogue(lang: str) -> Catalogue:
    english = load_catalogue("en")
    return Catalogue(lang, english if lang == "en" else load_catalogue(lang), english)


def from_accept_language(header: str | None) -> str:
    """The first of our languages the browser asks for (by q-value), else English."""
    best, best_q = DEFAULT, -1.0
    for position, item in enumerate((header or "")[:200].split(",")):
        name, _, params = item.strip().partition(";")
        lang = name.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        q -= position * 1e-6  # the earlier of two equal weights wins
        if lang in LANGUAGES and 0 < q and q > best_q:  # q=0 means "not this one"
            best, best_q = lang, q
    return best


def choose(query_lang: str | None, cookie_lang: str | None, accept_language: str | None) -> tuple[str, bool]:
    """(language, whether to remember it in the cookie)."""
    if query_lang in LANGUAGES:
        return query_lang, query_lang != cookie_lang
    if cookie_lang in LANGUAGES:
        return cookie_lang, False
    return from_accept_language(accept_language), False
