"""Site commands: init, check-config, run, demo, backup, restore."""

from __future__ import annotations

import argparse
import os
import sys

from . import load


def cmd_init(args: argparse.Namespace) -> int:
    from ..plumbing.runtime import Runtime
    from ..store import init_store

    config = load(args)
    applied = init_store(config)
    Runtime(config).queue.create_storage()  # creates the queue file and its tables
    print(f"database {config.app_db_path}: " + (f"applied migrations {applied}" if applied else "up to date"))
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    from ..operations.health import secret_file_warnings

    config = load(args)
    problems = config.problems(args.role)
    for problem in problems:
        print(problem)
    for warning in config.warnings() + secret_file_warnings(config):
        print(f"warning: {warning}")
    if not problems:
        print(f"config {config.path or '(defaults)'} is OK")
    return 1 if problems else 0


def cmd_run(args: argparse.Namespace) -> int:
    config = load(args, as_owner=False)
    problems = config.problems(args.role)  # what check-config reports: no role starts with one
    if problems:
        from ..errors import ConfigError

        raise ConfigError("; ".join(problems))
    if args.role:
        return run_role(args.role, config, instance=args.instance)
    from ..plumbing.processes import PROCESSES
    from ..plumbing.supervisor import supervise_roles

    return supervise_roles(PROCESSES, str(config.path) if config.path else None)


def run_role(role: str, config, *, instance: int | None = None) -> int:
    """Run one role (or the back office, `admin,worker`) in this process until SIGTERM/SIGINT."""
    from ..plumbing.processes import BACK_OFFICE

    patched = role in ("admin", BACK_OFFICE)
    if not patched:
        # huey imports gevent whenever it is installed (for greenlet workers, which only the
        # back office uses); it costs each other role 4 MB.
        sys.modules.setdefault("gevent", None)
    if role != "central":
        # peewee imports a PostgreSQL driver whenever one is installed (psycopg: 20 MB of
        # libpq and its C extension); only the central receiver may use PostgreSQL.
        for driver in ("psycopg", "psycopg2"):
            sys.modules.setdefault(driver, None)
    if patched:
        from gevent import monkey

        monkey.patch_all()  # first thing in the admin or back-office process, and only there
    if role == BACK_OFFICE:
        from .backoffice import BackOffice as RoleClass
    elif role == "admin":
        from ..web.admin import AdminRole as RoleClass
    elif role == "portal":
        from ..web.portal import PortalRole as RoleClass
    elif role == "worker":
        from ..plumbing.worker import WorkerRole as RoleClass
    elif role == "central":
        from ..web.central import CentralRole as RoleClass
    else:
        from ..radius.server import RadiusRole

        return RadiusRole(config, instance=instance).run()
    return RoleClass(config).run()


def cmd_demo(args: argparse.Namespace) -> int:
    from ..sim.demo import run_demo

    return run_demo(state_dir=args.state_dir, fresh=args.fresh, portal_port=args.portal_port,
                    admin_port=args.admin_port, radius_port=args.radius_port, daraja_port=args.daraja_port,
                    central_port=args.central_port)


def cmd_backup(args: argparse.Namespace) -> int:
    from ..operations.backup import backup

    config = load(args)
    for path in backup(config, args.path):
        print(path)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from ..operations.backup import restore
    from ..plumbing.runtime import Runtime
    from ..store import init_store

    config = load(args)
    try:
        done = restore(config, args.path)
    except PermissionError as exc:  # run by root, it works as the owner of the state folder
        from ..errors import InvalidInput

        raise InvalidInput(f"{exc.filename or args.path}: not readable by uid {os.geteuid()}, the owner of the "
                           f"state folder (root restores as that user): copy the backup into {config.backup_dir} "
                           f"first, e.g. sudo install -o {os.geteuid()} -m 0640 FILE {config.backup_dir}/") from None
    applied = init_store(config)
    Runtime(config).queue.create_storage()
    print(f"restored {done.source} into {config.app_db_path}"
          + (f"; applied migrations {applied}" if applied else ""))
    if done.kept:
        print(f"the database it replaced is kept as {done.kept}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    from ..plumbing.processes import BACK_OFFICE, ROLES

    commands.add_parser("init", help="create or migrate the databases").set_defaults(func=cmd_init)
    role_names = (*ROLES, BACK_OFFICE, "central")
    check = commands.add_parser("check-config", help="validate the config (what `run` refuses to start with)")
    check.add_argument("--role", choices=role_names, help="check for this role only (central: the receiver)")
    check.set_defaults(func=cmd_check_config)
    run = commands.add_parser("run", help="start all roles, or one")
    run.add_argument("--role", choices=role_names,
                     help=f"one role; {BACK_OFFICE} is the console and the worker in one process, as `run` starts them")
    run.add_argument("--instance", type=int, default=None, help=argparse.SUPPRESS)  # one of [radius] processes
    run.set_defaults(func=cmd_run)
    demo = commands.add_parser("demo", help="a whole site on this machine with simulators")
    demo.add_argument("--state-dir", default=None, help="where the demo keeps its databases")
    demo.add_argument("--fresh", action="store_true", help="start from empty databases (the old ones are removed)")
    demo.add_argument("--portal-port", type=int, default=8080)
    demo.add_argument("--admin-port", type=int, default=8081)
    demo.add_argument("--radius-port", type=int, default=1812)
    demo.add_argument("--daraja-port", type=int, default=0)
    demo.add_argument("--central-port", type=int, default=8090, help="the demo's central receiver")
    demo.set_defaults(func=cmd_demo)
    backup = commands.add_parser("backup", help="online backup of the databases into a folder")
    backup.add_argument("path")
    backup.set_defaults(func=cmd_backup)
    restore = commands.add_parser("restore", help="put a backup in place (a file, or a folder: its newest); "
                                                  "the roles must be stopped")
    restore.add_argument("path")
    restore.set_defaults(func=cmd_restore)
