"""`hotspotd doctor`: checks a running site, one line per check; exit 1 when one fails.

The core checks are in `hotspotd.operations.health`; this module adds what needs a protocol: each
role is asked as its clients ask it (the portal and admin `/healthz` over HTTP, the RADIUS
server a Status-Server (RFC 5997) signed with the site's status secret, the worker through
the reconciler's last pass as the queue records it).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING

from ..plumbing.processes import unit_of
from . import load

if TYPE_CHECKING:
    from ..config import Config
    from ..operations.health import Check
    from ..plumbing.runtime import Runtime

HTTP_TIMEOUT = 5.0
RADIUS_TIMEOUT = 1.5


def _local(host: str) -> str:
    """Where to reach a server bound to `host` from this box."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def probe_http(name: str, listen: tuple[str, int]) -> Check:
    import urllib.error
    import urllib.request

    from ..operations.health import FAIL, OK, Check

    host, port = _local(listen[0]), listen[1]
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/healthz"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=HTTP_TIMEOUT) as response:
            body = json.loads(response.read() or b"{}")
        if body.get("status") == "ok":
            return Check(f"role {name}", OK, f"{url} answers")
        return Check(f"role {name}", FAIL, f"{url} answered {body}")
    except urllib.error.HTTPError as exc:
        return Check(f"role {name}", FAIL, f"{url} answered HTTP {exc.code} (503: the database does not answer)")
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Check(f"role {name}", FAIL, f"{url} does not answer ({reason}): is {unit_of(name)} running?")


def probe_radius(config: Config, secret: bytes | None) -> Check:
    """A Status-Server to the auth port; an Access-Accept signed with the secret means it serves."""
    import socket

    from ..operations.health import FAIL, OK, Check
    from ..radius import packet as rp

    if not secret:
        return Check("role radius", FAIL, "no status secret in the database: run `hotspotd init`")
    host, port = _local(config.radius.listen), config.radius.auth_port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    ident = os.urandom(1)[0]
    request = rp.encode_request(rp.STATUS_SERVER, ident, secret,
                                rp.attr(rp.NAS_IDENTIFIER, b"hotspotd-doctor"))
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(RADIUS_TIMEOUT)
        for _ in range(2):
            try:
                sock.sendto(request, (host, port))
                data = sock.recv(4096)
            except OSError:
                continue
            try:
                reply = rp.decode(data)
            except rp.MalformedPacket:
                continue
            if (reply.code == rp.ACCESS_ACCEPT and reply.ident == ident
                    and rp.response_authenticator_ok(reply, request[4:20], secret)):
                return Check("role radius", OK, f"Status-Server to {host}:{port} answered")
    return Check("role radius", FAIL, f"no answer to Status-Server on {host}:{port} within "
                                      f"{2 * RADIUS_TIMEOUT:.0f} s: is hotspotd-radius running?")


def router_probe(runtime: Runtime):
    """A look at a router as the worker takes it: log in to its API and read
    /system/resource (nothing is recorded); a plain TCP connect where no API login is set."""
    from ..operations import health
    from ..errors import HotspotdError
    from ..router.probe import read_resource
    from ..router.records import get_router, target

    def probe(row: dict) -> tuple[bool, str]:
        if not row.get("api_user"):
            return health.router_reachable(row)
        try:
            with runtime.routers.session(target(get_router(row["id"]))) as api:
                found = read_resource(api)
        except HotspotdError as exc:
            return False, f"API {row['host']}:{row['api_port']}: {exc}"
        return True, f"API answers: RouterOS {found.version or '?'} on {found.board or 'an unknown board'}"

    return probe


def run_checks(config: Config) -> list[Check]:
    from ..operations import health
    from ..router import list_routers
    from ..plumbing.runtime import Runtime
    from ..store import open_store
    from ..store.db import db, utcnow
    from ..access_loader import status_secret
    from ..plumbing.clock import SiteClock

    now = utcnow()
    checks = health.check_config(config)
    checks += health.check_databases(config)
    checks.append(health.check_disk(config))
    app_ok = all(c.status != health.FAIL for c in checks if c.name == "app database")
    secret = reading = None
    routers: list[dict] = []
    if app_ok:
        open_store(config)
        reading = SiteClock(require_ntp=config.site.require_ntp).reading()
        secret = status_secret()
        routers = list_routers()
    checks.append(health.check_clock(reading, now))
    checks.append(probe_http("portal", config.portal.listen))
    checks.append(probe_http("admin", config.admin.listen))
    checks.append(probe_radius(config, secret))
    with Runtime(config) as runtime:
        if config.queue_db_path.exists():
            checks.append(health.check_worker(runtime.queue.last_reconciled(), utcnow(),
                                              config.queue.reconcile_interval))
        else:
            checks.append(health.Check("role worker", health.FAIL, "no queue database: run `hotspotd init`"))
        if app_ok:
            checks += health.check_routers(routers, probe=router_probe(runtime))
        checks.append(health.check_daraja(runtime.daraja.access_token))
    checks.append(health.check_callback_url(config))
    if not db.is_closed():
        db.close()
    return checks


def cmd_doctor(args: argparse.Namespace) -> int:
    checks = run_checks(load(args))
    if args.json:
        print(json.dumps([check.as_dict() for check in checks], indent=1))
    else:
        for check in checks:
            print(f"{check.status.upper():4}  {check.name}: {check.message}")
    return 1 if any(check.status == "fail" for check in checks) else 0


def register(commands: argparse._SubParsersAction) -> None:
    doctor = commands.add_parser("doctor", help="check a running site, one line per check (exit 1 on a failure)")
    doctor.add_argument("--json", action="store_true", help="print JSON for scripts")
    doctor.set_defaults(func=cmd_doctor)
