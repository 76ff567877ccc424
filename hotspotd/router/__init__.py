"""The routers of a site: their records, and managing them through the RouterOS API.

    records.py        router records; the RADIUS view of them
    api.py            the interface the core uses (RouterApi) and its errors
    client.py         RouterApi over librouteros, every reply within limits (imported only
                      where a router is talked to)
    pool.py           the API connections of a process, reused where safe
    probe.py          /system/resource: online/offline, version, board, uptime
    hotspot_users.py  hotspot users and profiles (api mode); kick
    wanted.py         what an api-mode router should hold, from the store
    push.py           pushing users over several connections
    login.py          auto-login of a paying device at its router
    hosts.py          who is asking: the device behind an address, from the host tables
    live.py           live sessions (hotspot and PPPoE active), kick
    configuration.py  the one description of a router's configuration (device-mode check,
                      RADIUS, hotspot profile, IP walled garden, NAT exemption, login page)
    deploy.py         applying it step by step; script.py: rendering it as .rsc, quoted
    reconcile.py      comparing a router with the store and fixing it
    watch.py          the worker's periodic router work
    operations.py     whole use cases (tasks, CLI); console.py: the admin's
"""

from .records import RouterView, add_router, get_router, list_routers, remove_router, router_views, update_router

__all__ = ["RouterView", "add_router", "get_router", "list_routers", "remove_router", "router_views",
           "update_router"]
