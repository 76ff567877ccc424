"""The central receiver's commands (run where the receiver runs, on its config):
central site add/list, central admin add, central package add/set/list,
central voucher make, central device block/unblock, central setting set."""

from __future__ import annotations

import argparse
import json

from . import add_list, load, print_rows, read_secret
from .sales import add_package_arguments


def _store(args: argparse.Namespace):
    from ..central.store import open_central_store

    return open_central_store(load(args).receiver_database)


def cmd_site_add(args: argparse.Namespace) -> int:
    from ..central.sites import add_site
    from ..store.db import utcnow

    registration = add_site(_store(args), args.name, utcnow())
    if args.json:
        print(json.dumps({"site_id": registration.site_id, "site_key": registration.site_key}))
    else:
        print(f"site {registration.name!r} added. Put these in the site's config; the key is not shown again:\n"
              f"[central]\nsite_id = {registration.site_id}\nsite_key = {registration.site_key}")
    return 0


def cmd_site_list(args: argparse.Namespace) -> int:
    from ..central.overview import overview
    from ..store.db import utcnow

    _store(args)
    rows = overview(utcnow(), load(args).site.timezone)["sites"]
    print_rows(rows, args.json, ("id", "name", "last_seen", "sync_lag_s", "waiting", "revenue_today",
                                 "revenue_week", "config_version", "config_latest"))
    return 0


def cmd_admin_add(args: argparse.Namespace) -> int:
    from ..central.operators import add_operator
    from ..store.db import utcnow

    store = _store(args)
    password = read_secret("password")
    add_operator(store, args.username, password, utcnow())
    print(f"operator {args.username} added")
    return 0


def cmd_package_add(args: argparse.Namespace) -> int:
    from ..central import configlog
    from ..store.db import utcnow

    package = configlog.add_package(_store(args), name=args.name, price=args.price, duration=args.duration,
                                    rate=args.rate, data=args.data, devices=args.devices, now=utcnow())
    print(f"central package {package.id} added: {package.name} (every site gets it at its next sync)")
    return 0


def cmd_package_set(args: argparse.Namespace) -> int:
    from ..central import configlog
    from ..store.db import utcnow

    active = None if args.active is None else args.active == "yes"
    data = configlog.set_package(_store(args), args.id, price=args.price, name=args.name, active=active,
                                 site_id=args.site, now=utcnow())
    print(f"central package {args.id}: {data['name']}, {data['price']} KES, "
          f"{'sold' if data['active'] else 'not sold'} ({'site ' + args.site if args.site else 'every site'})")
    return 0


def cmd_package_list(args: argparse.Namespace) -> int:
    from ..central.configlog import package_data
    from ..central.store import Package

    _store(args)
    rows = [{"id": p.id, **package_data(p)} for p in Package.select().order_by(Package.id)]
    print_rows(rows, args.json, ("id", "name", "price", "duration_s", "rate", "data_limit", "devices", "active"))
    return 0


def cmd_voucher_make(args: argparse.Namespace) -> int:
    from ..central import configlog
    from ..store.db import utcnow

    for code in configlog.issue_vouchers(_store(args), args.site, args.package, args.count, utcnow()):
        print(code)
    return 0


def cmd_device(args: argparse.Namespace) -> int:
    from ..central import configlog
    from ..store.db import utcnow

    store = _store(args)
    if args.action == "block":
        version = configlog.block_devices(store, args.macs, args.reason, args.site, utcnow())
    else:
        version = configlog.unblock_devices(store, args.macs, args.site, utcnow())
    print(f"configuration version {version}: {args.action} {', '.join(args.macs)}")
    return 0


def cmd_setting_set(args: argparse.Namespace) -> int:
    from ..central import configlog
    from ..errors import InvalidInput
    from ..store.db import utcnow

    values: dict[str, object] = {}
    for item in args.values:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"{item!r}: write settings as KEY=VALUE")
        if key in configlog.SYNC_SETTINGS:
            if value.lower() not in ("yes", "no", "true", "false"):
                raise InvalidInput(f"{key} must be yes or no")
            values[key] = value.lower() in ("yes", "true")
        else:
            values[key] = value
    version = configlog.set_settings(_store(args), values, args.site, utcnow())
    print(f"configuration version {version}: settings {', '.join(values)}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    central = commands.add_parser("central", help="the central receiver: sites, packages, vouchers, devices")
    groups = central.add_subparsers(dest="group", required=True)

    site = groups.add_parser("site", help="sites that sync here").add_subparsers(dest="action", required=True)
    add = site.add_parser("add", help="register a site; prints its id and key once")
    add.add_argument("name")
    add.add_argument("--json", action="store_true", help='print {"site_id": ..., "site_key": ...}')
    add.set_defaults(func=cmd_site_add)
    add_list(site, "list", cmd_site_list, help="every site with its figures")

    admin = groups.add_parser("admin", help="operator logins").add_subparsers(dest="action", required=True)
    admin_add = admin.add_parser("add", help="add an operator (password from a prompt or stdin)")
    admin_add.add_argument("username")
    admin_add.set_defaults(func=cmd_admin_add)

    package = groups.add_parser("package", help="packages sold at every site").add_subparsers(dest="action",
                                                                                              required=True)
    p_add = package.add_parser("add")
    add_package_arguments(p_add)
    p_add.set_defaults(func=cmd_package_add)
    p_set = package.add_parser("set", help="change a package's price, name or sale, everywhere or at --site")
    p_set.add_argument("id", type=int)
    p_set.add_argument("--price", type=int)
    p_set.add_argument("--name")
    p_set.add_argument("--active", choices=("yes", "no"))
    p_set.add_argument("--site", help="only this site")
    p_set.set_defaults(func=cmd_package_set)
    add_list(package, "list", cmd_package_list)

    voucher = groups.add_parser("voucher", help="vouchers for a site").add_subparsers(dest="action", required=True)
    make = voucher.add_parser("make", help="print a batch of codes for one site, one per line")
    make.add_argument("--site", required=True)
    make.add_argument("--package", type=int, required=True, help="central package id")
    make.add_argument("--count", type=int, required=True)
    make.set_defaults(func=cmd_voucher_make)

    device = groups.add_parser("device", help="blocked devices").add_subparsers(dest="action", required=True)
    block = device.add_parser("block", help="devices that may not pay or log in")
    block.add_argument("macs", nargs="+", metavar="MAC")
    block.add_argument("--reason", default="blocked by the operator")
    block.add_argument("--site", help="only this site (default: every site)")
    block.set_defaults(func=cmd_device)
    unblock = device.add_parser("unblock")
    unblock.add_argument("macs", nargs="+", metavar="MAC")
    unblock.add_argument("--site", help="only this site (default: every site)")
    unblock.set_defaults(func=cmd_device)

    setting = groups.add_parser("setting", help="site settings").add_subparsers(dest="action", required=True)
    s_set = setting.add_parser("set", help="name, help_phone, notice, timezone, full_phone_numbers=yes|no")
    s_set.add_argument("values", nargs="+", metavar="KEY=VALUE")
    s_set.add_argument("--site", help="only this site (default: every site)")
    s_set.set_defaults(func=cmd_setting_set)
