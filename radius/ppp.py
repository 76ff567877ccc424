"""PPP Access-Requests (a PPPoE server's): from packet to `PppRequest`, and from
`PppDecision` to reply attributes. No sockets; `handler.Handler.access` calls these for a
request that says it is PPP (`is_ppp`) before the hotspot's decision is ever asked.

docs/protocols.md §8.6 (what a PPPoE server sends), §8.7 (what it honours), §9 (MS-CHAPv2).
"""

from __future__ import annotations

import ipaddress

from hotspotd.mac import normalize_mac
from hotspotd.pppoe.access import PppDecision, PppRequest

from . import packet as rp

SERVICE_TYPE = rp.code_of("Service-Type")
FRAMED_PROTOCOL = rp.code_of("Framed-Protocol")
FRAMED_POOL = rp.code_of("Framed-Pool")
MIKROTIK_GROUP = rp.code_of("Mikrotik-Group")
MIKROTIK_ADDRESS_LIST = rp.code_of("Mikrotik-Address-List")
_FRAMED_USER = (2).to_bytes(4, "big")  # Service-Type
_PPP = (1).to_bytes(4, "big")  # Framed-Protocol


def is_ppp(packet: rp.Packet) -> bool:
    """A request from a PPP server: Framed-Protocol PPP, or Service-Type Framed-User (a
    hotspot sends Login-User and neither). Accounting carries the same attributes."""
    attrs = packet.attrs
    return attrs.get(FRAMED_PROTOCOL) == _PPP or attrs.get(SERVICE_TYPE) == _FRAMED_USER


def ppp_request(packet: rp.Packet, secret: bytes) -> PppRequest | None:
    """The request's credentials; None without User-Name or any credentials.
    MalformedPacket (or UnicodeDecodeError) for values that cannot be right."""
    name = packet.attrs.get(rp.USER_NAME)
    if name is None:
        return None
    username = name.decode("utf-8")
    mac = normalize_mac(packet.text(rp.CALLING_STATION_ID))
    mschap2 = None
    if rp.VENDOR_SPECIFIC in packet.attrs:
        from . import microsoft as ms  # MS-CHAPv2 and its `cryptography`: loaded when first asked (see access.py)

        mschap2 = ms.mschap2_credentials(packet)
    if mschap2 is not None:
        return PppRequest(username, mschap2=(mschap2.challenge, mschap2.response), mac=mac)
    chap = packet.attrs.get(rp.CHAP_PASSWORD)
    if chap is not None:
        return PppRequest(username, chap_password=chap, mac=mac,
                          chap_challenge=packet.attrs.get(rp.CHAP_CHALLENGE, packet.authenticator))
    hidden = packet.attrs.get(rp.USER_PASSWORD)
    if hidden is None:
        return None
    return PppRequest(username, password=rp.reveal_password(hidden, secret, packet.authenticator), mac=mac)


def reply_attributes(decision: PppDecision, secret: bytes, request_authenticator: bytes) -> bytes:
    """The reply's attributes (Message-Authenticator is added when encoding). An MS-CHAPv2
    Accept carries MS-CHAP2-Success and the MPPE keys (MikroTik ends the link without a
    valid Success: §8.7); its reject an MS-CHAP-Error with the response's Ident."""
    if not decision.accept:
        out = rp.attr(rp.REPLY_MESSAGE, decision.message.encode())
        if decision.mschap2_ident is not None:
            from . import microsoft as ms

            out += ms.error_attribute(decision.mschap2_ident, message=decision.message)
        return out
    out = []
    if decision.group:
        out.append(rp.vsa(rp.MIKROTIK, MIKROTIK_GROUP, decision.group.encode()))
    if decision.framed_ip:
        out.append(rp.attr(rp.FRAMED_IP_ADDRESS, ipaddress.IPv4Address(decision.framed_ip).packed))
    if decision.pool:
        out.append(rp.attr(FRAMED_POOL, decision.pool.encode()))
    if decision.address_list:
        out.append(rp.vsa(rp.MIKROTIK, MIKROTIK_ADDRESS_LIST, decision.address_list.encode()))
    if decision.rate_limit:
        out.append(rp.vsa(rp.MIKROTIK, rp.MIKROTIK_RATE_LIMIT, decision.rate_limit.encode()))
    if decision.session_timeout is not None:
        out.append(rp.integer(rp.SESSION_TIMEOUT, decision.session_timeout))
    if decision.interim_interval is not None:
        out.append(rp.integer(rp.ACCT_INTERIM_INTERVAL, decision.interim_interval))
    if decision.mschap2 is not None:
        from . import microsoft as ms

        out.append(ms.success_attributes(decision.mschap2, secret, request_authenticator))
    return b"".join(out)
