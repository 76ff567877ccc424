"""Admin accounts for the admin pages. Passwords are kept as scrypt hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from .errors import Conflict, InvalidInput
from .store.db import write_transaction
from .store.models import AdminUser

_N, _R, _P = 2**14, 8, 1


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


def add_admin(username: str, password: str, now: datetime) -> AdminUser:
    username = (username or "").strip()
    if not username or len(username) > 64:
        raise InvalidInput("an admin needs a name of 1-64 characters")
    if len(password) < 8:
        raise InvalidInput("an admin password needs at least 8 characters")
    with write_transaction():
        if AdminUser.select().where(AdminUser.username == username).exists():
            raise Conflict(f"admin {username!r} exists already")
        return AdminUser.create(username=username, password_hash=hash_password(password), created_at=now)


def authenticate(username: str, password: str) -> AdminUser | None:
    user = AdminUser.get_or_none(AdminUser.username == (username or ""))
    if user is None:
        hash_password(password or "x")  # same work either way: do not reveal which names exist
        return None
    return user if check_password(password or "", user.password_hash) else None
