"""The routers as the admin console uses them: list, create, edit, remove; and the work
that talks to a router (probe, live sessions, kick, deploy) sent to the worker, so a
router that answers slowly never holds up a page. Results arrive as events
(`router.online`, `router.sessions`, `router.deploy.*`) and in the records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..plumbing import tasks
from ..errors import InvalidInput
from ..store.db import storage_errors
from . import live, records
from .operations import script
from .services import describe_service

DHCP_NETWORK = "10.30.0.0/24"  # the default network a DHCP deploy serves (as `router deploy --network`)

if TYPE_CHECKING:
    from ..config import Config
    from ..plumbing.runtime import Runtime

FIELDS = {"name": str, "host": str, "secret": str, "nas_ip": str, "api_port": int, "api_user": str,
          "api_password": str, "coa_port": int, "mode": str, "api_tls": bool, "api_fingerprint": str}


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    unknown = set(body) - set(FIELDS)
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(sorted(unknown))}")
    out = {}
    for key, value in body.items():
        kind = FIELDS[key]
        if value is None:
            out[key] = None
        elif kind is bool:
            if not isinstance(value, bool):
                raise InvalidInput(f"{key} must be true or false")
            out[key] = value
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
                raise InvalidInput(f"{key} must be a number")
            out[key] = int(value)
        else:
            if not isinstance(value, str) or len(value) > 200:
                raise InvalidInput(f"{key} must be a short text")
            out[key] = value
    return out


class RouterConsole:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    @classmethod
    def for_config(cls, config: Config) -> RouterConsole:
        from ..plumbing.runtime import Runtime

        return cls(Runtime(config))

    def list(self) -> list[dict[str, Any]]:
        with storage_errors("routers"):
            return records.list_routers()

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        fields = _fields(body)
        for key in ("name", "host", "secret"):
            if not fields.get(key):
                raise InvalidInput(f"{key} is required")
        with storage_errors("add router"):
            router = records.add_router(**{k: v for k, v in fields.items() if v is not None})
            return records.router_dict(router)

    def edit(self, router_id: int, body: dict[str, Any]) -> dict[str, Any]:
        with storage_errors("edit router"):
            return records.router_dict(records.update_router(router_id, _fields(body)))

    def remove(self, router_id: int) -> dict[str, Any]:
        with storage_errors("remove router"):
            router = records.remove_router(router_id)
        return {"id": router.id, "name": router.name, "removed": True}

    def probe(self, router_id: int) -> dict[str, Any]:
        router = records.get_router(router_id)
        self.rt.queue.dispatch(tasks.probe_router, router.id)
        return {"id": router.id, "queued": "probe"}

    def sessions(self, router_id: int, refresh: bool = False) -> dict[str, Any]:
        router = records.get_router(router_id)
        if refresh:
            self.rt.queue.dispatch(tasks.refresh_sessions, router.id)
        return {**live.listed(router.id), "refreshing": refresh}

    def kick(self, live_session_id: int) -> dict[str, Any]:
        found = live.find(live_session_id)
        self.rt.queue.dispatch(tasks.kick_session, found.id)
        return {"id": found.id, "queued": "kick", "user": found.user, "mac": found.mac}

    def deploy(self, router_id: int, service: str = "hotspot", interface: str | None = None,
               network: str | None = None) -> dict[str, Any]:
        """Queue a deploy of `service` (hotspot, pppoe, dhcp); what it needs is checked now,
        so a missing interface is a clear 400, not a failed run."""
        router = records.get_router(router_id)
        network = network or DHCP_NETWORK
        describe_service(router, self.rt.config, service, interface=interface, network=network)
        self.rt.queue.dispatch(tasks.deploy_router, router.id, service, interface, network)
        return {"id": router.id, "queued": "deploy", "service": service}

    def script(self, router_id: int, service: str = "hotspot", interface: str | None = None,
               network: str | None = None) -> str:
        return script(self.rt, router_id, service=service, interface=interface, network=network or DHCP_NETWORK)
