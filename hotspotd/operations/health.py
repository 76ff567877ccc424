"""The checks of a running site that need no protocol server: what `hotspotd doctor` (and
partly `check-config`) report, one `Check` per line.

Each check is a small function that looks at one thing and says ok, warn (worth a look,
the site works) or fail (the site does not work as it should). The role probes (HTTP
/healthz, RADIUS Status-Server) live with the command, which may speak those protocols.
"""

from __future__ import annotations

import ipaddress
import socket
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from ..alerts.conditions import disk_free_percent
from ..config import Config
from ..errors import HotspotdError
from ..plumbing.clock import Reading, span
from ..store import migrations
from ..store.files import database_links, exposed, readable_by_others

OK, WARN, FAIL = "ok", "warn", "fail"
EARLIEST_SANE = datetime(2025, 1, 1, tzinfo=timezone.utc)  # a box without a clock battery boots in 1970
ROUTER_TIMEOUT = 3.0


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.name, "check": self.name, "status": self.status, "message": self.message}


def secret_file_warnings(config: Config) -> list[str]:
    """Files with secrets that every local user can read, one line each (empty when none)."""
    found = []
    if config.path is not None and readable_by_others(config.path):
        found.append(f"{config.path} can be read by every local user, and it holds the Daraja passkey, "
                     f"the callback token and the other secrets: chmod 640 {config.path} (owner root, group hotspotd)")
    if readable_by_others(config.state_dir):
        found.append(f"the state folder {config.state_dir} can be entered by every local user: chmod 750 it")
    files = exposed([config.app_db_path, config.queue_db_path, *sorted(config.backup_dir.glob("*.db"))])
    if files:
        found.append(f"{len(files)} database file(s) can be read by every local user (router secrets, customer "
                     f"passwords, phone numbers): chmod 640 {' '.join(str(p) for p in files[:4])}"
                     f"{' ...' if len(files) > 4 else ''}")
    return found


def check_config(config: Config) -> list[Check]:
    problems, doubts = config.problems(), config.warnings()
    checks = [Check("config", FAIL if problems else WARN if doubts else OK,
                    "; ".join(problems or doubts) or f"{config.path or '(defaults)'} is valid")]
    warnings = secret_file_warnings(config)
    checks.append(Check("secrets on disk", WARN if warnings else OK,
                        "; ".join(warnings) if warnings else "config, state folder and databases are private (0640/0750)"))
    return checks


def check_callback_url(config: Config) -> Check:
    url = config.callback_url
    shown = url.replace(config.mpesa.callback_token, "<token>") if config.mpesa.callback_token else url
    if any(p.startswith("[mpesa] callback") for p in config.problems()):
        return Check("callback url", FAIL, f"{shown} is refused: see the config check")
    host = urlsplit(url).hostname or ""
    doubts = []
    if not url.startswith("https://"):
        doubts.append("Daraja's production system wants https")
    if host == "localhost" or _private_host(host):
        doubts.append(f"{host} cannot be reached from the internet (the reconciler's STK queries will find "
                      "the payments instead)")
    return Check("callback url", WARN if doubts else OK, shown + (": " + "; ".join(doubts) if doubts else ""))


def _private_host(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local


def check_databases(config: Config) -> list[Check]:
    """Each database opens, passes SQLite's integrity_check, and the app one is migrated."""
    checks = []
    want = max(migrations.MIGRATIONS)
    for name, path in (("app database", config.app_db_path), ("queue database", config.queue_db_path)):
        links = database_links(path)
        if links:  # SQLite would read and write through them
            checks.append(Check(name, FAIL, f"{', '.join(map(str, links))}: symbolic link, refused; remove it"))
            continue
        if not path.exists():
            checks.append(Check(name, FAIL, f"no database at {path}: run `hotspotd init`"))
            continue
        try:
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as conn:
                result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
                version = None
                if name == "app database":
                    version = conn.execute('SELECT MAX("version") FROM "schema_migration"').fetchone()[0] or 0
        except sqlite3.DatabaseError as exc:
            checks.append(Check(name, FAIL, f"{path} cannot be read: {exc}"))
            continue
        if result != ["ok"]:
            checks.append(Check(name, FAIL, f"{path} is damaged: {'; '.join(result[:3])}; restore the latest backup"))
        elif version is not None and version < want:
            checks.append(Check(name, FAIL, f"{path} is at schema {version}, this hotspotd needs {want}: "
                                            "run `hotspotd init`"))
        else:
            size = path.stat().st_size / 1e6
            checks.append(Check(name, OK, f"{path} integrity ok{f', schema {version}' if version else ''}, "
                                          f"{size:.1f} MB"))
    return checks


def check_disk(config: Config) -> Check:
    free = disk_free_percent(config.state_dir if config.state_dir.exists() else Path("/"))
    limit = config.alerts.disk_free_percent
    if free < limit / 2:
        return Check("disk", FAIL, f"{free:.0f}% free on the state folder's disk: free some space now")
    if free < limit:
        return Check("disk", WARN, f"{free:.0f}% free on the state folder's disk (alert under {limit}%)")
    return Check("disk", OK, f"{free:.0f}% free on the state folder's disk")


SOURCES = {
    "ntp": "synchronised by NTP",
    "daraja": "agrees with Daraja's clock",
    "held": "has run unbroken since it was last believable (no step since)",
    "known-good": "not behind the last known-good time (require_ntp = no)",
}
RECENT_STEP = timedelta(hours=24)


def check_clock(reading: Reading | None, now: datetime) -> Check:
    """Whether the clock is believable and by what (`plumbing.clock`), and its last step.
    `reading` None: no database to read the clock's record from."""
    if reading is None:
        if now < EARLIEST_SANE:
            return Check("clock", FAIL, f"the clock says {now:%Y-%m-%d %H:%M} UTC: set the time (NTP) before selling")
        return Check("clock", WARN, f"{now:%Y-%m-%d %H:%M} UTC; no database to tell whether it is believable")
    step, recent = "", False
    if reading.last_step_at is not None and reading.last_step_s is not None:
        step = f"; last step {span(reading.last_step_s)} at {reading.last_step_at:%Y-%m-%d %H:%M} UTC"
        recent = abs(now - reading.last_step_at) < RECENT_STEP
    if not reading.believable:
        waited = f" for {span(reading.unbelievable_for)[1:]}" if reading.unbelievable_for >= 60 else ""
        return Check("clock", FAIL, f"{now:%Y-%m-%d %H:%M} UTC, not believable: {reading.reason}; "
                                    f"selling has waited{waited}{step}")
    return Check("clock", WARN if recent else OK,
                 f"{now:%Y-%m-%d %H:%M} UTC, believable: {SOURCES.get(reading.source, reading.source)}{step}")


def router_reachable(router: dict) -> tuple[bool, str]:
    """Does the router's API port answer? A plain TCP connect, for a router with no API
    login recorded; `router` is a row of `router list` (host, api_port)."""
    host, port = router["host"], router["api_port"]
    try:
        with socket.create_connection((host, port), timeout=ROUTER_TIMEOUT):
            return True, f"API port {host}:{port} answers"
    except OSError as exc:
        return False, f"API port {host}:{port} does not answer ({exc.strerror or type(exc).__name__})"


def check_routers(routers: list[dict], probe: Callable[[dict], tuple[bool, str]] = router_reachable) -> list[Check]:
    if not routers:
        return [Check("routers", WARN, "no router recorded: `hotspotd router add`")]
    checks = []
    for router in routers:
        ok, detail = probe(router)
        checks.append(Check(f"router {router['name']}", OK if ok else FAIL, detail))
        if router.get("warnings"):  # how the API is reached (records.api_warnings)
            checks.append(Check(f"router {router['name']} api", WARN, "; ".join(router["warnings"])))
        if router.get("hotspot_warnings"):  # what keeps the portal from knowing its customers
            checks.append(Check(f"router {router['name']} hotspot", WARN, "; ".join(router["hotspot_warnings"])))
    return checks


def check_daraja(token: Callable[[], str]) -> Check:
    """Daraja accepts the consumer key and secret (an OAuth token call)."""
    try:
        token()
    except HotspotdError as exc:
        return Check("daraja", FAIL, f"the token call failed: {exc}")
    return Check("daraja", OK, "credentials accepted (OAuth token issued)")


def check_worker(last_pass: datetime | None, now: datetime, interval: float) -> Check:
    if last_pass is None:
        return Check("role worker", FAIL, "the reconciler has not run: is hotspotd-backoffice running?")
    age = max(0.0, (now - last_pass).total_seconds())
    if age > 3 * interval + 30:
        return Check("role worker", FAIL, f"the reconciler's last pass was {age:.0f} s ago "
                                          f"(every {interval:.0f} s): the worker is stuck or stopped")
    return Check("role worker", OK, f"the reconciler's last pass was {age:.0f} s ago")
