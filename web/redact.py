"""Secrets out of the portal's logs.

The callback token is the path segment that keeps strangers from posting payments to the
Daraja routes, and paths get logged: an unexpected error names the route it happened on,
and bottle writes the traceback of one to `wsgi.errors` (stderr, the journal). So the
portal process replaces the token with `<token>` in every log record it makes, whoever
logs it (hotspotd, bottle, waitress) and wherever it goes: `Redaction` is a log record
factory, so no handler added later escapes it. `errors_to_log` sends what the WSGI
stack writes to `wsgi.errors` through logging, where it is redacted too.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

log = logging.getLogger(__name__)

MARK = "<token>"


class Redaction:
    """Replaces each secret with MARK in the message, traceback and stack of every log
    record made while installed."""

    def __init__(self, secrets: Iterable[str], mark: str = MARK) -> None:
        self.secrets = tuple(s for s in secrets if s)
        self.mark = mark
        self._previous: Callable[..., logging.LogRecord] | None = None

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, self.mark)
        return text

    def _make(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self._previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot be formatted: logging reports that itself
            return record
        scrubbed = self.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            if self.scrub(text) != text:
                record.exc_text = self.scrub(text)  # formatters use it instead of formatting again
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return record

    def install(self) -> Redaction:
        if self.secrets and self._previous is None:
            self._previous = logging.getLogRecordFactory()
            logging.setLogRecordFactory(self._make)
        return self

    def uninstall(self) -> None:
        if self._previous is not None and logging.getLogRecordFactory() == self._make:
            logging.setLogRecordFactory(self._previous)
        self._previous = None


class _ErrorsLog:
    """A `wsgi.errors` stream whose lines become log records."""

    def __init__(self) -> None:
        self._pending = ""

    def write(self, text: str) -> None:
        self._pending += text

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._pending.strip():
            log.error("%s", self._pending.rstrip("\n"))
        self._pending = ""


def errors_to_log(app: Callable[..., Any]) -> Callable[..., Any]:
    """The WSGI `app` with `wsgi.errors` going to this module's logger (see the docstring)."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        stream = _ErrorsLog()
        environ["wsgi.errors"] = stream
        try:
            return app(environ, start_response)
        finally:
            stream.flush()

    return wrapped
