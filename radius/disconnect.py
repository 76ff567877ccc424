"""Disconnect-Request client (RFC 5176): cut a session off at its router.

All jobs of a round go out at once on one socket; each is retransmitted unchanged (same
identifier and authenticator, as RFC 5176 asks) after 1, 2 and 4 seconds until an ACK or
NAK arrives. A NAK with Error-Cause 503 (Session Context Not Found) means the router has no
such session any more, which is the outcome we wanted.
"""

from __future__ import annotations

import ipaddress
import logging
import select
import socket
import time
from dataclasses import dataclass
from typing import Iterable

from hotspotd.router import RouterView
from hotspotd.sessions import DisconnectJob

from . import packet as rp

log = logging.getLogger(__name__)

SESSION_CONTEXT_NOT_FOUND = 503
RETRY_AFTER = (1.0, 2.0, 4.0)


@dataclass
class _Pending:
    job: DisconnectJob
    router: RouterView
    address: tuple
    data: bytes
    authenticator: bytes
    tries: int
    deadline: float


def build_request(job: DisconnectJob, router: RouterView, ident: int) -> bytes:
    """Disconnect-Request naming the session as MikroTik expects: User-Name,
    Acct-Session-Id and Framed-IP-Address, plus the NAS address and Message-Authenticator."""
    attrs = [rp.attr(rp.USER_NAME, job.username.encode()), rp.attr(rp.ACCT_SESSION_ID, job.acct_session_id.encode())]
    if job.ip:
        try:
            attrs.append(rp.attr(rp.FRAMED_IP_ADDRESS, ipaddress.IPv4Address(job.ip).packed))
        except ValueError:
            pass
    try:
        attrs.append(rp.attr(rp.NAS_IP_ADDRESS, ipaddress.IPv4Address(router.nas_ip).packed))
    except ValueError:
        pass
    return rp.encode_request(rp.DISCONNECT_REQUEST, ident, router.secret, b"".join(attrs))


def _address(router: RouterView) -> tuple:
    info = socket.getaddrinfo(router.host, router.coa_port, type=socket.SOCK_DGRAM)
    return info[0][0], info[0][4]


def deliver(jobs: Iterable[DisconnectJob], routers: dict[int, RouterView],
            retry_after: tuple[float, ...] = RETRY_AFTER) -> list[tuple[DisconnectJob, str, str]]:
    """Send one delivery round; return (job, outcome, detail) with outcome one of
    ack | not_found | nak | timeout | error."""
    results: list[tuple[DisconnectJob, str, str]] = []
    pending: dict[tuple[int, int], _Pending] = {}  # (socket family, ident)
    sockets: dict[int, socket.socket] = {}
    next_ident = 0
    try:
        for job in jobs:
            router = routers.get(job.router_id)
            if router is None:
                results.append((job, "error", "router not found"))
                continue
            try:
                family, address = _address(router)
            except OSError as exc:
                results.append((job, "error", f"cannot resolve {router.host}: {exc}"))
                continue
            if family not in sockets:
                sockets[family] = socket.socket(family, socket.SOCK_DGRAM)
            if next_ident > 255:
                results.append((job, "error", "too many disconnects in one round"))
                continue
            data = build_request(job, router, next_ident)
            item = _Pending(job, router, address, data, data[4:20], 0, 0.0)
            pending[(family, next_ident)] = item
            next_ident += 1
            _send(sockets[family], item, retry_after)
        while pending:
            now = time.monotonic()
            for key, item in list(pending.items()):
                if item.deadline <= now:
                    if item.tries >= len(retry_after):
                        results.append((item.job, "timeout", f"no answer after {item.tries} tries"))
                        del pending[key]
                    else:
                        _send(sockets[key[0]], item, retry_after)
            if not pending:
                break
            wait = max(0.0, min(item.deadline for item in pending.values()) - time.monotonic())
            readable, _, _ = select.select(list(sockets.values()), [], [], wait)
            for sock in readable:
                _receive(sock, pending, results)
    finally:
        for sock in sockets.values():
            sock.close()
    return results


def _send(sock: socket.socket, item: _Pending, retry_after: tuple[float, ...]) -> None:
    try:
        sock.sendto(item.data, item.address)
    except OSError as exc:
        log.warning("Disconnect-Request to %s failed: %s", item.router.name, exc)
    item.deadline = time.monotonic() + retry_after[item.tries]
    item.tries += 1


def _receive(sock: socket.socket, pending: dict, results: list) -> None:
    try:
        data, _ = sock.recvfrom(rp.MAX_LENGTH)
    except OSError:
        return
    try:
        reply = rp.decode(data)
    except rp.MalformedPacket as exc:
        log.warning("malformed answer to a Disconnect-Request: %s", exc)
        return
    item = pending.get((sock.family, reply.ident))
    if item is None or reply.code not in (rp.DISCONNECT_ACK, rp.DISCONNECT_NAK):
        return
    secret = item.router.secret
    if not rp.response_authenticator_ok(reply, item.authenticator, secret) or (
            reply.ma_offset >= 0 and not rp.message_authenticator_ok(reply, secret, item.authenticator)):
        log.warning("answer from router %s failed authentication (check the secret)", item.router.name)
        return
    del pending[(sock.family, reply.ident)]
    if reply.code == rp.DISCONNECT_ACK:
        results.append((item.job, "ack", "Disconnect-ACK"))
        return
    try:
        cause = reply.integer(rp.ERROR_CAUSE)
    except rp.MalformedPacket:
        cause = None
    outcome = "not_found" if cause == SESSION_CONTEXT_NOT_FOUND else "nak"
    results.append((item.job, outcome, f"Disconnect-NAK, Error-Cause {cause}"))
