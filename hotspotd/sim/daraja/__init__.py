"""A Daraja (M-Pesa) simulator for the demo and the contract tests.

It speaks the wire formats of docs/protocols.md §5.1-§5.6: OAuth, STK push, the STK callback
POSTed to CallBackURL after `callback_delay` seconds, and STK push query. The HTTP
handler only parses and answers; `DarajaSimulator.handle()` decides, so the rules can be
read in one place. Run it alone with `python -m hotspotd.sim.daraja --port 8090`.

How pushes end is steered with `set_outcome()`, or over HTTP:

    curl -d '{"outcome": "cancelled", "times": 1}' http://127.0.0.1:8090/__sim__/outcome

With "times" the outcome applies to the next N pushes only, then the earlier setting
returns; without it the outcome sticks for every later push. "phone" limits either to
one phone number, "paid_amount" makes a success report another amount.

Pull Transactions, Transaction Status and Reversal (`sim.pull`, `sim.initiator`, over
`sim.ledger`, every transaction that moved money): `GET /__sim__/ledger`, `GET|POST
/__sim__/pull` (e.g. `{"drop_confirmations": true, "page_size": 2}`), `GET|POST
/__sim__/initiator` (`{"api": "status"|"reversal", "outcome": "unknown", "receipt": ...}`;
GET shows the certificate to configure as `[mpesa] certificate`).
"""

from .simulator import DarajaSimulator
from .wire import (OUTCOMES, RESULT_DESCS, SANDBOX_PASSKEY, daraja_time, failure_callback, stk_password,
                   success_callback)

__all__ = ["DarajaSimulator", "OUTCOMES", "RESULT_DESCS", "SANDBOX_PASSKEY", "daraja_time", "failure_callback",
           "stk_password", "success_callback"]
