"""Admin accounts: admin add."""

from __future__ import annotations

import argparse
import getpass
import sys

from . import open_runtime


def cmd_admin_add(args: argparse.Namespace) -> int:
    from ..admins import add_admin
    from ..store.db import utcnow

    open_runtime(args)
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


def register(commands: argparse._SubParsersAction) -> None:
    admin = commands.add_parser("admin", help="admin accounts").add_subparsers(dest="action", required=True)
    add = admin.add_parser("add", help="add an admin (password from a prompt or stdin)")
    add.add_argument("username")
    add.set_defaults(func=cmd_admin_add)
