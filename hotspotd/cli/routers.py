"""Routers (NAS): router add/list."""

from __future__ import annotations

import argparse

from . import add_list, open_runtime, print_rows


def cmd_router_add(args: argparse.Namespace) -> int:
    from ..router import add_router
    from ..store.db import utcnow

    open_runtime(args)
    router = add_router(name=args.name, host=args.host, api_port=args.api_port, api_user=args.api_user,
                        api_password=args.api_password, secret=args.secret, nas_ip=args.nas_ip or args.host,
                        coa_port=args.coa_port, now=utcnow())
    print(f"router {router.id} added: {router.name}")
    return 0


def cmd_router_list(args: argparse.Namespace) -> int:
    from ..router import list_routers

    open_runtime(args)
    print_rows(list_routers(), args.json, ("id", "name", "host", "api_port", "nas_ip", "coa_port", "status"))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    router = commands.add_parser("router", help="routers (NAS)").add_subparsers(dest="action", required=True)
    add = router.add_parser("add")
    add.add_argument("--name", required=True)
    add.add_argument("--host", required=True)
    add.add_argument("--api-port", type=int, default=8728)
    add.add_argument("--api-user", default="")
    add.add_argument("--api-password", default="")
    add.add_argument("--secret", required=True, help="RADIUS shared secret")
    add.add_argument("--nas-ip", default=None, help="address RADIUS packets come from (default: --host)")
    add.add_argument("--coa-port", type=int, default=3799)
    add.set_defaults(func=cmd_router_add)
    add_list(router, "list", cmd_router_list)
