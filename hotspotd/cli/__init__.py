"""The `hotspotd` command: a thin shell over the library.

It parses arguments, loads the config, calls the core, and turns HotspotdError into one
clear line on stderr. It is the one place that reaches into web/, radius/ and sim/, to
start them. Each command group lives in its own module with a `register(commands)`;
heavy imports happen inside commands so that `run` stays light.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from ..config import Config
    from ..plumbing.runtime import Runtime

LOG_LEVEL_VAR = "HOTSPOTD_LOG_LEVEL"


def setup_logging(level: str = "INFO") -> None:
    # Under systemd stderr goes to the journal, which stamps the time and pid itself.
    journal = bool(os.environ.get("JOURNAL_STREAM"))
    logging.basicConfig(level=level.upper(),
                        format="%(name)s %(levelname)s %(message)s" if journal
                        else "%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    logging.getLogger("huey").setLevel(logging.WARNING)
    logging.getLogger("waitress").setLevel(logging.WARNING)
    logging.getLogger("geventwebsocket").setLevel(logging.WARNING)  # a line per admin request otherwise
    # "Task queue depth is N" on every request of a burst: noise, and it costs CPU then.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def load(args: argparse.Namespace, *, as_owner: bool = True) -> Config:
    """The config. Run by root, a command that works on the state folder goes on as the
    folder's owner, the service user (`store.files.work_as_owner`): a link that user
    planted there cannot make root write anywhere. `as_owner=False`: `run`, whose roles
    systemd starts as that user already."""
    from .. import config as config_mod

    config = config_mod.load(args.config)
    if as_owner:
        from ..store.files import work_as_owner

        work_as_owner(config.state_dir)
    return config


def open_runtime(args: argparse.Namespace) -> Runtime:
    """The config, the open store and the queue, for a command that reads or changes the site."""
    from ..plumbing.runtime import Runtime

    return Runtime.open(load(args))


STDIN = "-"  # an option's value meaning: read it (a prompt, or stdin), do not take it from the command line


def read_secret(what: str, given: str | None = None, *, confirm: bool = True) -> str:
    """A secret kept off the command line (the process list, the shell's history).

    `given` is the option's value: a value itself is taken, with a word to stderr about
    where it shows; `-` (or no option) reads it: from a prompt that does not echo (typed
    twice when `confirm`) when stdin is a terminal, else the next line of stdin (so several
    secrets are read in the order the command documents)."""
    from ..errors import InvalidInput

    if given is not None and given != STDIN:
        print(f"hotspotd: note: a {what} on the command line shows in the process list and the shell's history; "
              f"give - instead to type it or pipe it in", file=sys.stderr)
        return given
    if sys.stdin.isatty():
        import getpass

        value = getpass.getpass(f"{what}: ")
        if confirm and getpass.getpass("again: ") != value:
            raise InvalidInput(f"the two {what}s differ")
        return value
    line = sys.stdin.readline()
    if not line:
        raise InvalidInput(f"no {what} on stdin (give it on its own line, or run this on a terminal to be asked)")
    return line.rstrip("\n")


def print_rows(rows: list[dict[str, Any]], as_json: bool, columns: Sequence[str]) -> None:
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


def add_list(group: argparse._SubParsersAction, name: str, func, help: str | None = None,
             limit: bool = False) -> argparse.ArgumentParser:
    """A `list`-style command: every one takes --json (an array of objects with `id`)."""
    parser = group.add_parser(name, help=help)
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    if limit:
        parser.add_argument("--limit", type=int, default=50)
    parser.set_defaults(func=func)
    return parser


def build_parser() -> argparse.ArgumentParser:
    from . import admins, central, doctor, mpesa, queue, routers, sales, site, subscribers, sync

    parser = argparse.ArgumentParser(prog="hotspotd", description="Paid WiFi hotspot daemon.")
    parser.add_argument("--config", default=os.environ.get("HOTSPOTD_CONFIG"),
                        help="INI config file (default: $HOTSPOTD_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_const", const="DEBUG", dest="log_level",
                        default=argparse.SUPPRESS,
                        help="log everything (the same as --log-level DEBUG)")
    parser.add_argument("--log-level", default=os.environ.get(LOG_LEVEL_VAR, "INFO").upper(),
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"), type=str.upper,
                        help=f"least important log lines to keep (default INFO, or ${LOG_LEVEL_VAR})")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (site, admins, sales, subscribers, routers, queue, mpesa, sync, central, doctor):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    if args.command in ("run", "demo"):
        os.environ[LOG_LEVEL_VAR] = args.log_level  # the roles they start log alike
    from ..errors import ConfigError, HotspotdError

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
