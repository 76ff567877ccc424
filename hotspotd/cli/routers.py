"""Routers (NAS): router add/set/list/probe/remove/script/deploy/sessions/kick.

The RADIUS secret and the API password are best kept off the command line: `--secret -`
and `--api-password -` read them (a prompt on a terminal, else stdin: the secret's line
first, then the password's); `router add` without `--secret` reads the secret the same way.
"""

from __future__ import annotations

import argparse
import sys

from . import STDIN, add_list, open_runtime, print_rows, read_secret


def cmd_router_add(args: argparse.Namespace) -> int:
    from ..router import add_router
    from ..router.records import api_warnings
    from ..store.db import utcnow

    open_runtime(args)
    secret = read_secret("RADIUS secret", args.secret)
    api_password = read_secret("API password", STDIN) if args.api_password == STDIN else args.api_password
    router = add_router(name=args.name, host=args.host, api_port=args.api_port, api_user=args.api_user,
                        api_password=api_password, secret=secret, nas_ip=args.nas_ip or args.host,
                        coa_port=args.coa_port, mode=args.mode, api_tls=args.tls, api_fingerprint=args.fingerprint,
                        now=utcnow())
    print(f"router {router.id} added: {router.name} ({router.mode} mode, API port {router.api_port})")
    for warning in api_warnings(router):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def cmd_router_set(args: argparse.Namespace) -> int:
    from ..router import update_router

    open_runtime(args)
    changes = {key: getattr(args, key) for key in ("name", "host", "api_port", "api_user", "nas_ip", "coa_port",
                                                   "mode", "api_tls", "api_fingerprint")
               if getattr(args, key) is not None}
    if args.secret is not None:
        changes["secret"] = read_secret("RADIUS secret", args.secret)
    if args.api_password is not None:
        changes["api_password"] = read_secret("API password", args.api_password)
    if not changes:
        from ..errors import InvalidInput

        raise InvalidInput("nothing to change: give one of the options (router set --help)")
    router = update_router(args.router, changes)
    print(f"router {router.id} changed: {', '.join(sorted(changes))}")
    return 0


def cmd_router_list(args: argparse.Namespace) -> int:
    from ..router import list_routers

    open_runtime(args)
    print_rows(list_routers(), args.json, ("id", "name", "host", "api_port", "mode", "nas_ip", "status",
                                           "ros_version", "board"))
    return 0


def cmd_router_probe(args: argparse.Namespace) -> int:
    from ..router import operations

    with open_runtime(args) as rt:
        result = operations.probe(rt, args.name)
    if result.resource is None:
        print(f"{result.name}: no answer ({result.error}); shown {result.status}", file=sys.stderr)
        return 1
    r = result.resource
    print(f"{result.name}: online, RouterOS {r.version}, {r.board}, up {r.uptime_s} s, CPU {r.cpu_load}%, "
          f"{r.free_memory} bytes free")
    return 0


def cmd_router_remove(args: argparse.Namespace) -> int:
    from ..router import remove_router

    open_runtime(args)
    router = remove_router(args.name)
    print(f"router {router.id} removed: {router.name}")
    return 0


def cmd_router_script(args: argparse.Namespace) -> int:
    from ..router import operations

    rt = open_runtime(args)
    sys.stdout.write(operations.script(rt, args.name, service=args.service, interface=args.interface,
                                       network=args.network))
    return 0


def cmd_router_deploy(args: argparse.Namespace) -> int:
    from ..router import operations

    with open_runtime(args) as rt:
        ok = operations.deploy(rt, args.name, report=lambda line: print(line, flush=True), service=args.service,
                               interface=args.interface, network=args.network)
    return 0 if ok else 1


def cmd_router_sessions(args: argparse.Namespace) -> int:
    from ..router import operations

    with open_runtime(args) as rt:
        listed = operations.refresh_sessions(rt, args.name)
    print_rows(listed["sessions"], args.json, ("id", "kind", "user", "mac", "ip", "uptime_s", "bytes_in", "bytes_out"))
    return 0


def cmd_router_kick(args: argparse.Namespace) -> int:
    from ..router import operations

    with open_runtime(args) as rt:
        kicked = operations.kick_matching(rt, args.name, user=args.user, mac=args.mac, active_id=args.id)
    for each in kicked:
        extra = "; Disconnect-Request queued" if each["disconnect_requested"] else ""
        print(f"kicked {each['kind']} session of {each['user']} ({each['mac'] or '-'}) at {each['router']}{extra}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    router = commands.add_parser("router", help="routers (NAS)").add_subparsers(dest="action", required=True)
    add = router.add_parser("add")
    add.add_argument("--name", required=True)
    add.add_argument("--host", required=True)
    add.add_argument("--api-port", type=int, default=None, help="8728, or 8729 with --tls")
    add.add_argument("--api-user", default="")
    add.add_argument("--api-password", default="", help="- : read it (a prompt, or stdin after the secret)")
    add.add_argument("--tls", action="store_true", help="API over TLS (api-ssl)")
    add.add_argument("--fingerprint", default=None, help="SHA-256 of the router's API certificate, to pin")
    add.add_argument("--mode", choices=("radius", "api"), default="radius",
                     help="radius: hotspotd's RADIUS logs customers in (default); api: hotspot users on the router")
    add.add_argument("--secret", default=None,
                     help="RADIUS shared secret; - or leave it out: read it (a prompt, or the first line of stdin)")
    add.add_argument("--nas-ip", default=None, help="address RADIUS packets come from (default: --host)")
    add.add_argument("--coa-port", type=int, default=3799)
    add.set_defaults(func=cmd_router_add)
    change = router.add_parser("set", help="change a router (only the options given)")
    change.add_argument("router", help="router name or id")
    change.add_argument("--name")
    change.add_argument("--host")
    change.add_argument("--api-port", type=int)
    change.add_argument("--api-user")
    change.add_argument("--api-password", help="- : read it (a prompt, or stdin after the secret)")
    change.add_argument("--tls", dest="api_tls", action=argparse.BooleanOptionalAction, default=None)
    change.add_argument("--fingerprint", dest="api_fingerprint", help="SHA-256 of the router's API certificate")
    change.add_argument("--mode", choices=("radius", "api"))
    change.add_argument("--secret", help="RADIUS shared secret; - : read it (a prompt, or stdin)")
    change.add_argument("--nas-ip")
    change.add_argument("--coa-port", type=int)
    change.set_defaults(func=cmd_router_set)
    add_list(router, "list", cmd_router_list)
    for name, func, help in (("probe", cmd_router_probe, "ask the router now (/system/resource)"),
                             ("remove", cmd_router_remove, "forget a router"),
                             ("script", cmd_router_script, "print the configuration as a RouterOS script (.rsc)"),
                             ("deploy", cmd_router_deploy, "configure the router through its API, step by step")):
        sub = router.add_parser(name, help=help)
        sub.add_argument("name", help="router name or id")
        sub.set_defaults(func=func)
        if name in ("script", "deploy"):
            sub.add_argument("--service", choices=("hotspot", "pppoe", "dhcp"), default="hotspot",
                             help="what to set up: the hotspot (default), PPPoE for home subscribers, or plain DHCP")
            sub.add_argument("--interface", default=None, help="pppoe, dhcp: the interface it runs on, e.g. ether2")
            sub.add_argument("--network", default="10.30.0.0/24",
                             help="dhcp: the network to serve (the router takes its first address)")
    sessions = add_list(router, "sessions", cmd_router_sessions, help="who is online at a router now")
    sessions.add_argument("name", help="router name or id")
    kick = router.add_parser("kick", help="log a session out at a router")
    kick.add_argument("name", help="router name or id")
    kick.add_argument("--user", default=None)
    kick.add_argument("--mac", default=None)
    kick.add_argument("--id", default=None, help="the router's active .id, e.g. *1A")
    kick.set_defaults(func=cmd_router_kick)
