"""RADIUS authentication benchmark: the `radius` role (1 and 2 processes) against FreeRADIUS.

A stdlib UDP load generator keeps 64 PAP Access-Requests in flight over 16 source ports,
each with a fresh authenticator and a valid Message-Authenticator, and verifies every
reply (code, Response Authenticator, Message-Authenticator). The role runs as a real
process over a store with 10,000 subscribers; FreeRADIUS (when installed) runs from a
temporary config dir with the files module and one user, on other loopback ports.

`--unknown 0.1` makes every tenth request a user the store does not know (it must be
rejected, after the role has looked at the store again: see radius/server.py), so the
cost of those looks shows in the answers per second.

    .venv/bin/python bench/radius_bench.py [--seconds 10] [--subscribers 10000] [--unknown 0.1]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import secrets
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import psutil

from hotspotd import config as config_mod
from hotspotd.radius import packet as rp
from hotspotd.store import init_store
from hotspotd.store.db import db, utcnow

SECRET = b"bench-secret-0123"
IN_FLIGHT, SOCKETS = 64, 16


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(state_dir: Path, subscribers: int) -> list[tuple[bytes, bytes]]:
    """A store with `subscribers` customers, each with a credential and a current subscription."""
    config = config_mod.load(None, overrides={"site": {"state_dir": str(state_dir)}})
    init_store(config)
    now = utcnow()
    t = lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: E731
    created, ends = t(now), t(now + timedelta(days=1))
    with db.atomic():
        db.execute_sql("INSERT INTO router (name, host, api_port, api_user, api_password, secret, nas_ip, coa_port, "
                       "status, created_at) VALUES ('bench', '127.0.0.1', 8728, '', '', ?, '127.0.0.1', 3799, "
                       "'unknown', ?)", (SECRET.decode(), created))
        db.execute_sql("INSERT INTO package (name, price, duration_s, rate_limit, data_limit, devices, active, "
                       "created_at) VALUES ('day', 50, 86400, '2M/5M', NULL, 1, 1, ?)", (created,))
        bound = db.execute_sql("SELECT 1 FROM sqlite_master WHERE name = 'device_binding'").fetchone()
        users = []
        for i in range(1, subscribers + 1):
            name, password = f"user{i:05d}", secrets.token_hex(4)
            db.execute_sql("INSERT INTO customer (id, phone, created_at) VALUES (?, NULL, ?)", (i, created))
            db.execute_sql("INSERT INTO credential (customer_id, username, password, created_at) VALUES (?, ?, ?, ?)",
                           (i, name, password, created))
            db.execute_sql("INSERT INTO subscription (customer_id, package_id, status, starts_at, ends_at, data_limit, "
                           "bytes_used, created_at, updated_at) VALUES (?, 1, 'active', ?, ?, 5000000000, 0, ?, ?)",
                           (i, created, ends, created, created))
            mac = f"02:00:00:{i >> 16 & 255:02X}:{i >> 8 & 255:02X}:{i & 255:02X}"  # each customer's own phone
            if bound:  # returning customers: their phone is the device their login works on
                db.execute_sql("INSERT INTO device_binding (customer_id, mac, how, created_at) VALUES (?, ?, 'paid', ?)",
                               (i, mac, created))
            users.append((name.encode(), password.encode(), mac.encode()))
    db.close()
    return users


def start_role(state_dir: Path, processes: int, workdir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    ini = workdir / f"radius-{processes}.ini"
    ini.write_text(f"[site]\nstate_dir = {state_dir}\n[radius]\nlisten = 127.0.0.1\nauth_port = {port}\n"
                   f"acct_port = {free_port()}\nprocesses = {processes}\n"
                   "[mpesa]\nbase_url = http://127.0.0.1:9\nconsumer_key = k\nconsumer_secret = s\npasskey = p\n"
                   "callback_token = bench-callback-token-0123456789\n")  # what `run --role` checks
    log = open(workdir / f"radius-{processes}.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "hotspotd", "--config", str(ini), "--log-level", "WARNING",
                             "run", "--role", "radius"], stdout=log, stderr=subprocess.STDOUT)
    return proc, port


FREERADIUS_CONF = """
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = {dir}
sbindir = /usr/sbin
logdir = {dir}
raddbdir = {dir}
radacctdir = {dir}
name = freeradius
confdir = {dir}
modconfdir = {dir}
run_dir = {dir}
db_dir = {dir}
libdir = /usr/lib/freeradius
pidfile = {dir}/freeradius.pid
max_request_time = 30
cleanup_delay = 5
max_requests = 65536
hostname_lookups = no
log {{
    destination = files
    file = {dir}/radius.log
    auth = no
}}
security {{
    allow_core_dumps = no
    max_attributes = 200
    reject_delay = 0
    status_server = no
}}
thread pool {{
    start_servers = 4
    max_servers = 32
    min_spare_servers = 2
    max_spare_servers = 8
    max_requests_per_server = 0
}}
client bench {{
    ipaddr = 127.0.0.1
    secret = {secret}
    require_message_authenticator = yes
}}
modules {{
    files {{
        filename = {dir}/users
    }}
    pap {{
    }}
}}
server default {{
    listen {{
        type = auth
        ipaddr = 127.0.0.1
        port = {port}
    }}
    authorize {{
        files
        pap
    }}
    authenticate {{
        Auth-Type PAP {{
            pap
        }}
    }}
}}
"""


def start_freeradius(workdir: Path) -> tuple[subprocess.Popen, int, list[tuple[bytes, bytes]]] | None:
    binary = shutil.which("freeradius") or shutil.which("radiusd")
    if binary is None:
        return None
    confdir = workdir / "freeradius"
    confdir.mkdir()
    port = free_port()
    (confdir / "radiusd.conf").write_text(FREERADIUS_CONF.format(dir=confdir, secret=SECRET.decode(), port=port))
    (confdir / "users").write_text('benchuser Cleartext-Password := "benchpw"\n'
                                   '    Session-Timeout = 3600,\n    Mikrotik-Rate-Limit = "2M/5M"\n')
    log = open(workdir / "freeradius.out", "wb")
    proc = subprocess.Popen([binary, "-f", "-d", str(confdir), "-n", "radiusd"], stdout=log, stderr=subprocess.STDOUT)
    return proc, port, [(b"benchuser", b"benchpw")]


UNKNOWN = (b"nobody", b"not-a-customer", b"02:00:00:FF:FF:FF")


def with_unknown(users: list[tuple[bytes, bytes]], share: float) -> list[tuple[bytes, bytes]]:
    """The request mix: `share` of the requests name a user nobody knows (spread evenly)."""
    if share <= 0:
        return users
    every = max(1, round(1 / share))
    return [UNKNOWN if n % every == every - 1 else user for n, user in enumerate(users)]


def request(ident: int, user: tuple[bytes, ...]) -> tuple[bytes, bytes]:
    auth = os.urandom(16)
    name, password, mac = user if len(user) == 3 else (*user, b"BC:24:11:EB:56:4D")
    attrs = (rp.attr(rp.USER_NAME, name) + rp.attr(rp.USER_PASSWORD, rp.hide_password(password, SECRET, auth))
             + rp.attr(rp.CALLING_STATION_ID, mac))
    return rp.encode_request(rp.ACCESS_REQUEST, ident, SECRET, attrs, authenticator=auth), auth


def verify(data: bytes, auth: bytes, require_ma: bool, code: int = rp.ACCESS_ACCEPT) -> bool:
    """The expected code, right Response Authenticator, and a right Message-Authenticator
    (required from hotspotd; FreeRADIUS before 3.2.5 sends none, so from it only checked
    when present)."""
    reply = rp.decode(data)
    if reply.code != code or (require_ma and reply.ma_offset < 0):
        return False
    expected = hashlib.md5(reply.raw[:4] + auth + reply.raw[20:] + SECRET).digest()
    return hmac.compare_digest(expected, reply.authenticator) and (
        reply.ma_offset < 0 or rp.message_authenticator_ok(reply, SECRET, auth))


def load(port: int, users: list, seconds: float, require_ma: bool = True, make=None) -> dict:
    """Drive `port` for `seconds` with IN_FLIGHT requests outstanding; return figures.
    `make(ident, user)` -> (datagram, authenticator, expected code): another kind of
    request (bench/ppp_bench.py); PAP by default."""
    socks = []
    for _ in range(SOCKETS):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.connect(("127.0.0.1", port))
        socks.append(sock)
    poller = select.epoll()
    by_fd = {sock.fileno(): sock for sock in socks}
    for fd in by_fd:
        poller.register(fd, select.EPOLLIN)
    pending: dict[tuple[int, int], tuple[float, bytes, int]] = {}
    next_ident = {fd: 0 for fd in by_fd}
    latencies: list[float] = []
    bad = lost = rejects = 0
    count = len(users)

    def send(sock: socket.socket, n: int) -> None:
        fd = sock.fileno()
        ident = next_ident[fd]
        next_ident[fd] = (ident + 1) & 0xFF
        user = users[n % count]
        if make is None:
            data, auth = request(ident, user)
            expected = rp.ACCESS_REJECT if user is UNKNOWN else rp.ACCESS_ACCEPT
        else:
            data, auth, expected = make(ident, user)
        pending[(fd, ident)] = (time.perf_counter(), auth, expected)
        try:
            sock.send(data)
        except OSError:  # not listening yet: the scan below replaces it
            pass

    sent = 0
    for i in range(IN_FLIGHT):
        send(socks[i % SOCKETS], sent)
        sent += 1
    started = time.perf_counter()
    end, next_scan = started + seconds, started + 0.5
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        for fd, _ in poller.poll(0.05):
            sock = by_fd[fd]
            while True:
                try:
                    data = sock.recv(4096)
                except OSError:  # BlockingIOError, or ECONNREFUSED while the server starts
                    break
                entry = pending.pop((fd, data[1]), None) if len(data) > 1 else None
                if entry is None:
                    bad += 1
                    continue
                latencies.append(time.perf_counter() - entry[0])
                if not verify(data, entry[1], require_ma, entry[2]):
                    bad += 1
                elif entry[2] == rp.ACCESS_REJECT:
                    rejects += 1
                send(sock, sent)
                sent += 1
        if now >= next_scan:  # a reply lost in a full socket buffer: replace the request
            next_scan = now + 0.5
            for key, (at, _, _) in list(pending.items()):
                if now - at > 1.0:
                    del pending[key]
                    lost += 1
                    send(by_fd[key[0]], sent)
                    sent += 1
    elapsed = time.perf_counter() - started
    for sock in socks:
        sock.close()
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")  # noqa: E731
    return {"ok": len(latencies) - bad, "bad": bad, "lost": lost, "rate": (len(latencies) - bad) / elapsed,
            "rejects": rejects,
            "p50": pick(0.50), "p99": pick(0.99)}


def tree(proc: subprocess.Popen) -> list[psutil.Process]:
    parent = psutil.Process(proc.pid)
    return [parent] + parent.children(recursive=True)


def cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for p in processes:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def measure(name: str, proc: subprocess.Popen, port: int, users, seconds: float, require_ma: bool = True,
            make=None) -> dict:
    # wait until it answers, then warm up
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with {proc.returncode}")
        if load(port, users, 0.3, require_ma, make)["ok"] > 0:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"{name} does not answer")
    load(port, users, 1.0, require_ma, make)
    procs = tree(proc)
    me = psutil.Process()
    before, before_me, wall = cpu(procs), cpu([me]), time.perf_counter()
    result = load(port, users, seconds, require_ma, make)
    wall = time.perf_counter() - wall
    result["cpu"] = (cpu(procs) - before) / wall * 100
    result["gen_cpu"] = (cpu([me]) - before_me) / wall * 100
    result["rss"] = sum(p.memory_info().rss for p in procs if p.is_running()) / 2**20
    result["name"] = name
    return result


def stop(proc: subprocess.Popen) -> float:
    started = time.monotonic()
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--unknown", type=float, default=0.0, help="share of requests for unknown users (0.1 = 10%%)")
    parser.add_argument("--processes", default="1,2", help="hotspotd process counts to run, e.g. 1 or 1,2")
    parser.add_argument("--no-freeradius", action="store_true", help="leave FreeRADIUS out")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="radius-bench-") as tmp:
        workdir = Path(tmp)
        users = with_unknown(seed(workdir / "state", args.subscribers), args.unknown)
        print(f"{args.subscribers} subscribers, {args.unknown:.0%} of requests for unknown users; {IN_FLIGHT} "
              f"requests in flight over {SOCKETS} source ports; {args.seconds:g} s per run; {os.cpu_count()} CPUs",
              flush=True)
        for processes in [int(n) for n in args.processes.split(",")]:
            proc, port = start_role(workdir / "state", processes, workdir)
            try:
                row = measure(f"hotspotd radius, {processes} process{'es' if processes > 1 else ''}",
                              proc, port, users, args.seconds)
            finally:
                stopped = stop(proc)
            row["stop_s"] = stopped
            rows.append(row)
        started = None if args.no_freeradius else start_freeradius(workdir)
        if started is not None:
            proc, port, fr_users = started
            try:
                rows.append(measure("FreeRADIUS (files, 1 user)", proc, port, fr_users, args.seconds, require_ma=False))
            finally:
                stop(proc)
    header = f"{'server':<32} {'answers/s':>10} {'rejects':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU %':>7} " \
             f"{'RSS MB':>7} {'gen CPU %':>9} {'bad':>4} {'lost':>5}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['name']:<32} {r['rate']:>10,.0f} {r['rejects']:>8} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['cpu']:>7.0f} "
              f"{r['rss']:>7.1f} {r['gen_cpu']:>9.0f} {r['bad']:>4} {r['lost']:>5}")
    if started is not None and len(rows) == 3:
        print(f"ratio hotspotd/FreeRADIUS: 1 process {rows[0]['rate'] / rows[2]['rate']:.2f}, "
              f"2 processes {rows[1]['rate'] / rows[2]['rate']:.2f}")
    for r in rows:
        if "stop_s" in r:
            print(f"{r['name']}: stopped {r['stop_s']:.2f} s after SIGTERM")
    return 0


if __name__ == "__main__":
    sys.exit(main())
