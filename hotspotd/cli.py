"""The `hotspotd` command: a thin shell over the library.

It parses arguments, loads the config, calls the core, and turns HotspotdError into one
clear line on stderr. It is the one place that reaches into web/, radius/ and sim/ to
start them. Heavy imports happen inside commands so that `run` stays light.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any, Sequence

ROLES = ("portal", "admin", "worker", "radius")


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    logging.getLogger("huey").setLevel(logging.WARNING)
    logging.getLogger("waitress").setLevel(logging.WARNING)
    # "Task queue depth is N" on every request of a burst: noise, and it costs CPU then.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def _load(args: argparse.Namespace):
    from . import config as config_mod

    return config_mod.load(args.config)


def _open(args: argparse.Namespace):
    from . import queue, runtime
    from .store import open_store

    config = _load(args)
    open_store(config)
    runtime.configure(config)
    queue.configure(config.queue_db_path, default_mode=config.queue.mode, fsync=config.store.synchronous == "full")
    return config


def _print_rows(rows: list[dict[str, Any]], as_json: bool, columns: Sequence[str]) -> None:
    if as_json:
        print(json.dumps(rows, indent=1, default=str))
        return
    if not rows:
        print("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns))


# -- commands

def cmd_init(args: argparse.Namespace) -> int:
    from . import queue
    from .store import init_store

    config = _load(args)
    applied = init_store(config)
    queue.configure(config.queue_db_path)
    queue.huey.storage.queue_size()  # creates the queue file and its tables
    print(f"database {config.app_db_path}: " + (f"applied migrations {applied}" if applied else "up to date"))
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    config = _load(args)
    problems = config.problems()
    for problem in problems:
        print(problem)
    if not problems:
        print(f"config {config.path or '(defaults)'} is OK")
    return 1 if problems else 0


def cmd_run(args: argparse.Namespace) -> int:
    config = _load(args)
    if args.role:
        return run_role(args.role, config)
    problems = config.problems()
    if problems:
        from .errors import ConfigError

        raise ConfigError("; ".join(problems))
    from .supervisor import supervise

    return supervise(ROLES, str(config.path) if config.path else None)


def run_role(role: str, config) -> int:
    if role != "admin":
        # huey imports gevent whenever it is installed (for greenlet workers we do not
        # use); only the admin role needs it, and it costs each other role 4 MB.
        sys.modules.setdefault("gevent", None)
    if role == "admin":
        from gevent import monkey

        monkey.patch_all()  # first thing in the admin process, and only there
        from hotspotd.web.admin import serve
    elif role == "portal":
        from hotspotd.web.portal import serve
    elif role == "worker":
        from hotspotd.worker import run as serve
    else:
        from hotspotd.radius.server import run as serve
    return serve(config)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(state_dir=args.state_dir, portal_port=args.portal_port, admin_port=args.admin_port,
                    radius_port=args.radius_port, daraja_port=args.daraja_port)


def cmd_admin_add(args: argparse.Namespace) -> int:
    import getpass

    from .admins import add_admin
    from .store.db import utcnow

    _open(args)
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("passwords differ", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\n")
    add_admin(args.username, password, utcnow())
    print(f"admin {args.username} added")
    return 0


def cmd_package_add(args: argparse.Namespace) -> int:
    from .billing import packages
    from .store.db import utcnow

    _open(args)
    package = packages.add_package(name=args.name, price=args.price, duration=args.duration, rate=args.rate,
                                   data=args.data, devices=args.devices, now=utcnow())
    print(f"package {package.id} added: {package.name}")
    return 0


def cmd_package_list(args: argparse.Namespace) -> int:
    from .billing import packages

    _open(args)
    rows = [packages.package_dict(p) for p in packages.list_packages(include_inactive=True)]
    _print_rows(rows, args.json, ("id", "name", "price", "duration", "rate", "data", "devices", "active"))
    return 0


def cmd_router_add(args: argparse.Namespace) -> int:
    from . import routers
    from .store.db import utcnow

    _open(args)
    router = routers.add_router(name=args.name, host=args.host, api_port=args.api_port, api_user=args.api_user,
                                api_password=args.api_password, secret=args.secret, nas_ip=args.nas_ip or args.host,
                                coa_port=args.coa_port, now=utcnow())
    print(f"router {router.id} added: {router.name}")
    return 0


def cmd_router_list(args: argparse.Namespace) -> int:
    from . import routers

    _open(args)
    rows = routers.list_routers()
    _print_rows(rows, args.json, ("id", "name", "host", "api_port", "nas_ip", "coa_port", "status"))
    return 0


def cmd_voucher_make(args: argparse.Namespace) -> int:
    from .billing import packages, vouchers
    from .store.db import utcnow

    _open(args)
    for code in vouchers.make(packages.get_package(args.package, for_sale=False), args.count, utcnow()):
        print(code)
    return 0


def cmd_payment_list(args: argparse.Namespace) -> int:
    from . import reports

    _open(args)
    _print_rows(reports.payments(args.limit), args.json,
                ("id", "created_at", "phone", "package", "amount", "status", "receipt", "reason"))
    return 0


def cmd_subscription_list(args: argparse.Namespace) -> int:
    from . import reports
    from .store.db import utcnow

    _open(args)
    _print_rows(reports.subscriptions(args.limit, utcnow()), args.json,
                ("id", "username", "phone", "package", "starts_at", "ends_at", "status", "bytes_used"))
    return 0


def cmd_queue_status(args: argparse.Namespace) -> int:
    from . import queue

    _open(args)
    rows = [{"id": name, "task": name, **counts} for name, counts in queue.status().items()]
    rows.append({"id": "mode", "task": "mode", "queued": queue.current_mode(), "scheduled": ""})
    _print_rows(rows, args.json, ("task", "queued", "scheduled"))
    return 0


def cmd_queue_failed(args: argparse.Namespace) -> int:
    from . import reports

    _open(args)
    _print_rows(reports.failed_tasks(), args.json, ("id", "task", "args", "attempts", "failed_at", "error"))
    return 0


def cmd_queue_retry(args: argparse.Namespace) -> int:
    from . import queue
    from .errors import InvalidInput

    _open(args)
    if not args.all and args.id is None:
        raise InvalidInput("give a failed task id, or --all")
    retried = queue.retry_failed(None if args.all else args.id)
    print(f"retried {len(retried)} task(s)" + (f": {', '.join(map(str, retried))}" if retried else ""))
    return 0


def cmd_queue_mode(args: argparse.Namespace) -> int:
    from . import queue

    _open(args)
    if args.mode:
        queue.set_mode(args.mode)
    print(queue.current_mode())
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from .backup import backup

    config = _load(args)
    for path in backup(config, args.path):
        print(path)
    return 0


# -- argument parsing

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotspotd", description="Paid WiFi hotspot daemon.")
    parser.add_argument("--config", default=os.environ.get("HOTSPOTD_CONFIG"),
                        help="INI config file (default: $HOTSPOTD_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("init", help="create or migrate the databases").set_defaults(func=cmd_init)
    sub.add_parser("check-config", help="validate the config").set_defaults(func=cmd_check_config)
    run = sub.add_parser("run", help="start all roles, or one")
    run.add_argument("--role", choices=ROLES)
    run.set_defaults(func=cmd_run)
    demo = sub.add_parser("demo", help="a whole site on this machine with simulators")
    demo.add_argument("--state-dir", default=None, help="where the demo keeps its databases")
    demo.add_argument("--portal-port", type=int, default=8080)
    demo.add_argument("--admin-port", type=int, default=8081)
    demo.add_argument("--radius-port", type=int, default=1812)
    demo.add_argument("--daraja-port", type=int, default=0)
    demo.set_defaults(func=cmd_demo)

    admin = sub.add_parser("admin", help="admin accounts").add_subparsers(dest="action", required=True)
    add = admin.add_parser("add", help="add an admin (password from a prompt or stdin)")
    add.add_argument("username")
    add.set_defaults(func=cmd_admin_add)

    package = sub.add_parser("package", help="packages for sale").add_subparsers(dest="action", required=True)
    add = package.add_parser("add")
    add.add_argument("--name", required=True)
    add.add_argument("--price", type=int, required=True, help="whole shillings")
    add.add_argument("--duration", required=True, help="e.g. 30m, 1h, 1d, 1w")
    add.add_argument("--rate", default="", help="upload/download as MikroTik writes it, e.g. 2M/5M")
    add.add_argument("--data", default=None, help="data cap, e.g. 1GB (default: none)")
    add.add_argument("--devices", type=int, default=1)
    add.set_defaults(func=cmd_package_add)
    listing = package.add_parser("list")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_package_list)

    router = sub.add_parser("router", help="routers (NAS)").add_subparsers(dest="action", required=True)
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
    listing = router.add_parser("list")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_router_list)

    voucher = sub.add_parser("voucher", help="cash vouchers").add_subparsers(dest="action", required=True)
    make = voucher.add_parser("make", help="print a batch of codes, one per line")
    make.add_argument("--package", required=True, type=int)
    make.add_argument("--count", required=True, type=int)
    make.set_defaults(func=cmd_voucher_make)

    for name, func in (("payment", cmd_payment_list), ("subscription", cmd_subscription_list)):
        group = sub.add_parser(name, help=f"recent {name}s").add_subparsers(dest="action", required=True)
        listing = group.add_parser("list")
        listing.add_argument("--json", action="store_true")
        listing.add_argument("--limit", type=int, default=50)
        listing.set_defaults(func=func)

    q = sub.add_parser("queue", help="the task queue").add_subparsers(dest="action", required=True)
    status = q.add_parser("status", help="depth per task")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_queue_status)
    failed = q.add_parser("failed", help="tasks that used up their retries")
    failed.add_argument("--json", action="store_true")
    failed.set_defaults(func=cmd_queue_failed)
    retry = q.add_parser("retry", help="send a failed task (or --all) again")
    retry.add_argument("id", nargs="?", type=int)
    retry.add_argument("--all", action="store_true")
    retry.set_defaults(func=cmd_queue_retry)
    mode = q.add_parser("mode", help="show or set async|immediate (takes effect within seconds)")
    mode.add_argument("mode", nargs="?", choices=("async", "immediate"))
    mode.set_defaults(func=cmd_queue_mode)

    backup = sub.add_parser("backup", help="online backup of the databases into a folder")
    backup.add_argument("path")
    backup.set_defaults(func=cmd_backup)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    from .errors import ConfigError, HotspotdError

    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"hotspotd: config: {exc}", file=sys.stderr)
        return 2
    except HotspotdError as exc:
        print(f"hotspotd: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
