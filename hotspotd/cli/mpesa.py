"""M-Pesa commands: register the Paybill (C2B) URLs and Pull Transactions with Daraja, list
Paybill money that matched no account."""

from __future__ import annotations

import argparse
import json

from . import add_list, load, open_runtime, print_rows


def _shown(url: str, token: str) -> str:
    """A URL with its secret path segment shortened (it is a password)."""
    return url.replace(token, token[:4] + "…") if token else url


def _daraja_config(args: argparse.Namespace):
    """The config, when what talking to Daraja needs is in it (ConfigError otherwise)."""
    from ..errors import ConfigError

    config = load(args)
    problems = [p for p in config.problems() if p.startswith("[mpesa]")
                and not any(key in p for key in ("initiator", "certificate", "pull_interval"))]
    if problems:
        raise ConfigError("; ".join(problems))
    return config


def cmd_register_c2b(args: argparse.Namespace) -> int:
    from ..plumbing.runtime import Runtime

    config = _daraja_config(args)
    short_code = config.mpesa.paybill or config.mpesa.shortcode
    token = config.mpesa.callback_token
    with Runtime(config) as runtime:
        done = runtime.daraja.register_c2b(short_code=short_code, confirmation_url=config.c2b_confirmation_url,
                                           validation_url=config.c2b_validation_url,
                                           response_type=args.response_type)
    result = {"short_code": short_code, "response_type": args.response_type,
              "confirmation_url": _shown(config.c2b_confirmation_url, token),
              "validation_url": _shown(config.c2b_validation_url, token),
              "originator_conversation_id": done.originator_conversation_id, "description": done.description}
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"Paybill {short_code}: Daraja took the URLs ({done.description or 'Success'}).")
    print(f"  confirmation  {result['confirmation_url']}")
    print(f"  validation    {result['validation_url']}  (used only if Safaricom enabled validation)")
    print(f"  when validation does not answer in time, M-Pesa {'takes' if args.response_type == 'Completed' else 'refuses'} "
          "the payment")
    return 0


def cmd_register_pull(args: argparse.Namespace) -> int:
    from ..mpesa.pull import PullTransactions
    from ..phone import normalise
    from ..plumbing.runtime import Runtime

    config = _daraja_config(args)
    short_code = config.mpesa.paybill or config.mpesa.shortcode
    nominated = normalise(args.nominated_number)
    # The payload Daraja sends to a Pull CallBackURL is not published; the Paybill
    # confirmation URL records a C2B-shaped one and keeps any other body for a look.
    callback = config.c2b_confirmation_url
    with Runtime(config) as runtime:
        done = PullTransactions(runtime.daraja, short_code).register(nominated_number=nominated, callback_url=callback)
    result = {"short_code": short_code, "status": done.status, "already_registered": done.already_registered,
              "description": done.description, "callback_url": _shown(callback, config.mpesa.callback_token),
              "pull_interval": config.mpesa.pull_interval}
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    said = "was already registered" if done.already_registered else "is registered"
    print(f"Paybill {short_code} {said} for Pull Transactions ({done.description or done.status}).")
    print(f"  the worker asks for missed payments every {config.mpesa.pull_interval:g} s" if config.mpesa.pull_interval
          else "  [mpesa] pull_interval is 0: the worker does not pull; set it to pull every few minutes")
    return 0


def cmd_unmatched(args: argparse.Namespace) -> int:
    from ..billing import c2b

    open_runtime(args)
    print_rows(c2b.unmatched(args.limit), args.json, ("id", "received_at", "receipt", "account", "amount", "msisdn",
                                                      "reason"))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    mpesa = commands.add_parser("mpesa", help="M-Pesa (Daraja) set-up and Paybill payments").add_subparsers(
        dest="action", required=True)
    c2b = mpesa.add_parser("register-c2b", help="register the Paybill confirmation and validation URLs with Daraja")
    c2b.add_argument("--response-type", choices=("Completed", "Cancelled"), default="Completed",
                     help="what M-Pesa does when validation does not answer in time (default: Completed)")
    c2b.add_argument("--json", action="store_true", help="print JSON for scripts")
    c2b.set_defaults(func=cmd_register_c2b)
    pull = mpesa.add_parser("register-pull", help="register the Paybill with Daraja's Pull Transactions "
                                                  "(finds payments whose confirmation never came)")
    pull.add_argument("--nominated-number", required=True,
                      help="the organisation's Safaricom number that Daraja associates with the Paybill (07...)")
    pull.add_argument("--json", action="store_true", help="print JSON for scripts")
    pull.set_defaults(func=cmd_register_pull)
    add_list(mpesa, "unmatched", cmd_unmatched, help="Paybill payments that matched no account (newest first)",
             limit=True)
