"""The task queue: queue status/failed/retry/mode."""

from __future__ import annotations

import argparse

from . import add_list, open_runtime, print_rows


def cmd_queue_status(args: argparse.Namespace) -> int:
    queue = open_runtime(args).queue
    rows = [{"id": name, "task": name, **counts} for name, counts in queue.status().items()]
    rows.append({"id": "mode", "task": "mode", "queued": queue.mode().value, "scheduled": ""})
    print_rows(rows, args.json, ("task", "queued", "scheduled"))
    return 0


def cmd_queue_failed(args: argparse.Namespace) -> int:
    from ..console import reports

    open_runtime(args)
    print_rows(reports.failed_tasks(), args.json, ("id", "task", "args", "attempts", "failed_at", "error"))
    return 0


def cmd_queue_retry(args: argparse.Namespace) -> int:
    from ..errors import InvalidInput

    queue = open_runtime(args).queue
    if not args.all and args.id is None:
        raise InvalidInput("give a failed task id, or --all")
    retried = queue.retry_failed(None if args.all else args.id)
    print(f"retried {len(retried)} task(s)" + (f": {', '.join(map(str, retried))}" if retried else ""))
    return 0


def cmd_queue_mode(args: argparse.Namespace) -> int:
    queue = open_runtime(args).queue
    if args.mode:
        queue.set_mode(args.mode)
    print(queue.mode().value)
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    q = commands.add_parser("queue", help="the task queue").add_subparsers(dest="action", required=True)
    add_list(q, "status", cmd_queue_status, help="depth per task")
    add_list(q, "failed", cmd_queue_failed, help="tasks that used up their retries")
    retry = q.add_parser("retry", help="send a failed task (or --all) again")
    retry.add_argument("id", nargs="?", type=int)
    retry.add_argument("--all", action="store_true")
    retry.set_defaults(func=cmd_queue_retry)
    mode = q.add_parser("mode", help="show or set async|immediate (takes effect within seconds)")
    mode.add_argument("mode", nargs="?", choices=("async", "immediate"))
    mode.set_defaults(func=cmd_queue_mode)
