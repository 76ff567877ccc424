"""Home subscribers over PPPoE: subscriber add/list/show/set/suspend/resume/charge."""

from __future__ import annotations

import argparse
import json
import sys

from . import add_list, open_runtime, print_rows, read_secret


def _grace(rt) -> float:
    return rt.config.pppoe.grace_hours * 3600.0


def cmd_subscriber_add(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from ..console.audit import COMMAND_LINE
    from ..pppoe import subscribers
    from ..store.db import utcnow

    rt = open_runtime(args)
    end = subscribers.paid_until(args.paid_until, ZoneInfo(rt.config.site.timezone)) if args.paid_until else None
    password = read_secret("PPPoE password", args.password) if args.password is not None else None
    sub = subscribers.add_subscriber(name=args.name, phone=args.phone, package_id=args.package, now=utcnow(),
                                     by=COMMAND_LINE, username=args.username, password=password,
                                     static_ip=args.static_ip, mac=args.mac, language=args.language, period_end=end)
    found = {"id": sub.id, "account": sub.account, "username": sub.username, "password": sub.password}
    if args.json:
        print(json.dumps(found))
    else:
        print(f"subscriber {sub.id} added: {sub.name}, account {sub.account}, PPPoE user {sub.username} "
              f"password {sub.password}")
    return 0


def cmd_subscriber_list(args: argparse.Namespace) -> int:
    from ..pppoe.subscribers import list_subscribers
    from ..store.db import utcnow

    rt = open_runtime(args)
    rows = list_subscribers(utcnow(), _grace(rt), q=args.q, status=args.status)
    print_rows(rows, args.json, ("id", "account", "name", "username", "package", "status", "period_end", "balance",
                                 "online", "ip"))
    return 0


def cmd_subscriber_show(args: argparse.Namespace) -> int:
    from ..pppoe.subscribers import get_subscriber, subscriber_dict
    from ..store.db import utcnow

    rt = open_runtime(args)
    sub = get_subscriber(args.subscriber)
    row = {**subscriber_dict(sub, utcnow(), _grace(rt), full_phone=True), "password": sub.password}
    if args.json:
        print(json.dumps(row, indent=1))
    else:
        for key, value in row.items():
            print(f"{key}: {'' if value is None else value}")
    return 0


def cmd_subscriber_set(args: argparse.Namespace) -> int:
    from ..console.audit import COMMAND_LINE
    from ..errors import InvalidInput
    from ..pppoe.subscribers import update_subscriber
    from ..store.db import utcnow

    open_runtime(args)
    changes = {key: getattr(args, key) for key in ("name", "phone", "static_ip", "mac", "language", "username")
               if getattr(args, key) is not None}
    if args.password is not None:
        changes["password"] = read_secret("PPPoE password", args.password)
    if args.package is not None:
        changes["package_id"] = args.package
    if not changes:
        raise InvalidInput("nothing to change: give one of the options (subscriber set --help)")
    sub = update_subscriber(args.subscriber, changes, utcnow(), by=COMMAND_LINE)
    print(f"subscriber {sub.id} changed: {', '.join(sorted(changes))}")
    return 0


def cmd_subscriber_suspend(args: argparse.Namespace) -> int:
    from ..console.audit import COMMAND_LINE
    from ..pppoe.subscribers import suspend
    from ..store.db import utcnow

    open_runtime(args)
    sub = suspend(args.subscriber, args.reason, utcnow(), by=COMMAND_LINE)
    print(f"subscriber {sub.id} suspended; their session is being ended")
    return 0


def cmd_subscriber_resume(args: argparse.Namespace) -> int:
    from ..console.audit import COMMAND_LINE
    from ..pppoe.access import SUSPENDED
    from ..pppoe.subscribers import resume, subscriber_dict
    from ..store.db import utcnow

    rt = open_runtime(args)
    now = utcnow()
    sub = resume(args.subscriber, now, _grace(rt), by=COMMAND_LINE)
    if subscriber_dict(sub, now, _grace(rt))["status"] == SUSPENDED:
        print(f"subscriber {sub.id} resumed, but their period ended: suspended until they pay", file=sys.stderr)
    else:
        print(f"subscriber {sub.id} resumed")
    return 0


def cmd_subscriber_charge(args: argparse.Namespace) -> int:
    from ..pppoe import billing
    from ..store.db import utcnow

    with open_runtime(args) as rt:
        payment = billing.charge(rt.daraja, args.subscriber, phone=args.phone, callback_url=rt.config.callback_url,
                                 now=utcnow(), amount=args.amount)
    print(f"M-Pesa prompt for KES {payment.amount} sent to {payment.phone[:4]}*****{payment.phone[-3:]} "
          f"(payment {payment.id})")
    return 0


def _details(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--username", default=None, help="PPPoE username (default: the account number)")
    parser.add_argument("--password", default=None,
                        help="PPPoE password, printable ASCII (default: made up); - : read it (a prompt, or stdin)")
    parser.add_argument("--static-ip", default=None, help="a fixed address instead of the pool's")
    parser.add_argument("--mac", default=None, help="the CPE's MAC: only it may log in")


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("subscriber", help="home subscribers over PPPoE").add_subparsers(
        dest="action", required=True)
    add = group.add_parser("add", help="a new subscriber on a PPPoE plan")
    add.add_argument("--name", required=True)
    add.add_argument("--phone", default=None, help="for reminders and M-Pesa prompts")
    add.add_argument("--package", required=True, type=int, help="a PPPoE plan (package add --service pppoe)")
    _details(add)
    add.add_argument("--language", choices=("en", "sw"), default="en")
    add.add_argument("--paid-until", default=None, help="YYYY-MM-DD: paid through this day (default: owes now)")
    add.add_argument("--json", action="store_true", help="print {id, account, username, password}")
    add.set_defaults(func=cmd_subscriber_add)
    listing = add_list(group, "list", cmd_subscriber_list)
    listing.add_argument("--q", default=None, help="name, account, username, phone's last digits or address")
    listing.add_argument("--status", choices=("active", "grace", "suspended"), default=None)
    show = group.add_parser("show", help="one subscriber, with the password")
    show.add_argument("subscriber", help="id, account number or username")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_subscriber_show)
    change = group.add_parser("set", help="change a subscriber (only the options given)")
    change.add_argument("subscriber", help="id, account number or username")
    change.add_argument("--name")
    change.add_argument("--phone")
    change.add_argument("--package", type=int)
    change.add_argument("--language", choices=("en", "sw"))
    _details(change)
    change.set_defaults(func=cmd_subscriber_set)
    suspend = group.add_parser("suspend", help="suspend now, whatever was paid")
    suspend.add_argument("subscriber")
    suspend.add_argument("--reason", default="")
    suspend.set_defaults(func=cmd_subscriber_suspend)
    resume = group.add_parser("resume", help="lift a suspension made by hand")
    resume.add_argument("subscriber")
    resume.set_defaults(func=cmd_subscriber_resume)
    charge = group.add_parser("charge", help="send an M-Pesa prompt for what they owe")
    charge.add_argument("subscriber")
    charge.add_argument("--phone", default=None, help="another number to prompt (default: theirs)")
    charge.add_argument("--amount", type=int, default=None, help="shillings (default: what the next period needs)")
    charge.set_defaults(func=cmd_subscriber_charge)
