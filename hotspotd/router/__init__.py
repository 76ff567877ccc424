"""The routers of a site: their records (and, with the router work, the RouterOS API)."""

from .records import RouterView, add_router, list_routers, router_views

__all__ = ["RouterView", "add_router", "list_routers", "router_views"]
