"""M-Pesa commands: register the Paybill (C2B) URLs with Daraja, list Paybill money that
matched no account."""

from __future__ import annotations

import argparse
import json

from . import add_list, load, open_runtime, print_rows


def _shown(url: str, token: str) -> str:
    """A URL with its secret path segment shortened (it is a password)."""
    return url.replace(token, token[:4] + "…") if token else url


def cmd_register_c2b(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..plumbing.runtime import Runtime

    config = load(args)
    short_code = config.mpesa.paybill or config.mpesa.shortcode
    token = config.mpesa.callback_token
    problems = [p for p in config.problems() if "[mpesa]" in p]
    if problems:
        raise ConfigError("; ".join(problems))
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
    add_list(mpesa, "unmatched", cmd_unmatched, help="Paybill payments that matched no account (newest first)",
             limit=True)
