"""RADIUS for hotspot customers and home subscribers together: the `radius` role over a store
with 10,000 hotspot customers and 2,000 PPPoE subscribers, asked by each kind in turn.

Each row drives the role (a real process) with 64 requests in flight (bench/radius_bench.py's
load generator, every reply verified: code, Response Authenticator, Message-Authenticator):
hotspot PAP, then a PPPoE server's PAP, CHAP and MS-CHAPv2 (Service-Type Framed-User,
Framed-Protocol PPP, the CPE's MAC), then PPPoE subscribers whose period has ended (Accepts
into the suspended pool: each is looked up in the store again first, as a subscriber may
have paid a second ago). MS-CHAPv2 responses are computed once per subscriber before the
run (RFC 2759, from hotspotd.pppoe.mschap), so the generator's CPU goes on sending; the role
verifies each one in full and answers with MS-CHAP2-Success and salt-encrypted MPPE keys.

    .venv/bin/python bench/ppp_bench.py [--seconds 10] [--hotspot 10000] [--pppoe 2000] [--processes 1]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import radius_bench as rb  # noqa: E402

from hotspotd.pppoe.mschap import challenge_hash, challenge_response, nt_password_hash  # noqa: E402
from hotspotd.radius import microsoft as ms  # noqa: E402
from hotspotd.radius import packet as rp  # noqa: E402
from hotspotd.store.db import db, open_database, utcnow  # noqa: E402

PPP = (rp.integer(rp.code_of("Service-Type"), 2) + rp.integer(rp.code_of("Framed-Protocol"), 1)
       + rp.integer(rp.code_of("NAS-Port-Type"), 15))


def seed_subscribers(state_dir: Path, count: int, ended: int) -> list[dict]:
    """`count` subscribers on a plan (the last `ended` of them past their period), each with
    a PPPoE password, a CPE MAC and a precomputed MS-CHAPv2 challenge and response."""
    open_database(state_dir / "hotspotd.db")
    now = utcnow()
    t = lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: E731
    made = []
    with db.atomic():
        plan = db.execute_sql("INSERT INTO package (name, price, duration_s, rate_limit, data_limit, devices, active, "
                              "created_at, service) VALUES ('Home 5M', 1500, 2592000, '5M/5M', NULL, 1, 1, ?, "
                              "'pppoe')", (t(now),)).lastrowid
        for i in range(count):
            name, password = f"home{i:05d}", secrets.token_hex(5)
            end = now - timedelta(days=1) if i >= count - ended else now + timedelta(days=20)
            db.execute_sql("INSERT INTO subscriber (name, account, username, password, package_id, period_start, "
                           "period_end, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (name, f"{100000 + i}", name, password, plan, t(now), t(end), t(now), t(now)))
            challenge, peer = os.urandom(16), os.urandom(16)
            nt = challenge_response(challenge_hash(peer, challenge, name), nt_password_hash(password))
            made.append({"name": name.encode(), "password": password.encode(), "mac": f"AA:BB:CC:{i >> 8 & 255:02X}:"
                         f"{i & 255:02X}:01".encode(), "challenge": challenge,
                         "response": bytes((1, 0)) + peer + bytes(8) + nt, "ended": i >= count - ended})
    db.close()
    return made


def maker(kind: str):
    """make(ident, subscriber) for the load generator: one kind of PPP request."""
    def make(ident: int, sub: dict):
        auth = os.urandom(16)
        attrs = rp.attr(rp.USER_NAME, sub["name"]) + PPP + rp.attr(rp.CALLING_STATION_ID, sub["mac"])
        if kind == "pap":
            attrs += rp.attr(rp.USER_PASSWORD, rp.hide_password(sub["password"], rb.SECRET, auth))
        elif kind == "chap":
            attrs += rp.attr(rp.CHAP_PASSWORD, b"\x07" + hashlib.md5(b"\x07" + sub["password"] + auth).digest())
        else:
            attrs += (rp.vsa(ms.MICROSOFT, ms.MS_CHAP_CHALLENGE, sub["challenge"])
                      + rp.vsa(ms.MICROSOFT, ms.MS_CHAP2_RESPONSE, sub["response"]))
        return rp.encode_request(rp.ACCESS_REQUEST, ident, rb.SECRET, attrs, authenticator=auth), auth, rp.ACCESS_ACCEPT
    return make


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--hotspot", type=int, default=10_000)
    parser.add_argument("--pppoe", type=int, default=2_000)
    parser.add_argument("--ended", type=int, default=200, help="of the subscribers, how many are suspended")
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ppp-bench-") as tmp:
        workdir = Path(tmp)
        hotspot = rb.seed(workdir / "state", args.hotspot)
        subscribers = seed_subscribers(workdir / "state", args.pppoe, args.ended)
        paid = [s for s in subscribers if not s["ended"]]
        ended = [s for s in subscribers if s["ended"]]
        print(f"{args.hotspot} hotspot customers, {args.pppoe} PPPoE subscribers ({args.ended} suspended); "
              f"{rb.IN_FLIGHT} requests in flight over {rb.SOCKETS} source ports; {args.seconds:g} s per row; "
              f"{args.processes} radius process(es); {os.cpu_count()} CPUs", flush=True)
        proc, port = rb.start_role(workdir / "state", args.processes, workdir)
        try:
            rows.append(rb.measure("hotspot PAP", proc, port, hotspot, args.seconds))
            for kind, label in (("pap", "PPPoE PAP"), ("chap", "PPPoE CHAP"), ("mschap2", "PPPoE MS-CHAPv2")):
                rows.append(rb.measure(label, proc, port, paid, args.seconds, make=maker(kind)))
            rows.append(rb.measure("PPPoE suspended (PAP)", proc, port, ended, args.seconds, make=maker("pap")))
        finally:
            rb.stop(proc)
    header = f"{'requests':<24} {'auth/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU %':>7} {'RSS MB':>7} {'bad':>4} {'lost':>5}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['name']:<24} {r['rate']:>8,.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['cpu']:>7.0f} {r['rss']:>7.1f} "
              f"{r['bad']:>4} {r['lost']:>5}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
