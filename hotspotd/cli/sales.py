"""What is sold and what was sold: package, voucher, payment, subscription."""

from __future__ import annotations

import argparse

from . import add_list, open_runtime, print_rows


def cmd_package_add(args: argparse.Namespace) -> int:
    from ..billing import packages
    from ..store.db import utcnow

    open_runtime(args)
    package = packages.add_package(name=args.name, price=args.price, duration=args.duration, rate=args.rate,
                                   data=args.data, devices=args.devices, now=utcnow(),
                                   service=getattr(args, "service", packages.HOTSPOT))
    kind = " (a PPPoE plan for home subscribers)" if package.service == packages.PPPOE else ""
    print(f"package {package.id} added: {package.name}{kind}")
    return 0


def cmd_package_list(args: argparse.Namespace) -> int:
    from ..billing import packages

    open_runtime(args)
    rows = [packages.package_dict(p) for p in packages.list_packages(include_inactive=True, service=None)]
    print_rows(rows, args.json, ("id", "name", "service", "price", "duration", "rate", "data", "devices", "active"))
    return 0


def cmd_voucher_make(args: argparse.Namespace) -> int:
    from ..billing import packages, vouchers
    from ..store.db import utcnow

    open_runtime(args)
    for code in vouchers.make(packages.get_package(args.package, for_sale=False), args.count, utcnow()):
        print(code)
    return 0


def cmd_payment_list(args: argparse.Namespace) -> int:
    from ..console import reports

    open_runtime(args)
    print_rows(reports.payments(args.limit), args.json,
               ("id", "created_at", "phone", "package", "amount", "status", "receipt", "reason"))
    return 0


def cmd_subscription_list(args: argparse.Namespace) -> int:
    from ..console import reports
    from ..store.db import utcnow

    open_runtime(args)
    print_rows(reports.subscriptions(args.limit, utcnow()), args.json,
               ("id", "username", "phone", "package", "starts_at", "ends_at", "status", "bytes_used"))
    return 0


def add_package_arguments(add: argparse.ArgumentParser) -> None:
    """What a new package is made of (`package add`, and `central package add`)."""
    add.add_argument("--name", required=True)
    add.add_argument("--price", type=int, required=True, help="whole shillings")
    add.add_argument("--duration", required=True, help="e.g. 30m, 1h, 1d, 1w")
    add.add_argument("--rate", default="", help="upload/download as MikroTik writes it, e.g. 2M/5M")
    add.add_argument("--data", default=None, help="data cap, e.g. 1GB (default: none)")
    add.add_argument("--devices", type=int, default=1)


def register(commands: argparse._SubParsersAction) -> None:
    package = commands.add_parser("package", help="packages for sale").add_subparsers(dest="action", required=True)
    add = package.add_parser("add")
    add_package_arguments(add)
    add.add_argument("--service", choices=("hotspot", "pppoe"), default="hotspot",
                     help="hotspot: sold on the portal (default); pppoe: a plan for home subscribers")
    add.set_defaults(func=cmd_package_add)
    add_list(package, "list", cmd_package_list)

    voucher = commands.add_parser("voucher", help="cash vouchers").add_subparsers(dest="action", required=True)
    make = voucher.add_parser("make", help="print a batch of codes, one per line")
    make.add_argument("--package", required=True, type=int)
    make.add_argument("--count", required=True, type=int)
    make.set_defaults(func=cmd_voucher_make)

    for name, func in (("payment", cmd_payment_list), ("subscription", cmd_subscription_list)):
        group = commands.add_parser(name, help=f"recent {name}s").add_subparsers(dest="action", required=True)
        add_list(group, "list", func, limit=True)
