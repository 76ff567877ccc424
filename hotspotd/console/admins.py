"""Console accounts and their logins.

Accounts have a role: `admin` may do everything; `operator` may sell, look up, kick and
make vouchers, but not change packages, routers, accounts or settings. Passwords are kept
as scrypt hashes (`scrypt$N$r$p$salt$digest`, unchanged since the first release, so old
accounts keep working). Hashing costs ~50 ms of CPU on purpose: the admin process runs it
off its event loop (`hotspotd.web.admin.auth.Hasher`).

A login is a row in `admin_session`: the browser holds a random token in a cookie, the
store keeps only its SHA-256 (a stolen database does not log anyone in), with the CSRF
token of that login. A login ends on logout, after `idle` seconds without a request, after
`max_age` seconds in all, and when the account's password changes or it is removed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Callable

from . import audit
from .audit import Actor
from ..errors import Conflict, InvalidInput, NotFound
from ..store.db import db, write_transaction
from ..store.models import AdminSession, AdminUser, from_db_time, iso

_N, _R, _P = 2**14, 8, 1
TOUCH_EVERY = timedelta(seconds=30)  # a login's last-seen time is written at most this often
_LOGIN = ('SELECT s."seen_at", s."created_at", s."csrf_token", u."id", u."username", u."role" FROM "admin_session" s '
          'JOIN "admin_user" u ON u."id" = s."admin_user_id" WHERE s."token_hash" = ?')


class AdminRole(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                               dklen=len(digest) // 2)
    return hmac.compare_digest(candidate.hex(), digest)


def _clean_name(username: str) -> str:
    username = (username or "").strip()
    if not username or len(username) > 64 or any(ch.isspace() or not ch.isprintable() for ch in username):
        raise InvalidInput("an account needs a name of 1-64 characters without spaces")
    return username


def _check_password_rule(password: str) -> None:
    if not isinstance(password, str) or len(password) < 8:
        raise InvalidInput("a password needs at least 8 characters")
    if len(password) > 200:
        raise InvalidInput("a password may have 200 characters at most")


def _role(role: str) -> AdminRole:
    try:
        return AdminRole(role)
    except ValueError:
        raise InvalidInput("role must be admin or operator") from None


def account_dict(user: AdminUser) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "role": user.role, "created_at": iso(user.created_at),
            "password_changed_at": iso(user.password_changed_at) if user.password_changed_at else None,
            "logins": user.sessions.count()}


def add_admin(username: str, password: str, now: datetime, *, role: str = AdminRole.ADMIN,
              by: Actor | None = None) -> AdminUser:
    username = _clean_name(username)
    _check_password_rule(password)
    role = _role(role)
    hashed = hash_password(password)
    with write_transaction():
        if AdminUser.select().where(AdminUser.username == username).exists():
            raise Conflict(f"account {username!r} exists already")
        user = AdminUser.create(username=username, password_hash=hashed, created_at=now, role=role,
                                password_changed_at=now)
        audit.record(by or audit.COMMAND_LINE, "account.add", f"account {username}", now, role=role.value)
    return user


def _get(username: str) -> AdminUser:
    user = AdminUser.get_or_none(AdminUser.username == (username or ""))
    if user is None:
        raise NotFound(f"no account {username!r}")
    return user


def _admins_left_without(user: AdminUser) -> int:
    return AdminUser.select().where((AdminUser.role == AdminRole.ADMIN) & (AdminUser.id != user.id)).count()


def set_password(username: str, password: str, now: datetime, *, by: Actor | None = None) -> None:
    """Change an account's password; every login of that account ends."""
    _check_password_rule(password)
    hashed = hash_password(password)
    with write_transaction():
        user = _get(username)
        AdminUser.update(password_hash=hashed, password_changed_at=now).where(AdminUser.id == user.id).execute()
        AdminSession.delete().where(AdminSession.admin_user == user.id).execute()
        audit.record(by or audit.COMMAND_LINE, "account.password", f"account {user.username}", now)


def set_role(username: str, role: str, now: datetime, *, by: Actor | None = None) -> None:
    role = _role(role)
    with write_transaction():
        user = _get(username)
        if user.role == AdminRole.ADMIN and role != AdminRole.ADMIN and not _admins_left_without(user):
            raise Conflict("this is the only admin account, and there must always be an admin: "
                           "make another account admin first")
        AdminUser.update(role=role).where(AdminUser.id == user.id).execute()
        audit.record(by or audit.COMMAND_LINE, "account.role", f"account {user.username}", now, role=role.value)


def remove_admin(username: str, now: datetime, *, by: Actor | None = None) -> None:
    """Remove an account (its logins end with it). The last admin cannot be removed."""
    with write_transaction():
        user = _get(username)
        if user.role == AdminRole.ADMIN and not _admins_left_without(user):
            raise Conflict("this is the only admin account, and there must always be an admin: "
                           "add another admin first")
        AdminSession.delete().where(AdminSession.admin_user == user.id).execute()
        user.delete_instance()
        audit.record(by or audit.COMMAND_LINE, "account.remove", f"account {user.username}", now)


def list_admins() -> list[dict[str, Any]]:
    return [account_dict(u) for u in AdminUser.select().order_by(AdminUser.username)]


# Checked against when the name is unknown: the same work either way, so the time taken
# does not tell which names exist.
_NO_SUCH_ACCOUNT = f"scrypt${_N}${_R}${_P}${'00' * 16}${'00' * 32}"


def authenticate(username: str, password: str, *,
                 check: Callable[[str, str], bool] = check_password) -> AdminUser | None:
    """The account if the password is right. `check` does the slow part (scrypt); the
    admin process passes one that runs it off its event loop."""
    user = AdminUser.get_or_none(AdminUser.username == (username or "")[:64])
    stored = user.password_hash if user is not None else _NO_SUCH_ACCOUNT
    good = check((password or "")[:200], stored)
    return user if user is not None and good else None


# -- logins

@dataclass(frozen=True)
class Login:
    """Who is behind a console request."""

    user_id: int
    username: str
    role: AdminRole
    csrf_token: str
    token_hash: str

    def actor(self, address: str | None) -> Actor:
        return Actor(self.username, self.role.value, address)


LOGINS_PER_ACCOUNT = 20  # browsers and phones one person keeps logged in, with room to spare
_OLDEST_LOGINS = ('DELETE FROM "admin_session" WHERE "admin_user_id" = ? AND "token_hash" NOT IN '
                  '(SELECT "token_hash" FROM "admin_session" WHERE "admin_user_id" = ? '
                  'ORDER BY "created_at" DESC, rowid DESC LIMIT ?)')


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_login(user: AdminUser, now: datetime, *, remote_addr: str | None, user_agent: str | None) -> tuple[str, Login]:
    """A new login for `user`: returns the cookie token (shown once) and the login. Past
    `LOGINS_PER_ACCOUNT` at once the account's oldest logins end (a script logging in
    again and again would otherwise leave a row each, never presented again)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    with write_transaction():
        AdminSession.create(token_hash=_digest(token), admin_user=user.id, csrf_token=csrf, created_at=now,
                            seen_at=now, remote_addr=remote_addr, user_agent=(user_agent or "")[:200])
        db.execute_sql(_OLDEST_LOGINS, (user.id, user.id, LOGINS_PER_ACCOUNT))
        audit.record(Actor(user.username, user.role, remote_addr), "login", f"account {user.username}", now)
    return token, Login(user.id, user.username, AdminRole(user.role), csrf, _digest(token))


def login_for(token: str | None, now: datetime, *, idle: float, max_age: float, touch: bool = True) -> Login | None:
    """The login a cookie token belongs to, if it has not ended; notes it was seen (unless
    `touch` is False: an open websocket checking it is still valid is no activity)."""
    if not token or len(token) > 100:
        return None
    digest = _digest(token)
    # Plain SQL: this runs on every console request.
    row = db.execute_sql(_LOGIN, (digest,)).fetchone()
    if row is None:
        return None
    seen_at, created_at, csrf, user_id, username, role = row
    seen, created = from_db_time(seen_at), from_db_time(created_at)
    if now - seen > timedelta(seconds=idle) or now - created > timedelta(seconds=max_age):
        with write_transaction():
            AdminSession.delete().where(AdminSession.token_hash == digest).execute()
        return None
    if touch and now - seen >= TOUCH_EVERY:
        with write_transaction():
            AdminSession.update(seen_at=now).where(AdminSession.token_hash == digest).execute()
    return Login(user_id, username, AdminRole(role), csrf, digest)


def end_login(login: Login, now: datetime, *, remote_addr: str | None) -> None:
    with write_transaction():
        AdminSession.delete().where(AdminSession.token_hash == login.token_hash).execute()
        audit.record(login.actor(remote_addr), "logout", f"account {login.username}", now)
