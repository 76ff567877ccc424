"""The operator's logins at the receiver: accounts (scrypt hashes, as for the admin page)
and sessions (a random token in a cookie; only its hash is stored)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from ..console.admins import check_password, hash_password
from ..errors import Conflict, InvalidInput
from .store import CentralStore, Operator, OperatorSession

SESSION_TTL = timedelta(hours=12)


def add_operator(store: CentralStore, username: str, password: str, now: datetime, *, replace: bool = False) -> None:
    username = (username or "").strip()
    if not 1 <= len(username) <= 64:
        raise InvalidInput("an operator needs a name of 1-64 characters")
    if len(password) < 8:
        raise InvalidInput("an operator password needs at least 8 characters")
    hashed = hash_password(password)
    with store.write():
        existing = Operator.get_or_none(Operator.username == username)
        if existing and not replace:
            raise Conflict(f"operator {username!r} exists already")
        if existing:
            Operator.update(password_hash=hashed).where(Operator.username == username).execute()
        else:
            Operator.create(username=username, password_hash=hashed, created_at=now)


def authenticate(username: str, password: str) -> bool:
    operator = Operator.get_or_none(Operator.username == (username or ""))
    if operator is None:
        hash_password(password or "x")  # the same work either way: do not reveal which names exist
        return False
    return check_password(password or "", operator.password_hash)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(store: CentralStore, username: str, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    with store.write():
        OperatorSession.delete().where(OperatorSession.expires_at < now).execute()
        OperatorSession.create(token_hash=_hash(token), username=username, expires_at=now + SESSION_TTL)
    return token


def session_user(token: str | None, now: datetime) -> str | None:
    if not token or len(token) > 100:
        return None
    session = OperatorSession.get_or_none(OperatorSession.token_hash == _hash(token))
    return session.username if session and session.expires_at > now else None


def end_session(store: CentralStore, token: str | None) -> None:
    if token:
        with store.write():
            OperatorSession.delete().where(OperatorSession.token_hash == _hash(token)).execute()
