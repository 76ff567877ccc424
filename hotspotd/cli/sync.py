"""Central sync on the box: sync now, sync status."""

from __future__ import annotations

import argparse
import json

from . import open_runtime


def cmd_sync_now(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..sync import outbox
    from ..sync.passes import run_pass

    rt = open_runtime(args)
    config = rt.config
    if not config.central.url or not config.central.site_id or not config.central.site_key:
        raise ConfigError("[central] url, site_id and site_key must be set to sync")
    waiting_at_start = outbox.highest()
    result = run_pass(config, rt.central, wait_for_lock=600)
    everything = result.ok and outbox.cursor() >= waiting_at_start
    if args.json:
        print(json.dumps({"ok": everything, "delivered": result.delivered, "batches": result.batches,
                          "bytes_sent": result.bytes_sent, "config_applied": result.applied,
                          "waiting": result.waiting, "error": result.error}))
    else:
        print(f"sent {result.delivered} event(s) in {result.batches} batch(es), {result.bytes_sent} bytes; "
              f"applied {result.applied} configuration change(s); {result.waiting} waiting")
        if result.error:
            print(f"error: {result.error}")
    return 0 if everything else 1


def cmd_sync_status(args: argparse.Namespace) -> int:
    from ..sync import status

    rt = open_runtime(args)
    current = status(rt.config)
    if args.json:
        print(json.dumps(current, indent=1))
        return 0
    for key, value in current.items():
        print(f"{key:22} {'' if value is None else value}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    sync = commands.add_parser("sync", help="central sync").add_subparsers(dest="action", required=True)
    now = sync.add_parser("now", help="run a sync pass now; exit 0 only when everything waiting was acknowledged")
    now.add_argument("--json", action="store_true", help="print JSON for scripts")
    now.set_defaults(func=cmd_sync_now)
    status = sync.add_parser("status", help="last success, events waiting, last error")
    status.add_argument("--json", action="store_true", help="print JSON for scripts")
    status.set_defaults(func=cmd_sync_status)
