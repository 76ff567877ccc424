"""Console accounts: admin add/passwd/remove/list."""

from __future__ import annotations

import argparse

from . import add_list, open_runtime, print_rows, read_secret


def cmd_admin_add(args: argparse.Namespace) -> int:
    from ..console.admins import add_admin
    from ..store.db import utcnow

    open_runtime(args)
    password = read_secret("password")
    add_admin(args.username, password, utcnow(), role=args.role)
    print(f"{args.role} {args.username} added")
    return 0


def cmd_admin_passwd(args: argparse.Namespace) -> int:
    from ..console.admins import set_password
    from ..store.db import utcnow

    open_runtime(args)
    password = read_secret("password")
    set_password(args.username, password, utcnow())
    print(f"password of {args.username} changed; its console logins have ended")
    return 0


def cmd_admin_remove(args: argparse.Namespace) -> int:
    from ..console.admins import remove_admin
    from ..store.db import utcnow

    open_runtime(args)
    remove_admin(args.username, utcnow())
    print(f"{args.username} removed")
    return 0


def cmd_admin_list(args: argparse.Namespace) -> int:
    from ..console.admins import list_admins

    open_runtime(args)
    print_rows(list_admins(), args.json, ("id", "username", "role", "created_at", "password_changed_at", "logins"))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    admin = commands.add_parser("admin", help="console accounts").add_subparsers(dest="action", required=True)
    add = admin.add_parser("add", help="add an account (password from a prompt or stdin)")
    add.add_argument("username")
    add.add_argument("--role", choices=("admin", "operator"), default="admin",
                     help="admin: everything; operator: sell, look up, kick, vouchers (default admin)")
    add.set_defaults(func=cmd_admin_add)
    passwd = admin.add_parser("passwd", help="change an account's password (prompt or stdin); ends its logins")
    passwd.add_argument("username")
    passwd.set_defaults(func=cmd_admin_passwd)
    remove = admin.add_parser("remove", help="remove an account (not the last admin)")
    remove.add_argument("username")
    remove.set_defaults(func=cmd_admin_remove)
    add_list(admin, "list", cmd_admin_list, help="every account with its role")
