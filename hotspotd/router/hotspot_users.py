"""Hotspot users and their profiles on an `api`-mode router (docs/protocols.md §2.1-§2.2;
§1.7 for "already have user").

One user profile per package (`hotspotd-<package id>`: rate-limit, shared-users), one
hotspot user per customer (their username), whose comment names the subscription it
stands for. "already have user with this name" means update, not failure. A user that
now stands for another subscription gets its counters reset, so the uptime and bytes of
the old one do not count against the new.
"""

from __future__ import annotations

from dataclasses import dataclass

from .api import RouterApi, RouterCommandRefused, same

USERS = "/ip/hotspot/user"
PROFILES = "/ip/hotspot/user/profile"
ACTIVE = "/ip/hotspot/active"
PROFILE_PREFIX = "hotspotd-"
COMMENT_PREFIX = "hotspotd subscription "


@dataclass(frozen=True)
class WantedProfile:
    name: str
    rate_limit: str
    shared_users: int
    comment: str

    def values(self) -> dict[str, str]:
        return {"name": self.name, "rate-limit": self.rate_limit, "shared-users": str(self.shared_users),
                "comment": self.comment}


@dataclass(frozen=True)
class WantedUser:
    subscription_id: int
    name: str
    password: str
    profile: str
    limit_uptime: str  # RouterOS time, e.g. 1d2h
    limit_bytes_total: int  # 0 = no cap

    @property
    def comment(self) -> str:
        return f"{COMMENT_PREFIX}{self.subscription_id}"

    def values(self) -> dict[str, str]:
        return {"name": self.name, "password": self.password, "profile": self.profile,
                "limit-uptime": self.limit_uptime, "limit-bytes-total": str(self.limit_bytes_total),
                "comment": self.comment}


def profile_name(package_id: int) -> str:
    return f"{PROFILE_PREFIX}{package_id}"


def differences(have: dict[str, str], want: dict[str, str]) -> dict[str, str]:
    """The values of `want` the router does not have yet."""
    return {k: v for k, v in want.items() if k != "name" and not same(have.get(k, ""), v)}


def ensure_profiles(api: RouterApi, profiles: list[WantedProfile]) -> list[str]:
    """Add missing profiles and correct changed ones; returns what changed (one line each)."""
    existing = {row.get("name"): row for row in api.print(PROFILES)}
    changes = []
    for profile in profiles:
        have = existing.get(profile.name)
        if have is None:
            try:
                api.add(PROFILES, profile.values())
                changes.append(f"profile {profile.name} added")
                continue
            except RouterCommandRefused as exc:
                if not exc.already_exists:  # else added a moment ago by another connection
                    raise
                have = api.print(PROFILES, where={"name": profile.name})[0]
        diff = differences(have, profile.values())
        if diff:
            api.set(PROFILES, have[".id"], diff)
            changes.append(f"profile {profile.name} updated ({', '.join(sorted(diff))})")
    return changes


def upsert_user(api: RouterApi, user: WantedUser, have: dict[str, str] | None = None) -> str:
    """Create or update the user; returns added | updated | unchanged. With `have` (the
    router's row, from a listing) no add is tried first."""
    if have is None:
        try:
            api.add(USERS, user.values())
            return "added"
        except RouterCommandRefused as exc:
            if not exc.already_exists:
                raise
        rows = api.print(USERS, where={"name": user.name})
        if not rows:  # removed in between: try once more
            api.add(USERS, user.values())
            return "added"
        have = rows[0]
    diff = differences(have, user.values())
    if not diff:
        return "unchanged"
    api.set(USERS, have[".id"], diff)
    if "comment" in diff:  # now a different subscription: its counters start from zero
        api.call(USERS, "reset-counters", {".id": have[".id"]})
    return "updated"


def kick(api: RouterApi, username: str) -> int:
    """Log the user's devices out (`/ip/hotspot/active/remove`); returns how many."""
    ids = [row[".id"] for row in api.print(ACTIVE, where={"user": username})]
    if ids:
        try:
            api.remove(ACTIVE, *ids)
        except RouterCommandRefused as exc:
            if not exc.no_such_item:  # logged out on its own meanwhile
                raise
    return len(ids)


def remove_user(api: RouterApi, username: str) -> bool:
    """Remove the user and kick its sessions; False when it was not there."""
    kick(api, username)
    ids = [row[".id"] for row in api.print(USERS, where={"name": username})]
    if ids:
        api.remove(USERS, *ids)
    return bool(ids)


def managed_users(api: RouterApi) -> list[dict[str, str]]:
    """The users hotspotd made (their comment says so); the operator's own are left alone."""
    return [row for row in api.print(USERS) if row.get("comment", "").startswith(COMMENT_PREFIX)]


def used_bytes(row: dict[str, str]) -> int:
    return sum(int(row.get(key) or 0) for key in ("bytes-in", "bytes-out") if str(row.get(key) or "0").isdigit())
