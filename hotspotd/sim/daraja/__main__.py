"""`python -m hotspotd.sim.daraja --port 8090`: the simulator on its own, until SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .simulator import DarajaSimulator
from .wire import OUTCOMES

log = logging.getLogger("hotspotd.sim.daraja")


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m hotspotd.sim.daraja", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--callback-delay", type=float, default=2.0, help="seconds before the callback")
    parser.add_argument("--outcome", choices=list(OUTCOMES), default="success")
    parser.add_argument("--expires-in-number", action="store_true", help="send expires_in as a number")
    parser.add_argument("--till", help="the till number CustomerBuyGoodsOnline pushes must pay (PartyB)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    # Handlers only set a flag; the main thread does the shutting down.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    sim = DarajaSimulator(host=args.host, port=args.port, callback_delay=args.callback_delay,
                          expires_in_as_string=not args.expires_in_number, till=args.till)
    sim.set_outcome(args.outcome)
    try:
        sim.start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", flush=True)
        return 1
    print(f"Daraja simulator on {sim.url}", flush=True)
    while not stop.wait(1.0):
        pass
    sim.stop()
    log.info("Daraja simulator stopped")
    return 0


sys.exit(main())
